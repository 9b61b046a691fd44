package protocoltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// EncodeRequest writes tree, an input of op, as a client of the protocol
// would send it.
type EncodeRequest func(m *awsmodel.Model, op *awsmodel.Operation, tree map[string]any) (*http.Request, []byte)

// EchoRequest is the EncodeRequest of protocols whose request and response
// bodies have the same form (awsJson, RPC v2 CBOR): the codec's own output
// encoder, pointed at the input shape.
func EchoRequest(c protocol.Codec) EncodeRequest {
	return func(m *awsmodel.Model, op *awsmodel.Operation, tree map[string]any) (*http.Request, []byte) {
		w := httptest.NewRecorder()
		c.EncodeOutput(w, m, &awsmodel.Operation{Name: op.Name, Output: op.Input}, tree, "rid")
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		return r, w.Body.Bytes()
	}
}

// RoundTrip checks, for every operation of m that has an input, that
// random input trees survive encode (as a client would send them) →
// DecodeInput unchanged. n trees are tried per operation.
func RoundTrip(t *testing.T, c protocol.Codec, m *awsmodel.Model, encode EncodeRequest, n int, opts TreeOptions) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(len(m.Operations))))
	for _, name := range m.OperationNames() {
		op := m.Operations[name]
		if op.Input == nil {
			continue
		}
		for i := range n {
			tree := RandomTree(rng, op.Input.Shape, opts)
			r, body := encode(m, op, tree)
			got, err := c.DecodeInput(m, op, r, body)
			if err != nil {
				t.Fatalf("%s #%d: %v\ntree %#v\nbody %q", name, i, err, tree, body)
			}
			if !Equal(tree, got) {
				t.Fatalf("%s #%d: %s\nbody %q", name, i, Diff(tree, got), body)
			}
		}
	}
}

// TreeOptions limits RandomTree to what a protocol can carry.
type TreeOptions struct {
	NoDocuments bool // leave document members out (awsQuery has none)
	NoNaN       bool // no NaN or infinities
}

// RandomTree makes a value tree of shape s with random members, lists,
// maps and scalars (including awkward strings), of the Go types package
// wire prescribes. Timestamps have millisecond precision.
func RandomTree(rng *rand.Rand, s *awsmodel.Shape, opts TreeOptions) map[string]any {
	g := gen{rng: rng, opts: opts}
	return g.structure(s, 0)
}

type gen struct {
	rng  *rand.Rand
	opts TreeOptions
}

const maxDepth = 6

var awkward = []string{"", " ", "a", "a.b", "a=b&c", "<&>\"'", "line\nbreak\ttab", "é", "日本語", "\u2028", "emoji 🐳", "100%", "+ plus", "member.1"}

func (g gen) structure(s *awsmodel.Shape, depth int) map[string]any {
	m := map[string]any{}
	if depth > maxDepth {
		return m
	}
	for _, name := range s.MemberNames {
		ref := s.Members[name]
		if g.rng.IntN(3) == 0 {
			continue
		}
		if ref.Shape.Document && g.opts.NoDocuments {
			continue
		}
		if v := g.value(ref.Shape, depth+1); v != nil {
			m[name] = v
		}
	}
	return m
}

func (g gen) value(s *awsmodel.Shape, depth int) any {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return g.document(depth)
		}
		return g.structure(s, depth)
	case awsmodel.List:
		if depth > maxDepth {
			return []any{}
		}
		l := make([]any, g.rng.IntN(4))
		for i := range l {
			if l[i] = g.value(s.Member.Shape, depth+1); l[i] == nil {
				return nil
			}
		}
		return l
	case awsmodel.Map:
		m := map[string]any{}
		if depth > maxDepth {
			return m
		}
		for range g.rng.IntN(4) {
			if v := g.value(s.Value.Shape, depth+1); v != nil {
				m[g.str()] = v
			}
		}
		return m
	case awsmodel.String:
		if len(s.Enum) > 0 {
			return s.Enum[g.rng.IntN(len(s.Enum))]
		}
		return g.str()
	case awsmodel.Boolean:
		return g.rng.IntN(2) == 0
	case awsmodel.Integer:
		return []int64{0, 1, -1, math.MaxInt32, math.MinInt32, g.rng.Int64N(1 << 20)}[g.rng.IntN(6)]
	case awsmodel.Long:
		return []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1<<53 + 1, g.rng.Int64()}[g.rng.IntN(7)]
	case awsmodel.Float, awsmodel.Double:
		fs := []float64{0, 1, -1.5, 0.1, 1e-7, 3.4e38, 1e21, g.rng.Float64() * 1e6}
		if s.Type == awsmodel.Double {
			fs = append(fs, 1e300, 5e-324)
		}
		if !g.opts.NoNaN {
			fs = append(fs, math.NaN(), math.Inf(1), math.Inf(-1))
		}
		return fs[g.rng.IntN(len(fs))]
	case awsmodel.Timestamp:
		ms := g.rng.Int64N(4102444800000) // up to 2100
		if g.rng.IntN(3) == 0 {
			ms -= ms % 1000
		}
		return time.UnixMilli(ms).UTC()
	case awsmodel.Blob:
		b := make([]byte, g.rng.IntN(8))
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		return b
	}
	panic(fmt.Sprintf("protocoltest: shape type %q", s.Type))
}

func (g gen) str() string {
	if g.rng.IntN(2) == 0 {
		return awkward[g.rng.IntN(len(awkward))]
	}
	return fmt.Sprintf("v%d", g.rng.IntN(1000))
}

// document makes a JSON-like value (numbers as float64).
func (g gen) document(depth int) any {
	if depth > maxDepth {
		return "leaf"
	}
	switch g.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return g.rng.IntN(2) == 0
	case 2:
		return float64(g.rng.IntN(1000)) / 8
	case 3:
		return g.str()
	case 4:
		l := make([]any, g.rng.IntN(3))
		for i := range l {
			l[i] = g.document(depth + 1)
		}
		return l
	}
	m := map[string]any{}
	for range g.rng.IntN(3) {
		m[g.str()] = g.document(depth + 1)
	}
	return m
}
