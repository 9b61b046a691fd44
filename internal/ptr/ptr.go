// Package ptr converts between values and the pointers the generated API
// types use for optional members.
package ptr

// To returns a pointer to v.
func To[T any](v T) *T { return &v }

// Value returns *p, or the zero value when p is nil.
func Value[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Or returns *p, or def when p is nil.
func Or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
