package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The parser reads the document into this small ordered tree rather than
// into Go structs, so that it can refuse duplicate keys, keep the order of
// condition operators, and tell a string from a list without reflection.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	switch k {
	case jsonNull:
		return "null"
	case jsonBool:
		return "a boolean"
	case jsonNumber:
		return "a number"
	case jsonString:
		return "a string"
	case jsonArray:
		return "a list"
	default:
		return "an object"
	}
}

type jsonValue struct {
	kind    jsonKind
	text    string // string value, number literal, or "true"/"false"
	items   []*jsonValue
	members []jsonMember
}

type jsonMember struct {
	key   string
	value *jsonValue
}

// maxJSONDepth bounds recursion. The deepest valid policy shape is
// document → Statement list → statement → Condition → operator → key →
// value list → value, seven levels below the root.
const maxJSONDepth = 8

func decodeJSON(doc string) (*jsonValue, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (*jsonValue, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := &jsonValue{kind: jsonObject}
			seen := make(map[string]struct{})
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %v", kt)
				}
				if _, dup := seen[key]; dup {
					return nil, fmt.Errorf("duplicate key %q", key)
				}
				seen[key] = struct{}{}
				val, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.members = append(v.members, jsonMember{key: key, value: val})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return v, nil
		case '[':
			v := &jsonValue{kind: jsonArray}
			for dec.More() {
				item, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return v, nil
		default:
			return nil, fmt.Errorf("unexpected %q", rune(t))
		}
	case string:
		return &jsonValue{kind: jsonString, text: t}, nil
	case json.Number:
		return &jsonValue{kind: jsonNumber, text: t.String()}, nil
	case bool:
		if t {
			return &jsonValue{kind: jsonBool, text: "true"}, nil
		}
		return &jsonValue{kind: jsonBool, text: "false"}, nil
	case nil:
		return &jsonValue{kind: jsonNull}, nil
	default:
		return nil, fmt.Errorf("unexpected token %v", tok)
	}
}
