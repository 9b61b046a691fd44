package protocoltest

import (
	"encoding/base64"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/awsmodel"
)

// QueryRequest is the EncodeRequest of awsQuery: a form POST with Action,
// Version and the tree flattened by the query serialization rules (lists as
// Name.member.N, maps as Name.entry.N.key/value, "Name=" for an empty list,
// map or structure), written independently of the codec so it can check it.
func QueryRequest(m *awsmodel.Model, op *awsmodel.Operation, tree map[string]any) (*http.Request, []byte) {
	vals := url.Values{"Action": {op.Name}, "Version": {m.Metadata.APIVersion}}
	if op.Input != nil {
		encodeStruct(vals, "", op.Input.Shape, tree)
	}
	body := vals.Encode()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r, []byte(body)
}

func encodeStruct(vals url.Values, prefix string, s *awsmodel.Shape, m map[string]any) {
	if len(m) == 0 && prefix != "" {
		vals.Set(prefix[:len(prefix)-1], "")
	}
	for name, v := range m {
		ref := s.Members[name]
		key := name
		switch {
		case ref.QueryName != "":
			key = ref.QueryName
		case ref.LocationName != "":
			key = ref.LocationName
		}
		encodeValue(vals, prefix+key, ref, v)
	}
}

func encodeValue(vals url.Values, key string, ref *awsmodel.Ref, v any) {
	s := ref.Shape
	switch x := v.(type) {
	case map[string]any:
		if s.Type == awsmodel.Structure {
			encodeStruct(vals, key+".", s, x)
			return
		}
		if len(x) == 0 {
			vals.Set(key, "")
			return
		}
		entries := key + ".entry."
		if s.Flattened {
			entries = key + "."
		}
		keyName, valName := "key", "value"
		if s.Key.LocationName != "" {
			keyName = s.Key.LocationName
		}
		if s.Value.LocationName != "" {
			valName = s.Value.LocationName
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			p := entries + strconv.Itoa(i+1) + "."
			vals.Set(p+keyName, k)
			encodeValue(vals, p+valName, s.Value, x[k])
		}
	case []any:
		if len(x) == 0 {
			vals.Set(key, "")
			return
		}
		items := key + ".member."
		if s.Member.LocationName != "" {
			items = key + "." + s.Member.LocationName + "."
		}
		if s.Flattened {
			items = key + "."
		}
		for i, e := range x {
			encodeValue(vals, items+strconv.Itoa(i+1), s.Member, e)
		}
	case string:
		vals.Set(key, x)
	case bool:
		vals.Set(key, strconv.FormatBool(x))
	case int64:
		vals.Set(key, strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			vals.Set(key, "NaN")
		case math.IsInf(x, 1):
			vals.Set(key, "Infinity")
		case math.IsInf(x, -1):
			vals.Set(key, "-Infinity")
		default:
			vals.Set(key, strconv.FormatFloat(x, 'g', -1, 64))
		}
	case time.Time:
		vals.Set(key, x.UTC().Format("2006-01-02T15:04:05.000Z"))
	case []byte:
		vals.Set(key, base64.StdEncoding.EncodeToString(x))
	}
}
