package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing [off, off+n) of f to
// disk now, without waiting, so that the fsync at the end of a large write
// finds most pages already clean: receiving, hashing and writing overlap
// instead of running one after the other.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// openDirect opens p for O_DIRECT writes, or returns nil where the
// filesystem refuses them.
func openDirect(p string) *os.File {
	f, err := os.OpenFile(p, os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}
