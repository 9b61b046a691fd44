package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MarshalJSON writes the document in a canonical form: elements in a fixed
// order, one-element lists as plain strings, condition values as strings,
// empty Version, Id and Sid left out. Parse reads the output back to an
// equal Document.
func (d Document) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(&b, name)
		b.WriteByte(':')
	}
	if d.Version != "" {
		field("Version")
		writeString(&b, d.Version)
	}
	if d.ID != "" {
		field("Id")
		writeString(&b, d.ID)
	}
	field("Statement")
	b.WriteByte('[')
	for i := range d.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := d.Statements[i].marshal(&b); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// UnmarshalJSON parses a policy document with Parse.
func (d *Document) UnmarshalJSON(data []byte) error {
	parsed, err := Parse(string(data))
	if err != nil {
		return err
	}
	*d = *parsed
	return nil
}

// Marshal is MarshalJSON as a string.
func (d *Document) Marshal() (string, error) {
	b, err := d.MarshalJSON()
	return string(b), err
}

func (s *Statement) marshal(b *bytes.Buffer) error {
	b.WriteByte('{')
	first := true
	field := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, name)
		b.WriteByte(':')
	}
	if s.Sid != "" {
		field("Sid")
		writeString(b, s.Sid)
	}
	field("Effect")
	writeString(b, string(s.Effect))
	for _, p := range []struct {
		name string
		v    *Principals
	}{{"Principal", s.Principal}, {"NotPrincipal", s.NotPrincipal}} {
		if p.v != nil {
			field(p.name)
			p.v.marshal(b)
		}
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if l.v != nil {
			field(l.name)
			writeList(b, l.v)
		}
	}
	if len(s.Condition) > 0 {
		field("Condition")
		return marshalCondition(b, s.Condition)
	}
	b.WriteByte('}')
	return nil
}

func (p *Principals) marshal(b *bytes.Buffer) {
	if p.All {
		writeString(b, "*")
		return
	}
	b.WriteByte('{')
	first := true
	for _, l := range []struct {
		name string
		v    []string
	}{{"AWS", p.AWS}, {"CanonicalUser", p.CanonicalUser}, {"Federated", p.Federated}, {"Service", p.Service}} {
		if l.v == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, l.name)
		b.WriteByte(':')
		writeList(b, l.v)
	}
	b.WriteByte('}')
}

// marshalCondition groups the pairs by operator in order of first
// appearance, and closes the statement object.
func marshalCondition(b *bytes.Buffer, conds []Condition) error {
	var ops []string
	byOp := make(map[string][]Condition)
	for _, c := range conds {
		if _, ok := byOp[c.Operator]; !ok {
			ops = append(ops, c.Operator)
		}
		for _, prev := range byOp[c.Operator] {
			if prev.Key == c.Key {
				return fmt.Errorf("condition %s has key %s twice", c.Operator, c.Key)
			}
		}
		byOp[c.Operator] = append(byOp[c.Operator], c)
	}
	b.WriteByte('{')
	for i, op := range ops {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, op)
		b.WriteString(":{")
		for j, c := range byOp[op] {
			if j > 0 {
				b.WriteByte(',')
			}
			writeString(b, c.Key)
			b.WriteByte(':')
			writeList(b, c.Values)
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return nil
}

func writeList(b *bytes.Buffer, list []string) {
	if len(list) == 1 {
		writeString(b, list[0])
		return
	}
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}
