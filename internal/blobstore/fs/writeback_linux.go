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

// adviseSequential tells the kernel f (size bytes) will be read from start
// to end, and starts reading its first readAheadLimit bytes now. A layer
// written with O_DIRECT is not in the page cache, so its first pull is
// served from disk, and with the default 128 KiB readahead window sendfile
// waits on small reads one after another (400-600 MB/s on a disk that
// reads 1.3+ GB/s in large requests; docs/benchmarks.md has what the
// hints gave here, within the noise). The rest of a larger file is left to the
// (doubled) sequential readahead, so that the hint never holds the response
// back for long.
func adviseSequential(f *os.File, size int64) {
	fd := int(f.Fd())
	_ = unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
	_ = unix.Fadvise(fd, 0, min(size, readAheadLimit), unix.FADV_WILLNEED)
}

const readAheadLimit = 256 << 20
