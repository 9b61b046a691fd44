//go:build unix

package fs

import (
	"os"
	"strconv"
	"syscall"
)

// fileVersion is a stored copy's blobstore.Info.Version: its inode and
// modification time. Storing a blob again either renames a new file
// (another inode, or a reused inode number with a later modification
// time) into place or refreshes the existing file's modification time.
func fileVersion(fi os.FileInfo) string {
	v := strconv.FormatInt(fi.ModTime().UnixNano(), 36)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v = strconv.FormatUint(uint64(st.Dev), 36) + "." + strconv.FormatUint(uint64(st.Ino), 36) + "." + v
	}
	return v
}
