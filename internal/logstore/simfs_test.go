package logstore_test

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

// simFS is an in-memory file system that models a disk cache, for
// power-loss tests. Every file has the bytes written to it and the bytes
// last made durable by File.Sync. Directory entries (creates, removes,
// renames, mkdirs) become durable only when their directory is opened and
// synced. crash returns the file system a power loss would leave behind.
//
// Paths are slash-separated and cleaned; the root directory always exists.
type simFS struct {
	mu      sync.Mutex
	root    string
	files   map[string]*simNode // the live namespace
	dirs    map[string]bool
	durFile map[string]*simNode // the durable namespace
	durDir  map[string]bool
	syncs   int // File.Sync calls on regular files
}

// simNode is a file's content, shared by every name and handle of it.
type simNode struct {
	data    []byte // as written
	durable []byte // as of the last Sync
}

func newSimFS(root string) *simFS {
	root = path.Clean(root)
	return &simFS{
		root:    root,
		files:   map[string]*simNode{},
		dirs:    map[string]bool{root: true},
		durFile: map[string]*simNode{},
		durDir:  map[string]bool{root: true},
	}
}

// tornMode says what a crash does with bytes written but never synced.
type tornMode int

const (
	tornNone   tornMode = iota // unsynced bytes are lost
	tornPrefix                 // a random prefix of the unsynced appends survives
	tornZeros                  // the size grew but a random tail of it reads as zeros
)

// crash returns a new simFS holding only what was durable: durably linked
// files (whose directories are durably linked too) with their synced
// content, plus, depending on mode, part of what was appended after it.
// The old simFS keeps working, so a log still running on it is harmless.
func (s *simFS) crash(rng *rand.Rand, mode tornMode) *simFS {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := newSimFS(s.root)
	for d := range s.durDir {
		if s.linked(d) {
			n.dirs[d], n.durDir[d] = true, true
		}
	}
	for name, node := range s.durFile {
		if !s.linked(path.Dir(name)) {
			continue
		}
		data := slices.Clone(node.durable)
		if extra := len(node.data) - len(node.durable); extra > 0 && mode != tornNone &&
			string(node.data[:len(node.durable)]) == string(node.durable) {
			keep := rng.IntN(extra + 1)
			data = append(data, node.data[len(node.durable):len(node.durable)+keep]...)
			if mode == tornZeros && keep > 0 {
				clear(data[len(data)-rng.IntN(keep+1):])
			}
		}
		n.files[name] = &simNode{data: data, durable: slices.Clone(data)}
		n.durFile[name] = n.files[name]
	}
	return n
}

// linked reports whether directory d and all its parents are durably linked.
func (s *simFS) linked(d string) bool {
	for ; d != s.root; d = path.Dir(d) {
		if !s.durDir[d] || d == "/" || d == "." {
			return false
		}
	}
	return true
}

func (s *simFS) syncCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

func pathErr(op, name string, err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }

func (s *simFS) OpenFile(name string, flag int, perm fs.FileMode) (logstore.File, error) {
	name = path.Clean(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs[name] {
		if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
			return nil, pathErr("open", name, errors.New("is a directory"))
		}
		return &simFile{fs: s, name: name, dir: true}, nil
	}
	node, ok := s.files[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathErr("open", name, fs.ErrExist)
	case !ok && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, fs.ErrNotExist)
	case !ok:
		if !s.dirs[path.Dir(name)] {
			return nil, pathErr("open", name, fs.ErrNotExist)
		}
		node = &simNode{}
		s.files[name] = node
	}
	if flag&os.O_TRUNC != 0 {
		node.data = node.data[:0:0]
	}
	return &simFile{fs: s, name: name, node: node, flag: flag}, nil
}

func (s *simFS) ReadDir(name string) ([]fs.DirEntry, error) {
	name = path.Clean(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirs[name] {
		return nil, pathErr("readdir", name, fs.ErrNotExist)
	}
	var out []fs.DirEntry
	for f, node := range s.files {
		if path.Dir(f) == name {
			out = append(out, fs.FileInfoToDirEntry(simInfo{name: path.Base(f), size: int64(len(node.data))}))
		}
	}
	for d := range s.dirs {
		if d != name && path.Dir(d) == name {
			out = append(out, fs.FileInfoToDirEntry(simInfo{name: path.Base(d), dir: true}))
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (s *simFS) MkdirAll(name string, perm fs.FileMode) error {
	name = path.Clean(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := name; !s.dirs[d]; d = path.Dir(d) {
		if _, isFile := s.files[d]; isFile || d == "/" || d == "." {
			return pathErr("mkdir", name, fs.ErrInvalid)
		}
		s.dirs[d] = true
	}
	return nil
}

func (s *simFS) Remove(name string) error {
	name = path.Clean(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[name]; !ok {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	delete(s.files, name)
	return nil
}

func (s *simFS) Rename(oldname, newname string) error {
	oldname, newname = path.Clean(oldname), path.Clean(newname)
	s.mu.Lock()
	defer s.mu.Unlock()
	node, ok := s.files[oldname]
	if !ok {
		return pathErr("rename", oldname, fs.ErrNotExist)
	}
	delete(s.files, oldname)
	s.files[newname] = node
	return nil
}

// syncDir makes the live entries of directory d durable.
func (s *simFS) syncDir(d string) {
	for name := range s.durFile {
		if path.Dir(name) == d {
			delete(s.durFile, name)
		}
	}
	for name, node := range s.files {
		if path.Dir(name) == d {
			s.durFile[name] = node
		}
	}
	for sub := range s.durDir {
		if sub != d && path.Dir(sub) == d {
			delete(s.durDir, sub)
		}
	}
	for sub := range s.dirs {
		if sub != d && path.Dir(sub) == d {
			s.durDir[sub] = true
		}
	}
}

// simFile is an open file or directory.
type simFile struct {
	fs     *simFS
	name   string
	node   *simNode
	flag   int
	dir    bool
	off    int64 // write offset without O_APPEND
	closed bool
}

func (f *simFile) check(op string, write bool) error {
	switch {
	case f.closed:
		return pathErr(op, f.name, fs.ErrClosed)
	case f.dir && op != "sync" && op != "stat":
		return pathErr(op, f.name, errors.New("is a directory"))
	case write && f.flag&(os.O_WRONLY|os.O_RDWR) == 0:
		return pathErr(op, f.name, fs.ErrPermission)
	}
	return nil
}

func (f *simFile) ReadAt(b []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, fs.ErrInvalid)
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(b, f.node.data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (f *simFile) Write(b []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	off := f.off
	if f.flag&os.O_APPEND != 0 {
		off = int64(len(f.node.data))
	}
	if end := off + int64(len(b)); end > int64(len(f.node.data)) {
		f.node.data = append(f.node.data, make([]byte, end-int64(len(f.node.data)))...)
	}
	copy(f.node.data[off:], b)
	f.off = off + int64(len(b))
	return len(b), nil
}

func (f *simFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false); err != nil {
		return err
	}
	if f.dir {
		f.fs.syncDir(f.name)
		return nil
	}
	f.fs.syncs++
	f.node.durable = slices.Clone(f.node.data)
	return nil
}

func (f *simFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, fs.ErrInvalid)
	}
	if size <= int64(len(f.node.data)) {
		f.node.data = slices.Clone(f.node.data[:size])
	} else {
		f.node.data = append(f.node.data, make([]byte, size-int64(len(f.node.data)))...)
	}
	return nil
}

func (f *simFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return nil, err
	}
	if f.dir {
		return simInfo{name: path.Base(f.name), dir: true}, nil
	}
	return simInfo{name: path.Base(f.name), size: int64(len(f.node.data))}, nil
}

func (f *simFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, fs.ErrClosed)
	}
	f.closed = true
	return nil
}

type simInfo struct {
	name string
	size int64
	dir  bool
}

func (i simInfo) Name() string { return i.name }
func (i simInfo) Size() int64  { return i.size }
func (i simInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i simInfo) ModTime() time.Time { return time.Time{} }
func (i simInfo) IsDir() bool        { return i.dir }
func (i simInfo) Sys() any           { return nil }

// TestSimFSCrash checks the model itself: only synced content and synced
// directory entries survive a crash.
func TestSimFSCrash(t *testing.T) {
	write := func(s *simFS, name, data string, sync bool) {
		f, err := s.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(data))
		if sync {
			f.Sync()
		}
		f.Close()
	}
	syncDir := func(s *simFS, name string) {
		d, err := s.OpenFile(name, os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		d.Sync()
		d.Close()
	}
	cases := []struct {
		name  string
		setup func(s *simFS)
		want  map[string]string // surviving files and contents
	}{
		{"unsynced dir entry", func(s *simFS) { write(s, "/r/a", "x", true) }, map[string]string{}},
		{"synced file and entry", func(s *simFS) { write(s, "/r/a", "x", true); syncDir(s, "/r") }, map[string]string{"/r/a": "x"}},
		{"unsynced content", func(s *simFS) {
			write(s, "/r/a", "x", true)
			syncDir(s, "/r")
			write(s, "/r/a", "yz", false)
		}, map[string]string{"/r/a": "x"}},
		{"new dir not linked", func(s *simFS) {
			s.MkdirAll("/r/d", 0o755)
			write(s, "/r/d/a", "x", true)
			syncDir(s, "/r/d")
		}, map[string]string{}},
		{"new dir linked", func(s *simFS) {
			s.MkdirAll("/r/d", 0o755)
			write(s, "/r/d/a", "x", true)
			syncDir(s, "/r/d")
			syncDir(s, "/r")
		}, map[string]string{"/r/d/a": "x"}},
		{"unsynced rename", func(s *simFS) {
			write(s, "/r/a", "x", true)
			syncDir(s, "/r")
			s.Rename("/r/a", "/r/b")
		}, map[string]string{"/r/a": "x"}},
		{"unsynced remove", func(s *simFS) {
			write(s, "/r/a", "x", true)
			syncDir(s, "/r")
			s.Remove("/r/a")
		}, map[string]string{"/r/a": "x"}},
		{"synced remove", func(s *simFS) {
			write(s, "/r/a", "x", true)
			syncDir(s, "/r")
			s.Remove("/r/a")
			syncDir(s, "/r")
		}, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSimFS("/r")
			tc.setup(s)
			c := s.crash(rand.New(rand.NewPCG(1, 2)), tornNone)
			got := map[string]string{}
			for name, n := range c.files {
				got[name] = string(n.data)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("after crash: %v, want %v", got, tc.want)
			}
		})
	}
}
