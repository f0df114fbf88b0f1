package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ferrymq/ferry/internal/logstore"
)

// File layout under Config.Dir.
const (
	defsFile     = "logs.json"
	logsDir      = "logs"
	consumersDir = "consumers"
	formatV1     = 1
)

// defsDoc is the content of logs.json.
type defsDoc struct {
	Version int         `json:"version"`
	Logs    []LogConfig `json:"logs"`
}

// consumerDoc is the content of consumers/LOG/NAME.json. Deadlines are not
// kept: after a restart every pending record is due at once.
type consumerDoc struct {
	Version int            `json:"version"`
	Config  ConsumerConfig `json:"config"`
	Next    uint64         `json:"next"` // the next new sequence to deliver
	Pending []pendingDoc   `json:"pending,omitempty"`
}

type pendingDoc struct {
	Seq        uint64 `json:"seq"`
	Deliveries int    `json:"deliveries"`
}

// writeAtomic replaces path with data: write a temporary file, fsync it,
// rename it over path, fsync the directory.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// readDefs loads logs.json; a missing file is no logs.
func readDefs(dir string) ([]LogConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, defsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: read definitions: %w", err)
	}
	var doc defsDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("logs: parse %s: %w", defsFile, err)
	}
	if doc.Version != formatV1 {
		return nil, fmt.Errorf("logs: %s: unknown version %d", defsFile, doc.Version)
	}
	return doc.Logs, nil
}

// writeDefs stores the definitions, sorted by name.
func writeDefs(dir string, cfgs []LogConfig) error {
	slices.SortFunc(cfgs, func(a, b LogConfig) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(defsDoc{Version: formatV1, Logs: cfgs}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, defsFile), append(b, '\n')); err != nil {
		return fmt.Errorf("logs: write definitions: %w", err)
	}
	return nil
}

// readConsumers loads every consumer file of one log.
func readConsumers(dir string) ([]consumerDoc, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var docs []consumerDoc
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue // *.tmp: an interrupted write; the old file stands
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var doc consumerDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("parse consumer %s: %w", e.Name(), err)
		}
		if doc.Version != formatV1 {
			return nil, fmt.Errorf("consumer %s: unknown version %d", e.Name(), doc.Version)
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// makeDirDurable creates dir and its parents and fsyncs the parents of
// what it created, so the new entries survive a crash.
func makeDirDurable(dir string) error { return logstore.MkdirDurable(logstore.OSFS{}, dir) }
