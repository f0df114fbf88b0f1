//go:build linux && (amd64 || arm64)

package logstore_test

import (
	"os"
	"path/filepath"
	"syscall"
)

// dropCache writes back and then drops the page cache of every file in
// dir (fsync, posix_fadvise DONTNEED), so that the next read comes from
// the disk. It reports whether it could.
func dropCache(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return false
		}
		if err := f.Sync(); err != nil { // DONTNEED skips dirty pages
			f.Close()
			return false
		}
		const fadvDontNeed = 4
		_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0)
		f.Close()
		if errno != 0 {
			return false
		}
	}
	return true
}
