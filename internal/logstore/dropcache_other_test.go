//go:build !(linux && (amd64 || arm64))

package logstore_test

// dropCache cannot drop the page cache here.
func dropCache(string) bool { return false }
