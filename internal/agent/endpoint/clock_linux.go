package endpoint

import "golang.org/x/sys/unix"

// readClock asks the kernel (adjtimex, read only) whether the clock is
// synchronized and how large its error may be, in microseconds.
func readClock() (unsynchronized bool, maxErrorMicros int64, ok bool) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, 0, false
	}
	return state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0, int64(tx.Maxerror), true
}
