package logstore_test

import (
	"testing"

	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/logstore/storetest"
)

func openMemoryStorage(t *testing.T, cfg logstore.Config) logstore.Storage {
	m, err := logstore.NewMemory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMemorySuite(t *testing.T) { storetest.Run(t, openMemoryStorage) }
