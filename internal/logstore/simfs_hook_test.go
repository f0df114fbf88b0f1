package logstore_test

import (
	"io/fs"
	"os"
	"path"

	"github.com/ferrymq/ferry/internal/logstore"
)

// hookFS runs a hook before every operation that changes a simFS, so that
// a test can cut power between any two of them. The hook runs without the
// simFS lock held and may call crash.
type hookFS struct {
	*simFS
	hook func(op, name string)
}

func (h *hookFS) before(op, name string) {
	if h.hook != nil {
		h.hook(op, path.Clean(name))
	}
}

func (h *hookFS) OpenFile(name string, flag int, perm fs.FileMode) (logstore.File, error) {
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		h.before("create", name)
	}
	f, err := h.simFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, h: h, name: name}, nil
}

func (h *hookFS) MkdirAll(name string, perm fs.FileMode) error {
	h.before("mkdir", name)
	return h.simFS.MkdirAll(name, perm)
}

func (h *hookFS) Remove(name string) error {
	h.before("remove", name)
	return h.simFS.Remove(name)
}

func (h *hookFS) Rename(oldname, newname string) error {
	h.before("rename", newname)
	return h.simFS.Rename(oldname, newname)
}

type hookFile struct {
	logstore.File
	h    *hookFS
	name string
}

func (f *hookFile) Write(b []byte) (int, error) {
	f.h.before("write", f.name)
	return f.File.Write(b)
}

func (f *hookFile) Sync() error {
	f.h.before("sync", f.name)
	return f.File.Sync()
}

func (f *hookFile) Truncate(size int64) error {
	f.h.before("truncate", f.name)
	return f.File.Truncate(size)
}
