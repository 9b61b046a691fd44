package blobstore

import (
	"crypto/rand"
	"encoding/hex"
)

// NewUploadID returns a fresh upload session id: a random UUID (version 4),
// the form ECR's uploadId takes.
func NewUploadID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ValidUploadID reports whether id has the form NewUploadID returns
// (lower-case hex UUID), so it is safe to use as a file or object name.
func ValidUploadID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
