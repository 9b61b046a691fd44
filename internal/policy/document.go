package policy

// Policy language versions.
const (
	Version2012 = "2012-10-17" // current; enables policy variables
	Version2008 = "2008-10-17" // legacy; the default when Version is absent
)

// Effect is a statement's Effect.
type Effect string

// The two effects.
const (
	EffectAllow Effect = "Allow"
	EffectDeny  Effect = "Deny"
)

// Document is a parsed policy document. Parse fills it; a Document built by
// hand should pass through Parse(Marshal(d)) before it is trusted.
type Document struct {
	Version    string // "" when the document has no Version
	ID         string // the Id element
	Statements []Statement
}

// Statement is one element of a document's Statement list. List-valued
// elements are nil when absent and never empty when present.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition lists the condition block one operator/key pair at a time,
	// in document order.
	Condition []Condition
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// All is true for the bare string form "Principal": "*".
	All           bool
	AWS           []string // account IDs, IAM ARNs or "*"
	Service       []string // e.g. "ecs-tasks.amazonaws.com"
	Federated     []string // identity providers, e.g. "cognito-identity.amazonaws.com"
	CanonicalUser []string // S3 canonical user IDs
}

// Condition is one operator/key pair of a Condition block, e.g.
// {"StringEquals": {"aws:username": ["alice", "bob"]}} is
// Condition{"StringEquals", "aws:username", ["alice", "bob"]}.
// Boolean and number values are kept as their JSON text.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string // as written; matched case-insensitively
	Values   []string
}

// variablesEnabled reports whether ${...} is a policy variable in this
// document, which IAM allows only from version 2012-10-17 on.
func (d *Document) variablesEnabled() bool { return d.Version == Version2012 }

// HasPrincipal reports whether the statement has a Principal or
// NotPrincipal element.
func (s *Statement) HasPrincipal() bool { return s.Principal != nil || s.NotPrincipal != nil }

// HasResource reports whether the statement has a Resource or NotResource
// element.
func (s *Statement) HasResource() bool { return s.Resource != nil || s.NotResource != nil }
