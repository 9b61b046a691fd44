// Package awsmodel loads the AWS service models (botocore's service-2.json,
// kept in api/models) into Go values. The edge's codecs and validator and the
// code generator are all driven by these values: the model is the single
// source of truth for names, types, constraints and wire protocol details.
package awsmodel

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"
)

// Model is one service API version.
type Model struct {
	Metadata   Metadata
	Operations map[string]*Operation
	Shapes     map[string]*Shape
}

// Metadata is the model's "metadata" object.
type Metadata struct {
	APIVersion         string    `json:"apiVersion"`
	EndpointPrefix     string    `json:"endpointPrefix"`
	JSONVersion        string    `json:"jsonVersion"`
	Protocol           string    `json:"protocol"`
	Protocols          []string  `json:"protocols"`
	ServiceID          string    `json:"serviceId"`
	ServiceFullName    string    `json:"serviceFullName"`
	SigningName        string    `json:"signingName"`
	TargetPrefix       string    `json:"targetPrefix"`
	XMLNamespace       string    `json:"xmlNamespace"`
	UID                string    `json:"uid"`
	AWSQueryCompatible *struct{} `json:"awsQueryCompatible"`
}

// SigningService is the SigV4 service name clients sign with.
func (m Metadata) SigningService() string {
	if m.SigningName != "" {
		return m.SigningName
	}
	return m.EndpointPrefix
}

// HasProtocol reports whether the service is served over protocol p
// ("json", "query", "smithy-rpc-v2-cbor", "rest-json").
func (m Metadata) HasProtocol(p string) bool {
	if m.Protocol == p {
		return true
	}
	for _, q := range m.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// Operation is one API operation.
type Operation struct {
	Name   string
	HTTP   HTTP
	Input  *Ref // nil when the operation takes no input
	Output *Ref // nil when it returns nothing
	Errors []*Ref
}

// HTTP is an operation's HTTP binding (used by rest protocols only).
type HTTP struct {
	Method       string `json:"method"`
	RequestURI   string `json:"requestUri"`
	ResponseCode int    `json:"responseCode"`
}

// Ref is a reference to a shape: an operation's input/output or a member,
// list element or map key/value, with the traits the reference carries.
type Ref struct {
	ShapeName     string `json:"shape"`
	Shape         *Shape `json:"-"`
	LocationName  string `json:"locationName"`
	Location      string `json:"location"`
	QueryName     string `json:"queryName"`
	ResultWrapper string `json:"resultWrapper"`
	XMLNamespace  *struct {
		URI string `json:"uri"`
	} `json:"xmlNamespace"`
	Flattened        bool   `json:"flattened"`
	IdempotencyToken bool   `json:"idempotencyToken"`
	JSONValue        bool   `json:"jsonvalue"`
	TimestampFormat  string `json:"timestampFormat"`
	Deprecated       bool   `json:"deprecated"`
}

// Shape types.
const (
	Structure = "structure"
	List      = "list"
	Map       = "map"
	String    = "string"
	Integer   = "integer"
	Long      = "long"
	Float     = "float"
	Double    = "double"
	Boolean   = "boolean"
	Timestamp = "timestamp"
	Blob      = "blob"
)

// Shape is one named shape.
type Shape struct {
	Name string `json:"-"`
	Type string `json:"type"`

	// structure
	Members     map[string]*Ref `json:"members"`
	MemberNames []string        `json:"-"` // sorted
	Required    []string        `json:"required"`
	Union       bool            `json:"union"`
	Document    bool            `json:"document"`

	// list
	Member *Ref `json:"member"`
	// map
	Key   *Ref `json:"key"`
	Value *Ref `json:"value"`

	// constraints
	Min     *float64 `json:"min"`
	Max     *float64 `json:"max"`
	Enum    []string `json:"enum"`
	Pattern string   `json:"pattern"`

	Sensitive       bool   `json:"sensitive"`
	TimestampFormat string `json:"timestampFormat"`
	Flattened       bool   `json:"flattened"`
	LocationName    string `json:"locationName"`

	// errors
	Exception bool       `json:"exception"`
	Fault     bool       `json:"fault"`
	Error     *ErrorInfo `json:"error"`

	required map[string]bool
	reOnce   sync.Once
	re       *regexp.Regexp
}

// ErrorInfo is an error shape's wire code and status.
type ErrorInfo struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

// IsRequired reports whether member is required in a structure shape.
func (s *Shape) IsRequired(member string) bool { return s.required[member] }

// Regexp returns the compiled pattern, or nil when the shape has none or the
// pattern is not valid RE2 (a few AWS patterns use Java-only syntax; those
// are not enforced). The pattern must match the whole value, as AWS's
// services (Java's Pattern.matches) apply it: IAM's user name pattern
// "[\w+=,.@-]+" has no anchors yet refuses "bad name!".
func (s *Shape) Regexp() *regexp.Regexp {
	if s.Pattern == "" {
		return nil
	}
	s.reOnce.Do(func() {
		s.re, _ = regexp.Compile(`^(?:` + javaToRE2(s.Pattern) + `)$`)
	})
	return s.re
}

var (
	javaSurrogates = regexp.MustCompile(`\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})`)
	javaEscapes    = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)
)

// javaToRE2 rewrites the Java regular-expression escapes AWS models use
// into RE2: \uXXXX becomes \x{XXXX}, and a UTF-16 surrogate pair
// (\uD800\uDC00) the code point it encodes.
func javaToRE2(p string) string {
	p = javaSurrogates.ReplaceAllStringFunc(p, func(m string) string {
		sub := javaSurrogates.FindStringSubmatch(m)
		hi, _ := strconv.ParseUint(sub[1], 16, 32)
		lo, _ := strconv.ParseUint(sub[2], 16, 32)
		return fmt.Sprintf(`\x{%X}`, 0x10000+(hi-0xD800)<<10+(lo-0xDC00))
	})
	return javaEscapes.ReplaceAllString(p, `\x{$1}`)
}

// ErrorCode is the code an error shape is known by on the wire: the model's
// error.code when present (awsQuery services), else the shape name.
func (s *Shape) ErrorCode() string {
	if s.Error != nil && s.Error.Code != "" {
		return s.Error.Code
	}
	return s.Name
}

// HTTPStatus is an error shape's status: the model's, else 400 for client
// errors and 500 for faults.
func (s *Shape) HTTPStatus() int {
	if s.Error != nil && s.Error.HTTPStatusCode != 0 {
		return s.Error.HTTPStatusCode
	}
	if s.Fault {
		return 500
	}
	return 400
}

type rawModel struct {
	Metadata   Metadata                   `json:"metadata"`
	Operations map[string]json.RawMessage `json:"operations"`
	Shapes     map[string]*Shape          `json:"shapes"`
}

type rawOperation struct {
	Name   string `json:"name"`
	HTTP   HTTP   `json:"http"`
	Input  *Ref   `json:"input"`
	Output *Ref   `json:"output"`
	Errors []*Ref `json:"errors"`
}

// Parse reads a botocore service-2.json document and resolves every shape
// reference.
func Parse(data []byte) (*Model, error) {
	var raw rawModel
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("awsmodel: %w", err)
	}
	m := &Model{Metadata: raw.Metadata, Shapes: raw.Shapes, Operations: map[string]*Operation{}}
	resolve := func(r *Ref, where string) error {
		if r == nil {
			return nil
		}
		s, ok := m.Shapes[r.ShapeName]
		if !ok {
			return fmt.Errorf("awsmodel: %s refers to unknown shape %q", where, r.ShapeName)
		}
		r.Shape = s
		return nil
	}
	for name, s := range m.Shapes {
		s.Name = name
		s.required = map[string]bool{}
		for _, r := range s.Required {
			s.required[r] = true
		}
		for mn, r := range s.Members {
			s.MemberNames = append(s.MemberNames, mn)
			if err := resolve(r, name+"."+mn); err != nil {
				return nil, err
			}
		}
		sort.Strings(s.MemberNames)
		for _, r := range []*Ref{s.Member, s.Key, s.Value} {
			if err := resolve(r, name); err != nil {
				return nil, err
			}
		}
	}
	for name, rawOp := range raw.Operations {
		var ro rawOperation
		if err := json.Unmarshal(rawOp, &ro); err != nil {
			return nil, fmt.Errorf("awsmodel: operation %s: %w", name, err)
		}
		op := &Operation{Name: name, HTTP: ro.HTTP, Input: ro.Input, Output: ro.Output, Errors: ro.Errors}
		for _, r := range append([]*Ref{op.Input, op.Output}, op.Errors...) {
			if err := resolve(r, "operation "+name); err != nil {
				return nil, err
			}
		}
		m.Operations[name] = op
	}
	return m, nil
}

// OperationNames returns the operation names, sorted.
func (m *Model) OperationNames() []string {
	names := make([]string, 0, len(m.Operations))
	for n := range m.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
