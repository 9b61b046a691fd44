// Package protocoltest helps test the protocol codecs against real AWS SDK
// clients: a server that records what a client sends and answers through a
// codec, an aws.Config pointed at it, and a tree comparison that knows the
// wire's precision.
package protocoltest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// Request is what the server saw of one request. Body is decompressed when
// the client gzipped it, as the edge does before calling a codec.
type Request struct {
	HTTP *http.Request
	Body []byte
	Raw  []byte // the body as sent
}

// Server is an httptest.Server that records requests and answers them with
// Respond.
type Server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// Respond answers one recorded request.
type Respond func(w http.ResponseWriter, req Request)

// NewServer starts a recording server; it is closed when the test ends.
func NewServer(t testing.TB, respond Respond) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body := raw
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err == nil {
				body, err = io.ReadAll(zr)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		req := Request{HTTP: r, Body: body, Raw: raw}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		respond(w, req)
	}))
	t.Cleanup(s.Close)
	return s
}

// Last returns the last request recorded.
func (s *Server) Last(t testing.TB) Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return s.reqs[len(s.reqs)-1]
}

// Config is an aws.Config for clients of s: static credentials, us-east-1,
// no retries.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// Decode decodes req for operation op of m with c, failing the test on error.
func Decode(t testing.TB, c protocol.Codec, m *awsmodel.Model, op string, req Request) map[string]any {
	t.Helper()
	o := m.Operations[op]
	if o == nil {
		t.Fatalf("no operation %s", op)
	}
	tree, err := c.DecodeInput(m, o, req.HTTP, req.Body)
	if err != nil {
		t.Fatalf("DecodeInput(%s): %v\nbody: %q", op, err, req.Body)
	}
	return tree
}

// Equal compares two value trees: times to the millisecond (what every
// protocol carries), NaN equal to NaN, numbers by value.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.UnixMilli() == y.UnixMilli()
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return reflect.DeepEqual(a, b)
}

// Diff describes how two trees differ, for test failures.
func Diff(want, got any) string {
	var out []string
	diff("", want, got, &out)
	sort.Strings(out)
	return fmt.Sprint(out)
}

func diff(path string, a, b any, out *[]string) {
	if Equal(a, b) {
		return
	}
	x, ok1 := a.(map[string]any)
	y, ok2 := b.(map[string]any)
	if ok1 && ok2 {
		for k := range x {
			diff(path+"."+k, x[k], y[k], out)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: unexpected %#v", path, k, y[k]))
			}
		}
		return
	}
	l1, ok1 := a.([]any)
	l2, ok2 := b.([]any)
	if ok1 && ok2 && len(l1) == len(l2) {
		for i := range l1 {
			diff(fmt.Sprintf("%s[%d]", path, i), l1[i], l2[i], out)
		}
		return
	}
	*out = append(*out, fmt.Sprintf("%s: want %#v (%T), got %#v (%T)", path, a, a, b, b))
}
