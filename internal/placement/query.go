package placement

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed cluster query language expression, safe for concurrent
// use. Build one with Parse; evaluate it with Matches, or hand it to Place
// inside a memberOf Constraint.
type Expr struct {
	root    node
	dynamic bool   // refers to task:group or runningTasksCount
	canon   string // String(), computed once
}

// cmpOp is a comparison operator of the cluster query language.
type cmpOp uint8

// Comparison operators, with their symbol and word spellings.
const (
	opEquals           cmpOp = iota + 1 // == equals
	opNotEquals                         // != not_equals
	opGreaterThan                       // > greater_than
	opGreaterThanEqual                  // >= greater_than_equal
	opLessThan                          // < less_than
	opLessThanEqual                     // <= less_than_equal
	opExists                            // exists
	opNotExists                         // !exists not_exists
	opIn                                // in
	opNotIn                             // !in not_in "not in"
	opMatches                           // =~ matches
	opNotMatches                        // !~ not_matches
)

var opSymbols = [...]string{
	opEquals: "==", opNotEquals: "!=", opGreaterThan: ">", opGreaterThanEqual: ">=",
	opLessThan: "<", opLessThanEqual: "<=", opExists: "exists", opNotExists: "!exists",
	opIn: "in", opNotIn: "not_in", opMatches: "=~", opNotMatches: "!~",
}

func (o cmpOp) String() string {
	if int(o) < len(opSymbols) && opSymbols[o] != "" {
		return opSymbols[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

var opWords = map[string]cmpOp{
	"equals": opEquals, "not_equals": opNotEquals,
	"greater_than": opGreaterThan, "greater_than_equal": opGreaterThanEqual,
	"less_than": opLessThan, "less_than_equal": opLessThanEqual,
	"exists": opExists, "not_exists": opNotExists,
	"in": opIn, "not_in": opNotIn,
	"matches": opMatches, "not_matches": opNotMatches,
}

var opSyms = map[string]cmpOp{
	"==": opEquals, "!=": opNotEquals, ">": opGreaterThan, ">=": opGreaterThanEqual,
	"<": opLessThan, "<=": opLessThanEqual, "=~": opMatches, "!~": opNotMatches,
}

// subjectKind says what a comparison looks at.
type subjectKind uint8

const (
	subjAttribute subjectKind = iota + 1
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasks
	subjAgentConnected
	subjAgentVersion
	subjTaskGroup
)

var fieldSubjects = map[string]subjectKind{
	"ec2InstanceId":     subjEC2InstanceID,
	"registeredAt":      subjRegisteredAt,
	"runningTasksCount": subjRunningTasks,
	"agentConnected":    subjAgentConnected,
	"agentVersion":      subjAgentVersion,
	"task:group":        subjTaskGroup,
}

// Which operators each subject accepts, as the ECS documentation lists them
// (attributes accept every operator).
var (
	opsOrdered = opSet(opEquals, opNotEquals, opGreaterThan, opGreaterThanEqual, opLessThan, opLessThanEqual)
	opsString  = opSet(opEquals, opNotEquals, opIn, opNotIn, opMatches, opNotMatches)
	opsGroup   = opsString | opSet(opExists, opNotExists)
	opsAll     = opsOrdered | opsGroup
)

func opSet(ops ...cmpOp) uint32 {
	var s uint32
	for _, o := range ops {
		s |= 1 << o
	}
	return s
}

func allowedOps(k subjectKind) uint32 {
	switch k {
	case subjRegisteredAt, subjRunningTasks, subjAgentVersion:
		return opsOrdered
	case subjEC2InstanceID, subjAgentConnected:
		return opsString
	case subjTaskGroup:
		return opsGroup
	}
	return opsAll
}

type node interface {
	eval(v *evalEnv) bool
	write(b *strings.Builder)
	prec() int
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ x node }

// cmpNode is one "subject operator [argument]" term, with its arguments
// converted once at parse time.
type cmpNode struct {
	kind  subjectKind
	name  string // attribute name (without "attribute:")
	op    cmpOp
	args  []string
	list  bool // argument written as a list
	re    *regexp.Regexp
	num   []float64 // numeric form of args (attributes), NaN-free; valid when isNum
	isNum []bool
	times []time.Time
	ints  []int
	vers  [][]int
}

func (n *andNode) prec() int { return 2 }
func (n *orNode) prec() int  { return 1 }
func (n *notNode) prec() int { return 3 }
func (n *cmpNode) prec() int { return 4 }

// Parse parses a cluster query language expression such as
//
//	attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]
//
// Errors are *SyntaxError and wrap ErrInvalidParameter.
func Parse(src string) (*Expr, error) {
	if len(src) > MaxExpressionLength {
		return nil, &SyntaxError{Expr: src, Offset: MaxExpressionLength,
			Msg: "expression is " + strconv.Itoa(len(src)) + " characters long; the maximum is " + strconv.Itoa(MaxExpressionLength)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &SyntaxError{Expr: src, Msg: "expression is empty"}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, "unexpected "+describe(t)+" after a complete expression")
	}
	e := &Expr{root: root, dynamic: p.dynamic}
	var b strings.Builder
	root.write(&b)
	e.canon = b.String()
	return e, nil
}

// MustParse is Parse for expressions known to be valid; it panics otherwise.
func MustParse(src string) *Expr {
	e, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the expression in canonical form: Parse(e.String()) yields
// an equivalent expression with the same String.
func (e *Expr) String() string { return e.canon }

// Dynamic reports whether the expression depends on the tasks an instance
// runs (task:group, runningTasksCount), which change as tasks are placed.
func (e *Expr) Dynamic() bool { return e.dynamic }

// Matches reports whether inst satisfies the expression, as
// ListContainerInstances --filter evaluates it.
func (e *Expr) Matches(inst *Instance) bool {
	v := evalEnv{inst: inst, running: inst.RunningTasksCount}
	return e.root.eval(&v)
}

type parser struct {
	src     string
	toks    []token
	i       int
	dynamic bool
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, msg string) error {
	return &SyntaxError{Expr: p.src, Offset: t.pos, Msg: msg}
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func isWord(t token, w string) bool { return t.kind == tokWord && strings.EqualFold(t.text, w) }

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(isWord(t, "or") || (t.kind == tokSym && t.text == "||")) {
			return l, nil
		}
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(isWord(t, "and") || (t.kind == tokSym && t.text == "&&")) {
			return l, nil
		}
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
}

func (p *parser) parseUnary() (node, error) {
	t := p.peek()
	switch {
	case isWord(t, "not") || (t.kind == tokSym && t.text == "!"):
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	case t.kind == tokLParen:
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.errAt(c, "expected ')' to close the '(' at offset "+strconv.Itoa(t.pos)+", found "+describe(c))
		}
		return x, nil
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() (node, error) {
	st := p.next()
	if st.kind != tokWord {
		return nil, p.errAt(st, "expected a subject (an attribute such as attribute:ecs.instance-type, ec2InstanceId, registeredAt, runningTasksCount, agentConnected, agentVersion or task:group), found "+describe(st))
	}
	n := &cmpNode{}
	if k, ok := fieldSubjects[st.text]; ok {
		n.kind = k
	} else {
		name, prefixed := strings.CutPrefix(st.text, "attribute:")
		if !prefixed && strings.Contains(name, ":") {
			return nil, p.errAt(st, "unknown subject "+strconv.Quote(st.text))
		}
		if msg := checkAttributeName(name); msg != "" {
			return nil, p.errAt(st, msg)
		}
		n.kind, n.name = subjAttribute, name
	}
	if n.kind == subjTaskGroup || n.kind == subjRunningTasks {
		p.dynamic = true
	}

	ot := p.next()
	switch {
	case ot.kind == tokSym && ot.text == "!":
		w := p.next()
		switch {
		case isWord(w, "exists"):
			n.op = opNotExists
		case isWord(w, "in"):
			n.op = opNotIn
		default:
			return nil, p.errAt(w, "expected 'exists' or 'in' after '!', found "+describe(w))
		}
	case ot.kind == tokSym:
		op, ok := opSyms[ot.text]
		if !ok {
			return nil, p.errAt(ot, "expected an operator after "+strconv.Quote(st.text)+", found "+describe(ot))
		}
		n.op = op
	case isWord(ot, "not"):
		if w := p.next(); !isWord(w, "in") {
			return nil, p.errAt(w, "expected 'in' after 'not', found "+describe(w))
		}
		n.op = opNotIn
	case ot.kind == tokWord:
		op, ok := opWords[strings.ToLower(ot.text)]
		if !ok {
			return nil, p.errAt(ot, "unknown operator "+strconv.Quote(ot.text))
		}
		n.op = op
	default:
		return nil, p.errAt(ot, "expected an operator after "+strconv.Quote(st.text)+", found "+describe(ot))
	}
	if allowedOps(n.kind)&(1<<n.op) == 0 {
		return nil, p.errAt(ot, "operator "+n.op.String()+" cannot be used with "+strconv.Quote(st.text))
	}

	switch n.op {
	case opExists, opNotExists:
		// no argument
	case opIn, opNotIn:
		lb := p.next()
		if lb.kind != tokLBrack {
			return nil, p.errAt(lb, "operator "+n.op.String()+" expects a list such as [a, b], found "+describe(lb))
		}
		n.list = true
		for {
			v := p.next()
			if v.kind != tokWord && v.kind != tokString {
				return nil, p.errAt(v, "expected a value in the list, found "+describe(v))
			}
			n.args = append(n.args, v.text)
			sep := p.next()
			if sep.kind == tokRBrack {
				break
			}
			if sep.kind != tokComma {
				return nil, p.errAt(sep, "expected ',' or ']' in the list, found "+describe(sep))
			}
		}
	default:
		v := p.next()
		if v.kind != tokWord && v.kind != tokString {
			return nil, p.errAt(v, "operator "+n.op.String()+" expects a value, found "+describe(v))
		}
		n.args = []string{v.text}
	}
	if err := n.compile(); err != nil {
		return nil, p.errAt(st, err.Error())
	}
	return n, nil
}

// checkAttributeName applies ECS's attribute-name rule: 1-128 letters,
// digits, hyphens, underscores, periods, forward or back slashes.
func checkAttributeName(name string) string {
	if name == "" {
		return "attribute name is empty"
	}
	if len(name) > 128 {
		return "attribute name is longer than 128 characters"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '/', c == '\\':
		default:
			return "attribute name " + strconv.Quote(name) + " may contain only letters, digits, '-', '_', '.', '/' and '\\'"
		}
	}
	return ""
}

type compileError string

func (e compileError) Error() string { return string(e) }

// dateLayouts are the registeredAt formats ECS documents.
var dateLayouts = []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02"}

// compile converts the arguments once so evaluation never parses.
func (n *cmpNode) compile() error {
	switch n.kind {
	case subjRegisteredAt:
		for _, a := range n.args {
			t, err := parseDate(a)
			if err != nil {
				return err
			}
			n.times = append(n.times, t)
		}
	case subjRunningTasks:
		for _, a := range n.args {
			v, err := strconv.Atoi(a)
			if err != nil || v < 0 {
				return compileError("runningTasksCount expects a non-negative integer, found " + strconv.Quote(a))
			}
			n.ints = append(n.ints, v)
		}
	case subjAgentVersion:
		for _, a := range n.args {
			v, ok := parseVersion(a)
			if !ok {
				return compileError("agentVersion expects a version such as 1.20.0, found " + strconv.Quote(a))
			}
			n.vers = append(n.vers, v)
		}
	case subjAgentConnected:
		if n.op != opMatches && n.op != opNotMatches {
			for _, a := range n.args {
				if a != "true" && a != "false" {
					return compileError("agentConnected expects true or false, found " + strconv.Quote(a))
				}
			}
		}
	}
	switch n.op {
	case opMatches, opNotMatches:
		// ECS documents Java regular expressions matched against the whole
		// value (Pattern.matches); RE2 covers the common subset.
		re, err := regexp.Compile(`^(?:` + n.args[0] + `)$`)
		if err != nil {
			return compileError("invalid regular expression " + strconv.Quote(n.args[0]) + ": " + err.Error())
		}
		n.re = re
	case opGreaterThan, opGreaterThanEqual, opLessThan, opLessThanEqual, opEquals, opNotEquals:
		if n.kind == subjAttribute {
			n.num = make([]float64, len(n.args))
			n.isNum = make([]bool, len(n.args))
			for i, a := range n.args {
				n.num[i], n.isNum[i] = parseNumber(a)
			}
		}
	}
	return nil
}

func parseDate(s string) (time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, compileError("registeredAt expects a date such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18, found " + strconv.Quote(s))
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f { // NaN never orders
		return 0, false
	}
	return f, true
}

// parseVersion reads a dotted version such as 1.20.0 (an optional leading v
// is ignored).
func parseVersion(s string) ([]int, bool) {
	s = strings.TrimPrefix(s, "v")
	if s == "" {
		return nil, false
	}
	parts := strings.Split(s, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ---- canonical printing ----

func writeChild(b *strings.Builder, parent, child node) {
	if child.prec() < parent.prec() {
		b.WriteByte('(')
		child.write(b)
		b.WriteByte(')')
		return
	}
	child.write(b)
}

func (n *andNode) write(b *strings.Builder) {
	writeChild(b, n, n.l)
	b.WriteString(" and ")
	// and is left-associative: a right operand of equal precedence needs
	// parentheses to keep the tree shape on a round trip.
	if n.r.prec() <= n.prec() {
		b.WriteByte('(')
		n.r.write(b)
		b.WriteByte(')')
	} else {
		n.r.write(b)
	}
}

func (n *orNode) write(b *strings.Builder) {
	writeChild(b, n, n.l)
	b.WriteString(" or ")
	if n.r.prec() <= n.prec() {
		b.WriteByte('(')
		n.r.write(b)
		b.WriteByte(')')
	} else {
		n.r.write(b)
	}
}

func (n *notNode) write(b *strings.Builder) {
	b.WriteString("not ")
	if n.x.prec() < 3 {
		b.WriteByte('(')
		n.x.write(b)
		b.WriteByte(')')
		return
	}
	n.x.write(b)
}

func (n *cmpNode) write(b *strings.Builder) {
	switch n.kind {
	case subjAttribute:
		b.WriteString("attribute:")
		b.WriteString(n.name)
	default:
		for k, v := range fieldSubjects {
			if v == n.kind {
				b.WriteString(k)
				break
			}
		}
	}
	b.WriteByte(' ')
	b.WriteString(n.op.String())
	if n.list {
		b.WriteString(" [")
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(formatValue(a))
		}
		b.WriteByte(']')
	} else if len(n.args) == 1 {
		b.WriteByte(' ')
		b.WriteString(formatValue(n.args[0]))
	}
}
