package logstore

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the file system a FileLog uses. OSFS is the default; tests inject
// faults through it.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	MkdirAll(name string, perm fs.FileMode) error
	Remove(name string) error
	Rename(oldname, newname string) error
}

// File is an open file. Directories are opened read-only to Sync them.
type File interface {
	io.ReaderAt
	io.Writer
	io.Closer
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
}

// OSFS is the operating system's file system.
type OSFS struct{}

// OpenFile is os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}

// ReadDir is os.ReadDir.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// MkdirAll is os.MkdirAll.
func (OSFS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }

// Remove is os.Remove.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// Rename is os.Rename.
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// syncDir fsyncs a directory so that entries created, renamed or removed
// in it survive a crash.
func syncDir(fsys FS, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// MkdirDurable creates dir and its missing parents, then fsyncs the parent
// of each directory it created: a new directory's entry is no more
// durable than any other until its parent is synced, and a log whose
// directory vanishes in a power loss loses every record in it.
func MkdirDurable(fsys FS, dir string) error {
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		f, err := fsys.OpenFile(d, os.O_RDONLY, 0)
		if err == nil {
			f.Close()
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(d) == d {
			break // let MkdirAll report it
		}
		created = append(created, d)
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range created {
		if err := syncDir(fsys, filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
