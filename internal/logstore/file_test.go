package logstore_test

import (
	"testing"

	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/logstore/storetest"
)

func openFileStorage(t *testing.T, cfg logstore.Config) logstore.Storage {
	l, err := logstore.OpenFile(t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestFileSuite(t *testing.T) { storetest.Run(t, openFileStorage) }

// TestFileSuiteTrustSealed runs the suite with indexes trusted on open.
func TestFileSuiteTrustSealed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg logstore.Config) logstore.Storage {
		cfg.TrustSealed = true
		return openFileStorage(t, cfg)
	})
}

// TestFileSuiteSyncNever runs the suite without fsyncs.
func TestFileSuiteSyncNever(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg logstore.Config) logstore.Storage {
		cfg.Sync = logstore.SyncPolicy{Mode: logstore.SyncNever}
		return openFileStorage(t, cfg)
	})
}
