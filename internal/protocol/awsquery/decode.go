package awsquery

import (
	"encoding/base64"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// Params returns the request's parameters: the URL query and, for a form
// POST, the body (whose values win). The edge uses it to find Action and
// Version before it knows the service.
func Params(r *http.Request, body []byte) (url.Values, error) {
	var q url.Values
	if r != nil && r.URL != nil && r.URL.RawQuery != "" {
		var err error
		if q, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return nil, err
		}
	}
	if r != nil && r.Method != "" && r.Method != http.MethodPost {
		return q, nil
	}
	if r != nil {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "" && ct != "application/x-www-form-urlencoded" {
			return q, nil
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k, v := range q {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	return form, nil
}

// node is one dotted-name component of the parameters: "Tags.member.1.Key"
// is root → Tags → member → 1 → Key. Walking the shape against this tree
// finds each member, list item and map entry with map lookups.
type node struct {
	val  string
	set  bool // a parameter ends here
	kids map[string]*node
}

func buildTree(vals url.Values) *node {
	root := &node{}
	for key, vs := range vals {
		if key == "Action" || key == "Version" || len(vs) == 0 {
			continue
		}
		n := root
		for key != "" {
			var seg string
			seg, key, _ = strings.Cut(key, ".")
			c := n.kids[seg]
			if c == nil {
				if n.kids == nil {
					n.kids = map[string]*node{}
				}
				c = &node{}
				n.kids[seg] = c
			}
			n = c
		}
		n.val, n.set = vs[0], true
	}
	return root
}

// wireName is the parameter name of a member.
func wireName(name string, ref *awsmodel.Ref) string {
	switch {
	case ref.QueryName != "":
		return ref.QueryName
	case ref.LocationName != "":
		return ref.LocationName
	}
	return name
}

func decodeStruct(s *awsmodel.Shape, n *node) (map[string]any, *protocol.DecodeError) {
	out := make(map[string]any, len(n.kids))
	if len(n.kids) == 0 {
		return out, nil
	}
	for _, name := range s.MemberNames {
		ref := s.Members[name]
		wn := wireName(name, ref)
		c := n.kids[wn]
		if c == nil {
			continue
		}
		v, err := decodeValue(ref, c)
		if err != nil {
			return nil, err.AtMember(wn)
		}
		if v != nil {
			out[name] = v
		}
	}
	return out, nil
}

// indexed returns n's children whose names are list or map positions
// (1, 2, …), in order. Other children are ignored.
func indexed(n *node) []*node {
	if n == nil || len(n.kids) == 0 {
		return nil
	}
	type item struct {
		i int
		n *node
	}
	items := make([]item, 0, len(n.kids))
	for k, c := range n.kids {
		if i, ok := position(k); ok {
			items = append(items, item{i, c})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return a.i - b.i })
	out := make([]*node, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out
}

// position parses a list or map position: 1, 2, … written plainly (no
// sign, no leading zero), so that no two names share a position.
func position(k string) (int, bool) {
	if k == "" || len(k) > 9 || k[0] == '0' {
		return 0, false
	}
	i := 0
	for j := 0; j < len(k); j++ {
		c := k[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, true
}

func flattened(ref *awsmodel.Ref) bool { return ref.Flattened || ref.Shape.Flattened }

func decodeValue(ref *awsmodel.Ref, n *node) (any, *protocol.DecodeError) {
	s := ref.Shape
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return nil, protocol.NewDecodeError("document values are not supported by the query protocol")
		}
		if n.set && n.val != "" && len(n.kids) == 0 {
			return nil, protocol.NewDecodeError("expected a structure, found a value")
		}
		return decodeStruct(s, n)
	case awsmodel.List:
		items := n
		if !flattened(ref) {
			name := "member"
			if s.Member.LocationName != "" {
				name = s.Member.LocationName
			}
			items = n.kids[name]
		}
		kids := indexed(items)
		if len(kids) == 0 {
			return emptyOrAbsent(n, "a list", []any{})
		}
		l := make([]any, 0, len(kids))
		for i, c := range kids {
			v, err := decodeValue(s.Member, c)
			if err != nil {
				return nil, err.AtIndex(i)
			}
			if v != nil {
				l = append(l, v)
			}
		}
		return l, nil
	case awsmodel.Map:
		entries := n
		if !flattened(ref) {
			entries = n.kids["entry"]
		}
		keyName, valName := "key", "value"
		if s.Key.LocationName != "" {
			keyName = s.Key.LocationName
		}
		if s.Value.LocationName != "" {
			valName = s.Value.LocationName
		}
		kids := indexed(entries)
		if len(kids) == 0 {
			return emptyOrAbsent(n, "a map", map[string]any{})
		}
		m := make(map[string]any, len(kids))
		for i, e := range kids {
			k := e.kids[keyName]
			if k == nil || !k.set {
				return nil, protocol.NewDecodeError("map entry %d has no %s", i+1, keyName)
			}
			vn := e.kids[valName]
			if vn == nil {
				continue
			}
			v, err := decodeValue(s.Value, vn)
			if err != nil {
				return nil, err.AtMember(k.val)
			}
			if v != nil {
				m[k.val] = v
			}
		}
		return m, nil
	}
	if !n.set {
		return nil, protocol.NewDecodeError("expected a value, found sub-parameters")
	}
	return decodeScalar(s, n.val)
}

// emptyOrAbsent handles a list or map parameter with no items: "Name="
// is an empty container (that is how clients send one), "Name=x" is an
// error, and only unrelated sub-parameters leave it absent.
func emptyOrAbsent(n *node, what string, empty any) (any, *protocol.DecodeError) {
	switch {
	case n.set && n.val == "":
		return empty, nil
	case n.set:
		return nil, protocol.NewDecodeError("expected %s, found a value", what)
	}
	return nil, nil
}

func decodeScalar(s *awsmodel.Shape, v string) (any, *protocol.DecodeError) {
	switch s.Type {
	case awsmodel.String:
		return v, nil
	case awsmodel.Boolean:
		switch {
		case strings.EqualFold(v, "true"):
			return true, nil
		case strings.EqualFold(v, "false"):
			return false, nil
		}
		return nil, protocol.NewDecodeError("expected true or false, found %q", v)
	case awsmodel.Integer, awsmodel.Long:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, protocol.NewDecodeError("%s is out of range", v)
			}
			return nil, protocol.NewDecodeError("expected an integer, found %q", v)
		}
		if s.Type == awsmodel.Integer && (n < math.MinInt32 || n > math.MaxInt32) {
			return nil, protocol.NewDecodeError("%s is out of range for an integer", v)
		}
		return n, nil
	case awsmodel.Float, awsmodel.Double:
		switch v {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, protocol.NewDecodeError("expected a number, found %q", v)
		}
		if s.Type == awsmodel.Float && math.Abs(f) > math.MaxFloat32 {
			return nil, protocol.NewDecodeError("%s is out of range for a float", v)
		}
		return f, nil
	case awsmodel.Timestamp:
		t, ok := protocol.ParseTimestamp(v)
		if !ok {
			return nil, protocol.NewDecodeError("cannot parse timestamp %q", v)
		}
		return t, nil
	case awsmodel.Blob:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "=")); err != nil {
				return nil, protocol.NewDecodeError("invalid base64 data")
			}
		}
		return b, nil
	}
	return nil, protocol.NewDecodeError("unsupported shape type %q", s.Type)
}
