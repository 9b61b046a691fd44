package awsjson_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

// testModel has one of every shape type.
const testModel = `{
 "metadata": {"jsonVersion": "1.0", "protocol": "json", "targetPrefix": "Test", "awsQueryCompatible": {}},
 "operations": {
  "Op": {"name": "Op", "input": {"shape": "In"}, "output": {"shape": "Out"}},
  "NoIO": {"name": "NoIO"}
 },
 "shapes": {
  "In": {"type": "structure", "members": {
   "S": {"shape": "Str"}, "I": {"shape": "Int"}, "L": {"shape": "Long"},
   "F": {"shape": "Float"}, "D": {"shape": "Double"}, "B": {"shape": "Bool"},
   "T": {"shape": "Time"}, "Blob": {"shape": "Blob"}, "Doc": {"shape": "Doc"},
   "List": {"shape": "List"}, "Map": {"shape": "Map"}, "Nested": {"shape": "In"}
  }},
  "Out": {"type": "structure", "members": {
   "S": {"shape": "Str"}, "I": {"shape": "Int"}, "D": {"shape": "Double"}, "T": {"shape": "Time"},
   "ISO": {"shape": "ISOTime"}, "Blob": {"shape": "Blob"}, "Doc": {"shape": "Doc"},
   "List": {"shape": "List"}, "Map": {"shape": "Map"}, "B": {"shape": "Bool"}
  }},
  "Err": {"type": "structure", "exception": true, "error": {"code": "ErrCode", "httpStatusCode": 409, "senderFault": true},
   "members": {"Message": {"shape": "Str"}, "Reason": {"shape": "Str"}, "When": {"shape": "Time"}}},
  "Str": {"type": "string"}, "Int": {"type": "integer"}, "Long": {"type": "long"},
  "Float": {"type": "float"}, "Double": {"type": "double"}, "Bool": {"type": "boolean"},
  "Time": {"type": "timestamp"}, "ISOTime": {"type": "timestamp", "timestampFormat": "iso8601"},
  "Blob": {"type": "blob"}, "Doc": {"type": "structure", "document": true, "members": {}},
  "List": {"type": "list", "member": {"shape": "In"}},
  "Map": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Long"}}
 }
}`

func mustParse(t testing.TB, s string) *awsmodel.Model {
	t.Helper()
	m, err := awsmodel.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decode(t testing.TB, m *awsmodel.Model, body string) (map[string]any, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	return codec.DecodeInput(m, m.Operations["Op"], r, []byte(body))
}

func TestDecodeTypes(t *testing.T) {
	m := mustParse(t, testModel)
	tree, err := decode(t, m, `{
	  "S": "x\u00e9", "I": -2147483648, "L": 9007199254740993, "F": 1.5, "D": 1e300, "B": false,
	  "T": 1700000000.123, "Blob": "aGk=", "Doc": {"a": [1, "x", null, true, {"b": 2.5}]},
	  "List": [{"S": "a"}, null, {"I": 5.0}], "Map": {"k": 1, "n": null},
	  "Nested": {"Nested": {"S": "deep", "Unknown": {"x": 1}}},
	  "Unknown": [1, 2, 3], "Null": null
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"S": "xé", "I": int64(math.MinInt32), "L": int64(9007199254740993), "F": 1.5, "D": 1e300, "B": false,
		"T":      time.Unix(1700000000, 123e6).UTC(),
		"Blob":   []byte("hi"),
		"Doc":    map[string]any{"a": []any{1.0, "x", nil, true, map[string]any{"b": 2.5}}},
		"List":   []any{map[string]any{"S": "a"}, map[string]any{"I": int64(5)}},
		"Map":    map[string]any{"k": int64(1)},
		"Nested": map[string]any{"Nested": map[string]any{"S": "deep"}},
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s", protocoltest.Diff(want, tree))
	}
	if got := tree["T"].(time.Time); got.Nanosecond() != 123e6 {
		t.Errorf("timestamp fraction = %d ns, want exactly 123 ms", got.Nanosecond())
	}
}

func TestDecodeLenient(t *testing.T) {
	m := mustParse(t, testModel)
	for _, tc := range []struct {
		body string
		key  string
		want any
	}{
		{`{"T": "2026-01-02T03:04:05Z"}`, "T", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{`{"T": "2026-01-02T03:04:05.250+01:00"}`, "T", time.Date(2026, 1, 2, 2, 4, 5, 250e6, time.UTC)},
		{`{"T": "2026-01-02"}`, "T", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{`{"T": 1700000000}`, "T", time.Unix(1700000000, 0).UTC()},
		{`{"T": 1.7e9}`, "T", time.Unix(1700000000, 0).UTC()},
		{`{"T": "1700000000.5"}`, "T", time.Unix(1700000000, 5e8).UTC()},
		{`{"D": "NaN"}`, "D", math.NaN()},
		{`{"D": "Infinity"}`, "D", math.Inf(1)},
		{`{"D": "-Infinity"}`, "D", math.Inf(-1)},
		{`{"D": 3}`, "D", 3.0},
		{`{"I": 1e3}`, "I", int64(1000)},
		{`{"Blob": "aGk"}`, "Blob", []byte("hi")},
	} {
		tree, err := decode(t, m, tc.body)
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if !protocoltest.Equal(tc.want, tree[tc.key]) {
			t.Errorf("%s: got %#v, want %#v", tc.body, tree[tc.key], tc.want)
		}
	}
	for _, body := range []string{"", "  ", "{}", "\n{}\n", `{"S": null}`} {
		tree, err := decode(t, m, body)
		if err != nil || tree == nil || len(tree) != 0 {
			t.Errorf("%q: tree %v, err %v; want empty tree", body, tree, err)
		}
	}
	if tree, err := codec.DecodeInput(m, m.Operations["NoIO"], nil, []byte("garbage")); tree != nil || err != nil {
		t.Errorf("operation without input: %v, %v", tree, err)
	}
}

// TestDecodeErrors runs its table twice: decode errors carry paths added as
// they travel up, so they must never be shared between calls.
func TestDecodeErrors(t *testing.T) {
	for range 2 {
		decodeErrors(t)
	}
}

func decodeErrors(t *testing.T) {
	m := mustParse(t, testModel)
	for _, tc := range []struct{ body, path, detail string }{
		{`[]`, "", "must be a JSON object"},
		{`"x"`, "", "must be a JSON object"},
		{`null`, "", "must be a JSON object"},
		{`{`, "", "malformed JSON"},
		{`{"S": "x"} {}`, "", "after the top-level object"},
		{`{"S": 1}`, "S", "expected a string, found a number"},
		{`{"S": {}}`, "S", "expected a string, found an object"},
		{`{"I": "1"}`, "I", "expected an integer, found a string"},
		{`{"I": 1.5}`, "I", "expected an integer"},
		{`{"I": 2147483648}`, "I", "out of range"},
		{`{"L": 9223372036854775808}`, "L", "out of range"},
		{`{"L": 1e30}`, "L", "out of range"},
		{`{"F": 1e39}`, "F", "out of range"},
		{`{"D": 1e999}`, "D", "out of range"},
		{`{"D": "1.5"}`, "D", "expected a number"},
		{`{"B": "true"}`, "B", "expected a boolean"},
		{`{"T": true}`, "T", "expected a timestamp"},
		{`{"T": "yesterday"}`, "T", "cannot parse timestamp"},
		{`{"T": 1e20}`, "T", "out of range"},
		{`{"Blob": "!!"}`, "Blob", "base64"},
		{`{"Blob": 1}`, "Blob", "expected a base64 string"},
		{`{"List": {}}`, "List", "expected a list, found an object"},
		{`{"List": [{"S": "a"}, {"S": 2}]}`, "List[1].S", "expected a string"},
		{`{"Map": []}`, "Map", "expected a map, found an array"},
		{`{"Map": {"k": "v"}}`, "Map.k", "expected an integer"},
		{`{"Nested": {"Nested": {"I": true}}}`, "Nested.Nested.I", "expected an integer, found a boolean"},
		{`{"Nested": 1}`, "Nested", "expected a structure"},
	} {
		_, err := decode(t, m, tc.body)
		if !errors.Is(err, protocol.ErrSerialization) {
			t.Errorf("%s: err %v does not wrap ErrSerialization", tc.body, err)
			continue
		}
		var de *protocol.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not a DecodeError", tc.body, err)
			continue
		}
		if de.Path() != tc.path || !strings.Contains(de.Detail(), tc.detail) {
			t.Errorf("%s: path %q detail %q; want %q, %q", tc.body, de.Path(), de.Detail(), tc.path, tc.detail)
		}
	}
}

func TestEncodeOutput(t *testing.T) {
	m := mustParse(t, testModel)
	w := httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["Op"], map[string]any{
		"S": "a\"b\\c\n\x01\u2028\xff", "I": int64(-5), "D": math.NaN(), "B": true,
		"T":    time.Date(2026, 1, 2, 3, 4, 5, 120e6, time.UTC),
		"ISO":  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"Blob": []byte("hi"), "Doc": map[string]any{"z": []any{1.5, nil, "s"}, "a": true},
		"List":    []any{map[string]any{"S": "x", "T": time.Unix(0, 0)}},
		"Map":     map[string]any{"b": int64(2), "a": int64(1), "bad": "not a number"},
		"Unknown": "dropped", "Nil": nil,
		"Bad": 1, // not in the shape
	}, "rid")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/x-amz-json-1.0" || w.Header().Get("X-Amzn-RequestId") != "rid" {
		t.Fatalf("status %d headers %v", w.Code, w.Header())
	}
	want := `{"B":true,"Blob":"aGk=","D":"NaN","Doc":{"a":true,"z":[1.5,null,"s"]},"I":-5,"ISO":"2026-01-02T03:04:05.000Z",` +
		`"List":[{"S":"x","T":0}],"Map":{"a":1,"b":2},"S":"a\"b\\c\n\u0001\u2028\ufffd","T":1767323045.12}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Error("body is not valid JSON")
	}

	for _, out := range []map[string]any{nil, {}} {
		w = httptest.NewRecorder()
		codec.EncodeOutput(w, m, m.Operations["NoIO"], out, "rid")
		if w.Body.String() != "{}" {
			t.Errorf("no output: body %q", w.Body.String())
		}
	}
}

func TestEncodeError(t *testing.T) {
	m := mustParse(t, testModel)
	w := httptest.NewRecorder()
	codec.EncodeError(w, m, &protocol.APIError{
		Code: "Err", Message: "it broke", Shape: m.Shapes["Err"], Sender: true,
		Fields: map[string]any{"Reason": "r", "When": time.Unix(5, 0), "Message": "ignored", "Extra": int64(1)},
	}, "rid")
	if w.Code != 409 {
		t.Errorf("status %d, want the shape's 409", w.Code)
	}
	h := w.Header()
	if h.Get("X-Amzn-ErrorType") != "Err" || h.Get("x-amzn-query-error") != "ErrCode;Sender" || h.Get("x-amzn-RequestId") != "rid" {
		t.Errorf("headers %v", h)
	}
	want := `{"__type":"Err","Message":"it broke","Extra":1,"Reason":"r","When":5}`
	if w.Body.String() != want {
		t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
	}

	// No model (the service was not identified), no shape.
	w = httptest.NewRecorder()
	codec.EncodeError(w, nil, &protocol.APIError{Code: "UnknownOperationException", Status: 400}, "rid")
	if w.Code != 400 || w.Header().Get("Content-Type") != "application/x-amz-json-1.1" || w.Header().Get("x-amzn-query-error") != "" {
		t.Errorf("status %d headers %v", w.Code, w.Header())
	}
	if want := `{"__type":"UnknownOperationException","message":""}`; w.Body.String() != want {
		t.Errorf("body %s, want %s", w.Body.String(), want)
	}
}

func TestQueryCompatibleCloudWatch(t *testing.T) {
	m := models.MustLoad("cloudwatch")
	w := httptest.NewRecorder()
	codec.EncodeError(w, m, &protocol.APIError{
		Code: "InvalidParameterValueException", Message: "bad", Status: 400, Sender: true,
		Shape: m.Shapes["InvalidParameterValueException"],
	}, "rid")
	if got := w.Header().Get("x-amzn-query-error"); got != "InvalidParameterValue;Sender" {
		t.Errorf("x-amzn-query-error = %q", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type = %q", got)
	}
	if want := `{"__type":"InvalidParameterValueException","message":"bad"}`; w.Body.String() != want {
		t.Errorf("body %s", w.Body.String())
	}
	w = httptest.NewRecorder()
	codec.EncodeError(w, m, &protocol.APIError{Code: "InternalServiceFault", Message: "x", Status: 500, Shape: m.Shapes["InternalServiceFault"]}, "rid")
	if got := w.Header().Get("x-amzn-query-error"); got != "InternalServiceError;Receiver" {
		t.Errorf("x-amzn-query-error = %q", got)
	}

	// boto3 sends CloudWatch PutMetricData as JSON 1.0 like this.
	body := `{"Namespace": "App", "MetricData": [{"MetricName": "Latency", "Timestamp": 1767323045.5,
	  "Dimensions": [{"Name": "Host", "Value": "a"}], "Value": 1.25, "Unit": "Milliseconds",
	  "Values": [1, 2.5], "Counts": [3, 4], "StorageResolution": 1}]}`
	tree, err := codec.DecodeInput(m, m.Operations["PutMetricData"], nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{
		"MetricName": "Latency", "Timestamp": time.Unix(1767323045, 5e8), "Value": 1.25, "Unit": "Milliseconds",
		"Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}},
		"Values":     []any{1.0, 2.5}, "Counts": []any{3.0, 4.0}, "StorageResolution": int64(1),
	}}}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s", protocoltest.Diff(want, tree))
	}
}

// TestRoundTripAllModels sends random inputs of every operation of every
// awsJson service through encode → DecodeInput.
func TestRoundTripAllModels(t *testing.T) {
	for _, svc := range []string{"ecs", "ecr", "ecr-public", "logs", "cloudwatch", "application-autoscaling",
		"servicediscovery", "secretsmanager", "ssm", "events", "cloudtrail", "kms"} {
		t.Run(svc, func(t *testing.T) {
			m := models.MustLoad(svc)
			if !m.Metadata.HasProtocol("json") {
				t.Fatalf("%s does not speak awsJson", svc)
			}
			protocoltest.RoundTrip(t, codec, m, protocoltest.EchoRequest(codec), 4, protocoltest.TreeOptions{})
		})
	}
}
