package logstore_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

// faultFS is the OS file system with fsyncs counted, optionally slowed,
// blocked or failed.
type faultFS struct {
	logstore.OSFS
	segSyncs atomic.Int64 // fsyncs of .seg files
	dirSyncs atomic.Int64 // fsyncs of directories
	delay    time.Duration

	mu       sync.Mutex // guards failWith, hook
	failWith error      // when set, .seg fsyncs fail with it
	hook     func()     // when set, runs before each .seg fsync
}

func (f *faultFS) failSyncs(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWith = err
}

func (f *faultFS) setHook(h func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (logstore.File, error) {
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, name: name}, nil
}

type faultFile struct {
	logstore.File
	fs   *faultFS
	name string
}

func (f *faultFile) Sync() error {
	if strings.HasSuffix(f.name, ".seg") {
		f.fs.mu.Lock()
		hook, fail := f.fs.hook, f.fs.failWith
		f.fs.mu.Unlock()
		if hook != nil {
			hook()
			f.fs.mu.Lock()
			fail = f.fs.failWith
			f.fs.mu.Unlock()
		}
		if fail != nil {
			return fail
		}
		f.fs.segSyncs.Add(1)
		time.Sleep(f.fs.delay) // a slow disk
	} else if filepath.Ext(f.name) == "" {
		f.fs.dirSyncs.Add(1)
	}
	return f.File.Sync()
}
