package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxDocumentBytes bounds the raw text Parse will read. It is well above
// every IAM quota (the largest, for role inline policies, is 10,240
// characters) and is there to bound the work an untrusted caller can cause.
const MaxDocumentBytes = 128 << 10

// Parse parses a policy document and checks the rules every IAM policy
// kind shares. Use ValidateIdentityPolicy or ValidateTrustPolicy for the
// rules of one kind and its size quota.
func Parse(doc string) (*Document, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, &SizeError{Size: len(doc), Limit: MaxDocumentBytes}
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, syntaxErr(0, "invalid JSON: %v", err)
	}
	if root.kind != jsonObject {
		return nil, syntaxErr(0, "the document is %s, not an object", root.kind)
	}
	d := &Document{}
	var stmts *jsonValue
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if m.value.kind != jsonString {
				return nil, syntaxErr(0, "Version is %s, not a string", m.value.kind)
			}
			if m.value.text != Version2012 && m.value.text != Version2008 {
				return nil, syntaxErr(0, "Version %q is not %s or %s", m.value.text, Version2012, Version2008)
			}
			d.Version = m.value.text
		case "Id":
			if m.value.kind != jsonString {
				return nil, syntaxErr(0, "Id is %s, not a string", m.value.kind)
			}
			d.ID = m.value.text
		case "Statement":
			stmts = m.value
		default:
			return nil, syntaxErr(0, "unknown field %s", m.key)
		}
	}
	if stmts == nil {
		return nil, syntaxErr(0, "missing required field Statement")
	}
	var list []*jsonValue
	switch stmts.kind {
	case jsonObject:
		list = []*jsonValue{stmts}
	case jsonArray:
		list = stmts.items
	default:
		return nil, syntaxErr(0, "Statement is %s, not an object or a list", stmts.kind)
	}
	if len(list) == 0 {
		return nil, syntaxErr(0, "Statement is an empty list")
	}
	d.Statements = make([]Statement, len(list))
	// Pass 1: shape and types, IAM's "Syntax errors in policy.".
	for i, v := range list {
		if err := parseStatement(v, i+1, &d.Statements[i]); err != nil {
			return nil, err
		}
	}
	// Pass 2: the values, in roughly the order IAM reports them.
	checks := []func(*Statement, int) *ParseError{
		checkLegacy, checkActionsPresent, checkResources, checkActions, checkPrincipals, checkConditions,
	}
	for _, check := range checks {
		for i := range d.Statements {
			if err := check(&d.Statements[i], i+1); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

func parseStatement(v *jsonValue, n int, st *Statement) *ParseError {
	if v.kind != jsonObject {
		return syntaxErr(n, "statement %d is %s, not an object", n, v.kind)
	}
	hasEffect := false
	for _, m := range v.members {
		var err *ParseError
		switch m.key {
		case "Sid":
			if m.value.kind != jsonString {
				return syntaxErr(n, "statement %d: Sid is %s, not a string", n, m.value.kind)
			}
			st.Sid = m.value.text
		case "Effect":
			if m.value.kind != jsonString {
				return syntaxErr(n, "statement %d: Effect is %s, not a string", n, m.value.kind)
			}
			if !strings.EqualFold(m.value.text, string(EffectAllow)) && !strings.EqualFold(m.value.text, string(EffectDeny)) {
				return syntaxErr(n, "statement %d: Effect %q is not Allow or Deny", n, m.value.text)
			}
			st.Effect = Effect(m.value.text)
			hasEffect = true
		case "Action":
			st.Action, err = stringList(m.value, n, m.key)
		case "NotAction":
			st.NotAction, err = stringList(m.value, n, m.key)
		case "Resource":
			st.Resource, err = stringList(m.value, n, m.key)
		case "NotResource":
			st.NotResource, err = stringList(m.value, n, m.key)
		case "Principal":
			st.Principal, err = parsePrincipals(m.value, n, m.key)
		case "NotPrincipal":
			st.NotPrincipal, err = parsePrincipals(m.value, n, m.key)
		case "Condition":
			st.Condition, err = parseCondition(m.value, n)
		default:
			return syntaxErr(n, "statement %d: unknown field %s", n, m.key)
		}
		if err != nil {
			return err
		}
	}
	if !hasEffect {
		return syntaxErr(n, "statement %d: missing required field Effect", n)
	}
	if st.Action != nil && st.NotAction != nil {
		return syntaxErr(n, "statement %d has both Action and NotAction", n)
	}
	if st.Resource != nil && st.NotResource != nil {
		return syntaxErr(n, "statement %d has both Resource and NotResource", n)
	}
	if st.Principal != nil && st.NotPrincipal != nil {
		return syntaxErr(n, "statement %d has both Principal and NotPrincipal", n)
	}
	return nil
}

// stringList reads a string or a list of strings. An empty list comes back
// as an empty, non-nil slice so that callers can tell it from absence.
func stringList(v *jsonValue, n int, field string) ([]string, *ParseError) {
	switch v.kind {
	case jsonString:
		return []string{v.text}, nil
	case jsonArray:
		out := make([]string, 0, len(v.items))
		for _, it := range v.items {
			if it.kind != jsonString {
				return nil, syntaxErr(n, "statement %d: %s holds %s, not a string", n, field, it.kind)
			}
			out = append(out, it.text)
		}
		return out, nil
	default:
		return nil, syntaxErr(n, "statement %d: %s is %s, not a string or a list of strings", n, field, v.kind)
	}
}

func parsePrincipals(v *jsonValue, n int, field string) (*Principals, *ParseError) {
	switch v.kind {
	case jsonString:
		if v.text != "*" {
			return nil, malformed(n, fmt.Sprintf("Invalid principal in policy: %q", v.text),
				"statement %d: %s as a string must be \"*\"", n, field)
		}
		return &Principals{All: true}, nil
	case jsonObject:
	default:
		return nil, syntaxErr(n, "statement %d: %s is %s, not \"*\" or an object", n, field, v.kind)
	}
	if len(v.members) == 0 {
		return nil, syntaxErr(n, "statement %d: %s is an empty object", n, field)
	}
	p := &Principals{}
	for _, m := range v.members {
		list, err := stringList(m.value, n, field+"."+m.key)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, syntaxErr(n, "statement %d: %s.%s is an empty list", n, field, m.key)
		}
		switch m.key {
		case "AWS":
			p.AWS = list
		case "Service":
			p.Service = list
		case "Federated":
			p.Federated = list
		case "CanonicalUser":
			p.CanonicalUser = list
		default:
			return nil, malformed(n, fmt.Sprintf("Invalid principal in policy: %q:%q", m.key, list[0]),
				"statement %d: unknown principal type %s", n, m.key)
		}
	}
	return p, nil
}

func parseCondition(v *jsonValue, n int) ([]Condition, *ParseError) {
	if v.kind != jsonObject {
		return nil, syntaxErr(n, "statement %d: Condition is %s, not an object", n, v.kind)
	}
	var out []Condition
	for _, opm := range v.members {
		if _, ok := parseOperator(opm.key); !ok {
			return nil, syntaxErr(n, "statement %d: unknown condition operator %s", n, opm.key)
		}
		if opm.value.kind != jsonObject {
			return nil, syntaxErr(n, "statement %d: Condition.%s is %s, not an object", n, opm.key, opm.value.kind)
		}
		for _, km := range opm.value.members {
			vals, err := conditionValues(km.value)
			if err != "" {
				return nil, syntaxErr(n, "statement %d: Condition.%s.%s %s", n, opm.key, km.key, err)
			}
			out = append(out, Condition{Operator: opm.key, Key: km.key, Values: vals})
		}
	}
	return out, nil
}

func conditionValues(v *jsonValue) ([]string, string) {
	scalar := func(v *jsonValue) bool {
		return v.kind == jsonString || v.kind == jsonBool || v.kind == jsonNumber
	}
	if scalar(v) {
		return []string{v.text}, ""
	}
	if v.kind != jsonArray {
		return nil, fmt.Sprintf("is %s, not a value or a list of values", v.kind)
	}
	if len(v.items) == 0 {
		return nil, "is an empty list"
	}
	out := make([]string, 0, len(v.items))
	for _, it := range v.items {
		if !scalar(it) {
			return nil, fmt.Sprintf("holds %s", it.kind)
		}
		out = append(out, it.text)
	}
	return out, ""
}

// checkLegacy covers what IAM reports as "The policy failed legacy
// parsing": an Effect in the wrong case and date values it cannot read.
func checkLegacy(st *Statement, n int) *ParseError {
	if st.Effect != EffectAllow && st.Effect != EffectDeny {
		return malformed(n, msgLegacy, "statement %d: Effect %q must be spelled Allow or Deny", n, st.Effect)
	}
	for _, c := range st.Condition {
		op, _ := parseOperator(c.Operator)
		if op.family != familyDate {
			continue
		}
		for _, v := range c.Values {
			if _, ok := parseDate(v); !ok {
				return malformed(n, msgLegacy, "statement %d: %s value %q is not a date", n, c.Operator, v)
			}
		}
	}
	return nil
}

func checkActionsPresent(st *Statement, n int) *ParseError {
	if len(st.Action) == 0 && len(st.NotAction) == 0 {
		return malformed(n, msgNoActions, "statement %d has no Action or NotAction", n)
	}
	return nil
}

func checkResources(st *Statement, n int) *ParseError {
	list := st.Resource
	if list == nil {
		list = st.NotResource
	}
	if list != nil && len(list) == 0 {
		return malformed(n, msgNoResources, "statement %d has an empty resource list", n)
	}
	for _, r := range list {
		if msg := checkResource(r); msg != "" {
			return malformed(n, msg, "statement %d: resource %q", n, r)
		}
	}
	return nil
}

// knownPartitions are the partitions IAM accepts in a resource ARN.
var knownPartitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true,
	"aws-iso-b": true, "aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

var iamResourcePrefixes = []string{
	"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
	"server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/",
	"report/", "access-report/",
}

// checkResource returns IAM's message for a malformed Resource value, or "".
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) < 2 || parts[0] != "arn" {
		return fmt.Sprintf("Resource %s must be in ARN format or \"*\".", r)
	}
	partition := parts[1]
	if !knownPartitions[partition] && !(hasWildcard(partition) && isPartitionPattern(partition)) {
		return fmt.Sprintf("Partition %q is not valid for resource %q.", partition, r)
	}
	if len(parts) < 3 || parts[2] == "" || hasWildcard(parts[2]) || !isVendor(parts[2]) {
		return msgResourceVendor
	}
	// IAM's legacy parser refuses an ARN that leaves a field empty ("::")
	// but stops before the resource field.
	if strings.Contains(r, "::") && strings.Count(r, ":") < 5 {
		return msgLegacy
	}
	if parts[2] == "iam" && len(parts) == 6 {
		if parts[3] != "" && !hasWildcard(parts[3]) {
			return fmt.Sprintf("IAM resource %s cannot contain region information.", r)
		}
		res := parts[5]
		typ, _, _ := strings.Cut(res, "/")
		if res != "" && !hasWildcard(typ) && !hasAnyPrefix(res, iamResourcePrefixes) {
			return msgIAMResourcePath
		}
	}
	return ""
}

func checkActions(st *Statement, n int) *ParseError {
	list := st.Action
	if list == nil {
		list = st.NotAction
	}
	for _, a := range list {
		if msg := checkAction(a); msg != "" {
			return malformed(n, msg, "statement %d: action %q", n, a)
		}
	}
	return nil
}

// checkAction returns IAM's message for a malformed Action value, or "".
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	vendor, name, ok := strings.Cut(a, ":")
	if !ok {
		return msgVendorPrefix
	}
	if strings.Contains(name, ":") {
		return msgOneColon
	}
	if !isVendor(vendor) {
		return fmt.Sprintf("Vendor %s is not valid", vendor)
	}
	if name == "" {
		return fmt.Sprintf("Invalid Action: %s", a)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '*' || r == '?' || r == '-' || r == '_') {
			return fmt.Sprintf("Invalid Action: %s", a)
		}
	}
	return ""
}

func checkPrincipals(st *Statement, n int) *ParseError {
	for _, p := range []*Principals{st.Principal, st.NotPrincipal} {
		if p == nil {
			continue
		}
		for _, v := range p.AWS {
			if !validAWSPrincipal(v) {
				return invalidPrincipal(n, "AWS", v)
			}
		}
		others := []struct {
			typ  string
			list []string
		}{{"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}}
		for _, o := range others {
			for _, v := range o.list {
				if v == "" || hasWildcard(v) || strings.ContainsAny(v, " \t\r\n") {
					return invalidPrincipal(n, o.typ, v)
				}
			}
		}
	}
	return nil
}

func invalidPrincipal(n int, typ, v string) *ParseError {
	return malformed(n, fmt.Sprintf("Invalid principal in policy: %q:%q", typ, v), "statement %d", n)
}

// validAWSPrincipal accepts "*", a 12-digit account ID, an IAM or STS ARN
// without wildcards, or an IAM unique ID (which IAM shows in place of a
// deleted principal's ARN).
func validAWSPrincipal(v string) bool {
	if v == "*" || isAccountID(v) {
		return true
	}
	if isUniqueID(v) {
		return true
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !knownPartitions[parts[1]] {
		return false
	}
	if parts[2] != "iam" && parts[2] != "sts" {
		return false
	}
	return parts[3] == "" && isAccountID(parts[4]) && parts[5] != "" && !hasWildcard(v)
}

func checkConditions(st *Statement, n int) *ParseError {
	for _, c := range st.Condition {
		vendor, _, ok := strings.Cut(c.Key, ":")
		if !ok || vendor == "" {
			return malformed(n, msgVendorPrefix, "statement %d: condition key %q", n, c.Key)
		}
		op, _ := parseOperator(c.Operator)
		for _, v := range c.Values {
			if !op.validValue(v) {
				return syntaxErr(n, "statement %d: %q is not a valid value for %s", n, v, c.Operator)
			}
		}
	}
	return nil
}

// validValue reports whether a policy value can be read by the operator's
// family. String and ARN values are always valid; dates were checked as
// IAM's legacy parser checks them.
func (op operator) validValue(v string) bool {
	switch op.family {
	case familyNumeric:
		_, ok := parseNumber(v)
		return ok
	case familyBool, familyNull:
		return strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
	case familyIP:
		_, ok := parseIPPrefix(v)
		return ok
	case familyBinary:
		_, ok := decodeBinary(v)
		return ok
	}
	return true
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isVendor reports whether s is a service prefix as IAM spells them.
func isVendor(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func isPartitionPattern(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '*' || r == '?') {
			return false
		}
	}
	return s != ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUniqueID matches IAM unique IDs such as AIDAJQABLZS4A3QDU576Q.
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || s[0] != 'A' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// parseIPPrefix reads a CIDR or a single address (as a full-length prefix).
func parseIPPrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), true
}
