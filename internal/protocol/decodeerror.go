package protocol

import (
	"fmt"
	"strings"
)

// DecodeError is a request body that does not fit the protocol or the input
// shape. It wraps ErrSerialization and names where in the input the problem
// is. Codecs build it at the failing value and add path segments as the
// error travels up, so the happy path pays nothing for paths.
type DecodeError struct {
	segs []string // innermost first
	msg  string
}

// NewDecodeError returns a DecodeError with the message format, args.
func NewDecodeError(format string, args ...any) *DecodeError {
	return &DecodeError{msg: fmt.Sprintf(format, args...)}
}

// AtMember prefixes the path with a structure member or map key.
func (e *DecodeError) AtMember(name string) *DecodeError {
	e.segs = append(e.segs, name)
	return e
}

// AtIndex prefixes the path with a list index (0-based).
func (e *DecodeError) AtIndex(i int) *DecodeError {
	e.segs = append(e.segs, fmt.Sprintf("[%d]", i))
	return e
}

// Path is where the error is, e.g. "containerDefinitions[0].cpu"; empty for
// the whole body.
func (e *DecodeError) Path() string {
	var b strings.Builder
	for i := len(e.segs) - 1; i >= 0; i-- {
		s := e.segs[i]
		if b.Len() > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// Detail is the message without the path.
func (e *DecodeError) Detail() string { return e.msg }

// Error is meant for the client: the edge answers with it as the message of
// a SerializationException.
func (e *DecodeError) Error() string {
	if p := e.Path(); p != "" {
		return "Cannot deserialize request: " + p + ": " + e.msg
	}
	return "Cannot deserialize request: " + e.msg
}

// Unwrap makes errors.Is(err, ErrSerialization) hold.
func (e *DecodeError) Unwrap() error { return ErrSerialization }
