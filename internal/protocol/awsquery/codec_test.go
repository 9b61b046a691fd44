package awsquery_test

import (
	"encoding/xml"
	"errors"
	"io"
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

// testModel exercises every query serialization rule, including the
// traits (flattened, locationName, queryName) the AWS models here do not use.
const testModel = `{
 "metadata": {"protocol": "query", "xmlNamespace": "https://example.com/doc/2020-01-01/", "apiVersion": "2020-01-01"},
 "operations": {
  "Op": {"name": "Op", "input": {"shape": "In"}, "output": {"shape": "Out", "resultWrapper": "OpResult"}},
  "NoOut": {"name": "NoOut", "input": {"shape": "In"}},
  "Unwrapped": {"name": "Unwrapped", "output": {"shape": "Out"}}
 },
 "shapes": {
  "In": {"type": "structure", "members": {
   "S": {"shape": "Str"}, "I": {"shape": "Int"}, "L": {"shape": "Long"}, "D": {"shape": "Double"},
   "B": {"shape": "Bool"}, "T": {"shape": "Time"}, "Blob": {"shape": "Blob"},
   "List": {"shape": "StrList"}, "Flat": {"shape": "FlatList"}, "Named": {"shape": "NamedList"},
   "Map": {"shape": "Map"}, "FlatMap": {"shape": "FlatMap"}, "Structs": {"shape": "StructList"},
   "Renamed": {"shape": "Str", "locationName": "OtherName"}, "Q": {"shape": "Str", "queryName": "QName"},
   "Nested": {"shape": "In"}
  }},
  "Out": {"type": "structure", "members": {
   "S": {"shape": "Str"}, "I": {"shape": "Int"}, "D": {"shape": "Double"}, "B": {"shape": "Bool"},
   "T": {"shape": "Time"}, "Epoch": {"shape": "EpochTime"}, "Blob": {"shape": "Blob"},
   "List": {"shape": "StrList"}, "Flat": {"shape": "FlatList"}, "Named": {"shape": "NamedList"},
   "Map": {"shape": "Map"}, "FlatMap": {"shape": "FlatMap"}, "Renamed": {"shape": "Str", "locationName": "OtherName"},
   "Structs": {"shape": "StructList"}
  }},
  "Err": {"type": "structure", "exception": true, "error": {"code": "Conflict", "httpStatusCode": 409, "senderFault": true},
   "members": {"message": {"shape": "Str"}, "Reason": {"shape": "Str"}, "Names": {"shape": "StrList"}}},
  "Str": {"type": "string"}, "Int": {"type": "integer"}, "Long": {"type": "long"}, "Double": {"type": "double"},
  "Bool": {"type": "boolean"}, "Time": {"type": "timestamp"}, "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
  "Blob": {"type": "blob"},
  "StrList": {"type": "list", "member": {"shape": "Str"}},
  "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": true},
  "NamedList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
  "StructList": {"type": "list", "member": {"shape": "Pair"}},
  "Pair": {"type": "structure", "members": {"Key": {"shape": "Str"}, "Value": {"shape": "Str"}}},
  "Map": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Long"}},
  "FlatMap": {"type": "map", "key": {"shape": "Str", "locationName": "Name"}, "value": {"shape": "Pair", "locationName": "Val"}, "flattened": true}
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

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

func TestDecodeRules(t *testing.T) {
	m := mustParse(t, testModel)
	body := "Action=Op&Version=2020-01-01&S=a%2Bb+c&I=-7&L=9007199254740993&D=1.5&B=TRUE" +
		"&T=2026-01-02T03%3A04%3A05.123Z&Blob=aGk%3D" +
		"&List.member.2=second&List.member.1=first&List.member.10=tenth" +
		"&Flat.1=f1&Flat.2=f2&Named.item.1=n1" +
		"&Map.entry.1.key=a&Map.entry.1.value=1&Map.entry.2.key=b&Map.entry.2.value=2" +
		"&FlatMap.1.Name=x&FlatMap.1.Val.Key=k&FlatMap.1.Val.Value=v" +
		"&Structs.member.1.Key=k1&Structs.member.1.Value=v1&Structs.member.2.Key=k2" +
		"&OtherName=renamed&QName=q&Nested.Nested.S=deep&Unknown=1&Nested.Unknown.x=2"
	tree, err := codec.DecodeInput(m, m.Operations["Op"], post(body), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"S": "a+b c", "I": int64(-7), "L": int64(9007199254740993), "D": 1.5, "B": true,
		"T": time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC), "Blob": []byte("hi"),
		"List":    []any{"first", "second", "tenth"},
		"Flat":    []any{"f1", "f2"},
		"Named":   []any{"n1"},
		"Map":     map[string]any{"a": int64(1), "b": int64(2)},
		"FlatMap": map[string]any{"x": map[string]any{"Key": "k", "Value": "v"}},
		"Structs": []any{map[string]any{"Key": "k1", "Value": "v1"}, map[string]any{"Key": "k2"}},
		"Renamed": "renamed", "Q": "q",
		"Nested": map[string]any{"Nested": map[string]any{"S": "deep"}},
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s", protocoltest.Diff(want, tree))
	}

	// GET with a query string; empty containers; epoch timestamps.
	r := httptest.NewRequest(http.MethodGet, "/?Action=Op&List=&Map=&Flat=&T=1700000000.5&D=NaN&S=", nil)
	tree, err = codec.DecodeInput(m, m.Operations["Op"], r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"List": []any{}, "Map": map[string]any{}, "Flat": []any{}, "T": time.Unix(1700000000, 5e8), "D": math.NaN(), "S": ""}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("GET tree differs: %s", protocoltest.Diff(want, tree))
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
		{"S=%zz", "", "malformed query string"},
		{"I=abc", "I", "expected an integer"},
		{"I=2147483648", "I", "out of range"},
		{"L=99999999999999999999", "L", "out of range"},
		{"I=", "I", "expected an integer"},
		{"D=1e999", "D", "expected a number"},
		{"B=yes", "B", "expected true or false"},
		{"T=yesterday", "T", "cannot parse timestamp"},
		{"Blob=%21%21", "Blob", "base64"},
		{"List=x", "List", "expected a list"},
		{"Map=x", "Map", "expected a map"},
		{"Map.entry.1.value=1", "Map", "has no key"},
		{"Map.entry.1.key=a&Map.entry.1.value=x", "Map.a", "expected an integer"},
		{"Structs.member.1=x", "Structs[0]", "expected a structure"},
		{"S.x=1", "S", "found sub-parameters"},
		{"Nested.Structs.member.1.Key.x=1", "Nested.Structs[0].Key", "found sub-parameters"},
	} {
		_, err := codec.DecodeInput(m, m.Operations["Op"], post(tc.body), []byte(tc.body))
		var de *protocol.DecodeError
		if !errors.Is(err, protocol.ErrSerialization) || !errors.As(err, &de) {
			t.Errorf("%s: err %v", tc.body, err)
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
		"S": "<a & 'b'>\r\n\x00", "I": int64(3), "D": 0.1, "B": false,
		"T":     time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
		"Epoch": time.Unix(1700000000, 250e6),
		"Blob":  []byte("hi"),
		"List":  []any{"a", "b"}, "Flat": []any{"f1", "f2"}, "Named": []any{"n"},
		"Map":     map[string]any{"b": int64(2), "a": int64(1)},
		"FlatMap": map[string]any{"x": map[string]any{"Key": "k"}},
		"Renamed": "r",
		"Structs": []any{map[string]any{"Key": "k", "Value": 5}}, // Value mistyped: left out
		"Unknown": "dropped",
	}, "rid")
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/xml" || w.Header().Get("X-Amzn-RequestId") != "rid" {
		t.Fatalf("status %d headers %v", w.Code, w.Header())
	}
	want := `<OpResponse xmlns="https://example.com/doc/2020-01-01/"><OpResult>` +
		`<B>false</B><Blob>aGk=</Blob><D>0.1</D><Epoch>1700000000.25</Epoch>` +
		`<Flat>f1</Flat><Flat>f2</Flat><FlatMap><Name>x</Name><Val><Key>k</Key></Val></FlatMap><I>3</I>` +
		`<List><member>a</member><member>b</member></List>` +
		`<Map><entry><key>a</key><value>1</value></entry><entry><key>b</key><value>2</value></entry></Map>` +
		`<Named><item>n</item></Named><OtherName>r</OtherName><S>&lt;a &amp; &apos;b&apos;&gt;&#xD;` + "\n\uFFFD" + `</S>` +
		`<Structs><member><Key>k</Key></member></Structs><T>2026-01-02T02:04:05.000Z</T>` +
		`</OpResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></OpResponse>`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	wellFormed(t, w.Body.String())

	w = httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["NoOut"], nil, "rid")
	if want := `<NoOutResponse xmlns="https://example.com/doc/2020-01-01/"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></NoOutResponse>`; w.Body.String() != want {
		t.Errorf("no output: %s", w.Body.String())
	}
	w = httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["Unwrapped"], nil, "rid")
	if !strings.Contains(w.Body.String(), "<UnwrappedResult></UnwrappedResult>") {
		t.Errorf("default result wrapper: %s", w.Body.String())
	}
}

func TestEncodeError(t *testing.T) {
	m := mustParse(t, testModel)
	w := httptest.NewRecorder()
	codec.EncodeError(w, m, &protocol.APIError{
		Code: "Conflict", Message: "a < b", Shape: m.Shapes["Err"],
		Fields: map[string]any{"Reason": "r", "Names": []any{"x"}, "message": "dup", "Extra": int64(2)},
	}, "rid")
	if w.Code != 409 || w.Header().Get("Content-Type") != "text/xml" || w.Header().Get("X-Amzn-RequestId") != "rid" {
		t.Errorf("status %d headers %v", w.Code, w.Header())
	}
	want := `<ErrorResponse xmlns="https://example.com/doc/2020-01-01/"><Error><Type>Sender</Type><Code>Conflict</Code>` +
		`<Message>a &lt; b</Message><Extra>2</Extra><Names><member>x</member></Names><Reason>r</Reason></Error>` +
		`<RequestId>rid</RequestId></ErrorResponse>`
	if w.Body.String() != want {
		t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
	}
	wellFormed(t, w.Body.String())

	w = httptest.NewRecorder()
	codec.EncodeError(w, nil, &protocol.APIError{Code: "InternalFailure", Message: "x"}, "rid")
	if w.Code != 500 || !strings.HasPrefix(w.Body.String(), "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>") {
		t.Errorf("status %d body %s", w.Code, w.Body.String())
	}
	// A shape alone gives the model's query code.
	im := models.MustLoad("iam")
	w = httptest.NewRecorder()
	codec.EncodeError(w, im, &protocol.APIError{Shape: im.Shapes["NoSuchEntityException"], Message: "x"}, "rid")
	if w.Code != 404 || !strings.Contains(w.Body.String(), "<Code>NoSuchEntity</Code>") || !strings.Contains(w.Body.String(), "<Type>Sender</Type>") {
		t.Errorf("status %d body %s", w.Code, w.Body.String())
	}
}

func TestCloudWatchOverQuery(t *testing.T) {
	// What the aws CLI v2 sends for `aws cloudwatch put-metric-data`.
	m := models.MustLoad("cloudwatch")
	body := "Action=PutMetricData&Version=2010-08-01&Namespace=App" +
		"&MetricData.member.1.MetricName=Latency&MetricData.member.1.Timestamp=2026-01-02T03%3A04%3A05Z" +
		"&MetricData.member.1.Value=1.25&MetricData.member.1.Unit=Milliseconds" +
		"&MetricData.member.1.Dimensions.member.1.Name=Host&MetricData.member.1.Dimensions.member.1.Value=a"
	tree, err := codec.DecodeInput(m, m.Operations["PutMetricData"], post(body), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{
		"MetricName": "Latency", "Timestamp": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "Value": 1.25,
		"Unit": "Milliseconds", "Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}},
	}}}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s", protocoltest.Diff(want, tree))
	}
	w := httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["GetMetricStatistics"], map[string]any{
		"Label": "Latency", "Datapoints": []any{map[string]any{"Timestamp": time.Unix(1767323040, 0), "Average": 1.5, "Unit": "Milliseconds"}},
	}, "rid")
	want2 := `<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult>` +
		`<Datapoints><member><Average>1.5</Average><Timestamp>2026-01-02T03:04:00.000Z</Timestamp><Unit>Milliseconds</Unit></member></Datapoints>` +
		`<Label>Latency</Label></GetMetricStatisticsResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetMetricStatisticsResponse>`
	if w.Body.String() != want2 {
		t.Errorf("body\n got %s\nwant %s", w.Body.String(), want2)
	}
}

func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
	}
}

// TestRoundTripAllModels sends random inputs of every operation of every
// awsQuery service through the query serialization rules → DecodeInput.
func TestRoundTripAllModels(t *testing.T) {
	for _, svc := range []string{"iam", "sts", "elbv2", "cloudwatch"} {
		t.Run(svc, func(t *testing.T) {
			m := models.MustLoad(svc)
			protocoltest.RoundTrip(t, codec, m, protocoltest.QueryRequest, 4, protocoltest.TreeOptions{NoDocuments: true})
		})
	}
	t.Run("rules", func(t *testing.T) {
		protocoltest.RoundTrip(t, codec, mustParse(t, testModel), protocoltest.QueryRequest, 200, protocoltest.TreeOptions{NoDocuments: true})
	})
}

func TestPositionsAreCanonical(t *testing.T) {
	m := mustParse(t, testModel)
	body := "List.member.1=a&List.member.01=b&List.member.%2B1=c&List.member.x=d&List.member.2=e"
	tree, err := codec.DecodeInput(m, m.Operations["Op"], post(body), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{"a", "e"}; !protocoltest.Equal(want, tree["List"]) {
		t.Errorf("List = %v, want %v", tree["List"], want)
	}
}
