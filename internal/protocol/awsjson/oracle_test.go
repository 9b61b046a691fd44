package awsjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

// oracleDecode is a second, simpler decoder built on encoding/json: the
// body is decoded into generic values (numbers kept as json.Number) and the
// tree made from them in place. FuzzAgainstEncodingJSON checks that the
// shape-guided parser accepts and produces exactly what it does.
func oracleDecode(s *awsmodel.Shape, body []byte) (map[string]any, error) {
	body = bytes.Trim(body, " \t\r\n")
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, protocol.NewDecodeError("malformed JSON: %s", jsonErrText(err))
	}
	if rest := bytes.Trim(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, protocol.NewDecodeError("malformed JSON: unexpected data after the top-level object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, protocol.NewDecodeError("the request body must be a JSON object, found %s", kind(v))
	}
	if err := decodeStruct(s, m); err != nil {
		return nil, err
	}
	return m, nil
}

func jsonErrText(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

func decodeStruct(s *awsmodel.Shape, m map[string]any) *protocol.DecodeError {
	for k, v := range m {
		ref, ok := s.Members[k]
		if !ok || v == nil {
			delete(m, k) // unknown members are ignored, null is absent
			continue
		}
		nv, err := decodeValue(ref.Shape, v)
		if err != nil {
			return err.AtMember(k)
		}
		m[k] = nv
	}
	return nil
}

func decodeValue(s *awsmodel.Shape, v any) (any, *protocol.DecodeError) {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return document(v), nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch("a structure", v)
		}
		if err := decodeStruct(s, m); err != nil {
			return nil, err
		}
		return m, nil
	case awsmodel.List:
		l, ok := v.([]any)
		if !ok {
			return nil, mismatch("a list", v)
		}
		n := 0
		for i, e := range l {
			if e == nil {
				continue
			}
			ne, err := decodeValue(s.Member.Shape, e)
			if err != nil {
				return nil, err.AtIndex(i)
			}
			l[n] = ne
			n++
		}
		clear(l[n:])
		return l[:n], nil
	case awsmodel.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch("a map", v)
		}
		for k, e := range m {
			if e == nil {
				delete(m, k)
				continue
			}
			ne, err := decodeValue(s.Value.Shape, e)
			if err != nil {
				return nil, err.AtMember(k)
			}
			m[k] = ne
		}
		return m, nil
	case awsmodel.String:
		if str, ok := v.(string); ok {
			return str, nil
		}
		return nil, mismatch("a string", v)
	case awsmodel.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, mismatch("a boolean", v)
	case awsmodel.Integer, awsmodel.Long:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch("an integer", v)
		}
		return oracleParseInt(s.Type, string(n))
	case awsmodel.Float, awsmodel.Double:
		return parseFloat(s.Type, v)
	case awsmodel.Timestamp:
		switch x := v.(type) {
		case json.Number:
			if t, ok := protocol.ParseEpochSeconds(string(x)); ok {
				return t, nil
			}
			return nil, protocol.NewDecodeError("timestamp %s is out of range", x)
		case string:
			if t, ok := protocol.ParseTimestamp(x); ok {
				return t, nil
			}
			return nil, protocol.NewDecodeError("cannot parse timestamp %q", x)
		}
		return nil, mismatch("a timestamp", v)
	case awsmodel.Blob:
		str, ok := v.(string)
		if !ok {
			return nil, mismatch("a base64 string", v)
		}
		b, err := oracleBase64(str)
		if err != nil {
			return nil, protocol.NewDecodeError("invalid base64 data")
		}
		return b, nil
	}
	return nil, protocol.NewDecodeError("unsupported shape type %q", s.Type)
}

func oracleParseInt(typ, s string) (any, *protocol.DecodeError) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 5.0 and 5e3 are integers too; 5.5 is not.
		f, ferr := strconv.ParseFloat(s, 64)
		switch {
		case ferr == nil && f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64:
			n = int64(f)
		case ferr == nil && f != math.Trunc(f):
			return nil, protocol.NewDecodeError("expected an integer, found %s", s)
		default:
			return nil, protocol.NewDecodeError("%s is out of range", s)
		}
	}
	if typ == awsmodel.Integer && (n < math.MinInt32 || n > math.MaxInt32) {
		return nil, protocol.NewDecodeError("%s is out of range for an integer", s)
	}
	return n, nil
}

func parseFloat(typ string, v any) (any, *protocol.DecodeError) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		f, err = strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, protocol.NewDecodeError("%s is out of range", x)
		}
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return nil, protocol.NewDecodeError("expected a number, found the string %q", x)
	default:
		return nil, mismatch("a number", v)
	}
	if typ == awsmodel.Float && math.Abs(f) > math.MaxFloat32 {
		return nil, protocol.NewDecodeError("%v is out of range for a float", v)
	}
	return f, nil
}

func oracleBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return b, nil
}

// document turns a decoded JSON value into a document tree: numbers become
// float64, everything else is already JSON-like.
func document(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64) // ±Inf past float64's range
		return f
	case []any:
		for i, e := range x {
			x[i] = document(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = document(e)
		}
	}
	return v
}

func mismatch(want string, got any) *protocol.DecodeError {
	return protocol.NewDecodeError("expected %s, found %s", want, kind(got))
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "an unexpected value"
}

// FuzzAgainstEncodingJSON checks the parser against oracleDecode: both
// accept the same bodies and make the same trees.
func FuzzAgainstEncodingJSON(f *testing.F) {
	m := models.MustLoad("ecs")
	shapes := []*awsmodel.Shape{m.Operations["RegisterTaskDefinition"].Input.Shape, m.Shapes["HookDetails"]}
	docShape := &awsmodel.Shape{Type: awsmodel.Structure, Members: map[string]*awsmodel.Ref{"d": {Shape: shapes[1]}}, MemberNames: []string{"d"}}
	for _, s := range []string{`{"family":"a\u00e9\ud83d\udc33\ud800x\"","cpu":"1","containerDefinitions":[{"cpu":1e2,"memory":-0,"essential":true}]}`,
		`{"d":{"a":[1,2.5e3,-0.0,"\u0000",null,true,{}]}}`, `{"family":"\xff\xfe"}`, `  {"x":[{"y":[]}]}  `, `{"volumes":[{"host":null}],"tags":[null]}`,
		`{"family":"x","family":null}`, `{"containerDefinitions":[{"dockerLabels":{"a":"b","a":null}}]}`, "{\"family\":\"\xff\"}", `01`, `{"cpu":"1"}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, s := range []*awsmodel.Shape{shapes[0], docShape} {
			got, err1 := decodeBody(s, body)
			want, err2 := oracleDecode(s, body)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("parser error %v, encoding/json error %v", err1, err2)
			}
			if err1 != nil && !errors.Is(err1, protocol.ErrSerialization) {
				t.Fatalf("error %v does not wrap ErrSerialization", err1)
			}
			if err1 == nil && !protocoltest.Equal(want, got) {
				t.Fatalf("trees differ: %s", protocoltest.Diff(want, got))
			}
		}
	})
}

// BenchmarkDecode compares the parser with the encoding/json oracle on
// the same body.
func BenchmarkDecode(b *testing.B) {
	m := models.MustLoad("ecs")
	s := m.Operations["RegisterTaskDefinition"].Input.Shape
	body := []byte(`{"containerDefinitions":[{"command":["sh","-c","echo hi"],"cpu":256,"dockerLabels":{"a":"b"},` +
		`"environment":[{"name":"A","value":"1"}],"essential":true,"healthCheck":{"command":["CMD","true"],"interval":30},` +
		`"image":"nginx:1","memory":512,"name":"app","portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}],` +
		`"ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":4096}],"stopTimeout":30}],"cpu":"256","family":"web",` +
		`"requiresCompatibilities":["FARGATE"],"tags":[{"key":"team","value":"core"}],"volumes":[{"name":"v","host":{"sourcePath":"/x"}}]}`)
	for _, bc := range []struct {
		name   string
		decode func(*awsmodel.Shape, []byte) (map[string]any, error)
	}{{"parser", decodeBody}, {"encoding-json", oracleDecode}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(s, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
