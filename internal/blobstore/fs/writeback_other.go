//go:build !linux

package fs

import "os"

func startWriteback(f *os.File, off, n int64) {}

// openDirect: direct writes are used on Linux only.
func openDirect(p string) *os.File { return nil }

func adviseSequential(f *os.File, size int64) {}
