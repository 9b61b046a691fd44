package wire

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/awsmodel"
)

// Violation is one broken model constraint in a request.
type Violation struct {
	Path       string // member path as AWS prints it: "containerDefinitions.1.member.name"
	Value      any    // the offending value; nil for a missing required member
	Constraint string // "Member must not be null", …
}

// ValidationError is a request that breaks the model's constraints. Its
// message has the form AWS services use:
//
//	2 validation errors detected: Value null at 'userName' failed to satisfy
//	constraint: Member must not be null; Value 'x y' at …
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	n := len(e.Violations)
	if n == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", n)
	}
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "Value %s at '%s' failed to satisfy constraint: %s", formatValue(v.Value), v.Path, v.Constraint)
	}
	return b.String()
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + x + "'"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return "'[" + strings.Join(parts, ", ") + "]'"
	case map[string]any:
		return "'{…}'"
	case time.Time:
		return "'" + x.UTC().Format(time.RFC3339) + "'"
	default:
		return fmt.Sprintf("'%v'", x)
	}
}

// Validate checks tree against the constraints of shape: required members,
// length and range limits, enums and patterns. It returns nil or a
// *ValidationError listing every violation (sorted by path).
func Validate(shape *awsmodel.Shape, tree map[string]any) error {
	var vs []Violation
	validateStruct(shape, tree, "", &vs)
	if len(vs) == 0 {
		return nil
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Path < vs[j].Path })
	return &ValidationError{Violations: vs}
}

func memberPath(prefix, name string) string {
	// AWS prints member names with a lower-case first letter.
	if name != "" {
		r, size := utf8.DecodeRuneInString(name)
		name = strings.ToLower(string(r)) + name[size:]
	}
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func validateStruct(s *awsmodel.Shape, m map[string]any, path string, vs *[]Violation) {
	for _, name := range s.MemberNames {
		ref := s.Members[name]
		v, ok := m[name]
		p := memberPath(path, name)
		if !ok || v == nil {
			if s.IsRequired(name) {
				*vs = append(*vs, Violation{Path: p, Constraint: "Member must not be null"})
			}
			continue
		}
		validateValue(ref.Shape, v, p, vs)
	}
}

func validateValue(s *awsmodel.Shape, v any, path string, vs *[]Violation) {
	add := func(c string) { *vs = append(*vs, Violation{Path: path, Value: v, Constraint: c}) }
	switch s.Type {
	case awsmodel.Structure:
		if m, ok := v.(map[string]any); ok && !s.Document {
			validateStruct(s, m, path, vs)
		}
	case awsmodel.List:
		l, _ := v.([]any)
		checkLength(s, len(l), add)
		for i, e := range l {
			if e != nil {
				validateValue(s.Member.Shape, e, fmt.Sprintf("%s.%d.member", path, i+1), vs)
			}
		}
	case awsmodel.Map:
		m, _ := v.(map[string]any)
		checkLength(s, len(m), add)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			validateValue(s.Key.Shape, k, path+".key", vs)
			if e := m[k]; e != nil {
				validateValue(s.Value.Shape, e, path+".value", vs)
			}
		}
	case awsmodel.String:
		str, _ := v.(string)
		checkLength(s, utf8.RuneCountInString(str), add)
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			add("Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]")
		}
		if re := s.Regexp(); re != nil && !re.MatchString(str) {
			add("Member must satisfy regular expression pattern: " + s.Pattern)
		}
	case awsmodel.Blob:
		b, _ := v.([]byte)
		checkLength(s, len(b), add)
	case awsmodel.Integer, awsmodel.Long, awsmodel.Float, awsmodel.Double:
		var f float64
		switch n := v.(type) {
		case int64:
			f = float64(n)
		case float64:
			f = n
		}
		if s.Min != nil && f < *s.Min {
			add(fmt.Sprintf("Member must have value greater than or equal to %v", *s.Min))
		}
		if s.Max != nil && f > *s.Max {
			add(fmt.Sprintf("Member must have value less than or equal to %v", *s.Max))
		}
	}
}

func checkLength(s *awsmodel.Shape, n int, add func(string)) {
	if s.Min != nil && float64(n) < *s.Min {
		add(fmt.Sprintf("Member must have length greater than or equal to %v", *s.Min))
	}
	if s.Max != nil && float64(n) > *s.Max {
		add(fmt.Sprintf("Member must have length less than or equal to %v", *s.Max))
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
