// Package errs gives domain errors a message meant for the API caller while
// keeping a sentinel kind to map at the edge:
//
//	var ErrNoSuchEntity = errors.New("no such entity")
//	return errs.New(ErrNoSuchEntity, "The user with name %s cannot be found.", name)
//
// errors.Is(err, ErrNoSuchEntity) holds, and err.Error() is the message.
// Each service's error table (at the edge) maps kinds to AWS error codes.
package errs

import (
	"errors"
	"fmt"
)

// Error is a domain error: a kind for the edge and a message for the caller.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an error of kind with a formatted message.
func New(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Message is the caller-facing message of err: the message of the
// outermost *Error in its chain, else err.Error().
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

// Mapping connects a domain error kind to the AWS error code (the model's
// error shape name, e.g. "NoSuchEntityException") it is answered with.
type Mapping struct {
	Kind error
	Code string
}

// Table is a service's error table: the one place where its domain errors
// become AWS error codes. The edge consults it for every failed call.
type Table []Mapping

// Lookup returns the code of the first mapping whose kind err is.
func (t Table) Lookup(err error) (string, bool) {
	for _, m := range t {
		if errors.Is(err, m.Kind) {
			return m.Code, true
		}
	}
	return "", false
}
