//go:build !unix

package fs

import (
	"os"
	"strconv"
)

// fileVersion is a stored copy's blobstore.Info.Version: its modification
// time and size (see version_unix.go).
func fileVersion(fi os.FileInfo) string {
	return strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "." + strconv.FormatInt(fi.Size(), 36)
}
