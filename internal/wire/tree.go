// Package wire is the meeting point of the protocol codecs and the Go
// service code. Codecs decode a request into a value tree guided by the
// service model; the tree is validated against the model; the generated
// adapters convert it into the generated Go input struct, call the service
// method, and convert the output struct back into a tree for the codec to
// encode.
//
// A value tree uses exactly these Go types, chosen by the model shape:
//
//	structure → map[string]any (member name → value; absent members absent)
//	map       → map[string]any
//	list      → []any
//	string    → string        integer, long → int64
//	boolean   → bool          float, double → float64
//	timestamp → time.Time     blob          → []byte
//	document  → any (JSON-like: nil, bool, float64, string, []any, map[string]any)
//
// Generated structs name each member with an `aws:"memberName"` tag; scalars
// are pointers so "absent" and "zero" stay different.
package wire

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Handler is an operation as the edge sees it: tree in, tree out.
type Handler func(ctx context.Context, in map[string]any) (map[string]any, error)

// Adapt turns a typed service method into a Handler.
func Adapt[I, O any](f func(context.Context, *I) (*O, error)) Handler {
	return func(ctx context.Context, in map[string]any) (map[string]any, error) {
		input := new(I)
		if in != nil {
			if err := FromTree(in, input); err != nil {
				return nil, err
			}
		}
		out, err := f(ctx, input)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, nil
		}
		t, _ := ToTree(out).(map[string]any)
		return t, nil
	}
}

// ErrShape reports a tree that does not fit the Go type it is converted to.
// The edge turns it into a SerializationException.
var ErrShape = errors.New("wire: value does not match shape")

type field struct {
	name  string
	index int
}

var fieldCache sync.Map // reflect.Type → map[string]field

func fieldsOf(t reflect.Type) map[string]field {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]field)
	}
	m := map[string]field{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("aws")
		if tag == "" || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		m[name] = field{name: name, index: i}
	}
	fieldCache.Store(t, m)
	return m
}

var timeType = reflect.TypeOf(time.Time{})

// FromTree fills the struct pointed to by dst from tree.
func FromTree(tree map[string]any, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("wire: FromTree needs a pointer to a struct, got %T", dst)
	}
	return assign(v.Elem(), tree, "")
}

func assign(dst reflect.Value, val any, path string) error {
	if val == nil {
		return nil
	}
	t := dst.Type()
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := assign(p.Elem(), val, path); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Interface:
		dst.Set(reflect.ValueOf(val))
		return nil
	case reflect.Struct:
		if t == timeType {
			tv, ok := val.(time.Time)
			if !ok {
				return mismatch(path, "timestamp", val)
			}
			dst.Set(reflect.ValueOf(tv))
			return nil
		}
		m, ok := val.(map[string]any)
		if !ok {
			return mismatch(path, "structure", val)
		}
		fields := fieldsOf(t)
		for k, fv := range m {
			f, ok := fields[k]
			if !ok {
				continue // unknown members are ignored, as AWS services do
			}
			if err := assign(dst.Field(f.index), fv, join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b, ok := val.([]byte)
			if !ok {
				return mismatch(path, "blob", val)
			}
			dst.SetBytes(b)
			return nil
		}
		l, ok := val.([]any)
		if !ok {
			return mismatch(path, "list", val)
		}
		s := reflect.MakeSlice(t, len(l), len(l))
		for i, e := range l {
			if err := assign(s.Index(i), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.Map:
		m, ok := val.(map[string]any)
		if !ok {
			return mismatch(path, "map", val)
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, e := range m {
			ev := reflect.New(t.Elem()).Elem()
			if err := assign(ev, e, join(path, k)); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		dst.Set(out)
		return nil
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			return mismatch(path, "string", val)
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return mismatch(path, "boolean", val)
		}
		dst.SetBool(b)
		return nil
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, ok := val.(int64)
		if !ok {
			return mismatch(path, "integer", val)
		}
		if dst.OverflowInt(n) {
			return fmt.Errorf("%w: %s: %d is out of range", ErrShape, path, n)
		}
		dst.SetInt(n)
		return nil
	case reflect.Float32, reflect.Float64:
		switch n := val.(type) {
		case float64:
			dst.SetFloat(n)
		case int64:
			dst.SetFloat(float64(n))
		default:
			return mismatch(path, "number", val)
		}
		return nil
	}
	return fmt.Errorf("wire: unsupported Go type %s at %s", t, path)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func mismatch(path, want string, got any) error {
	return fmt.Errorf("%w: %s: expected %s, got %T", ErrShape, path, want, got)
}

// ToTree converts a generated struct (or any value built from the types
// generated structs use) into a value tree. Nil pointers, nil slices and nil
// maps are left out.
func ToTree(src any) any {
	return toTree(reflect.ValueOf(src))
}

func toTree(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toTree(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface().(time.Time)
		}
		fields := fieldsOf(v.Type())
		m := make(map[string]any, len(fields))
		for name, f := range fields {
			if e := toTree(v.Field(f.index)); e != nil {
				m[name] = e
			}
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Bytes()
		}
		l := make([]any, v.Len())
		for i := range l {
			l[i] = toTree(v.Index(i))
		}
		return l
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		m := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			m[it.Key().String()] = toTree(it.Value())
		}
		return m
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return nil
}

// Empty is the input or output of an operation that has none.
type Empty struct{}
