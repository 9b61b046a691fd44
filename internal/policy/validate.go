package policy

// IAM's size quotas, in characters excluding whitespace (see Size). The
// inline quotas apply to the sum of all inline policies of one user, group
// or role; ValidateIdentityPolicy checks one document against the limit it
// is given.
const (
	MaxManagedPolicySize     = 6144  // one managed policy version
	MaxUserInlinePolicySize  = 2048  // all inline policies of a user
	MaxGroupInlinePolicySize = 5120  // all inline policies of a group
	MaxRoleInlinePolicySize  = 10240 // all inline policies of a role
	MaxTrustPolicySize       = 2048  // a role trust policy (IAM's default ACLSizePerRole)
)

// Size is a document's size as IAM counts it against its quotas: the number
// of characters that are not JSON whitespace.
func Size(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// ValidateIdentityPolicy parses a policy for a user, group or role (managed
// or inline) and applies IAM's rules for that kind: no Principal, a
// Resource in every statement, unique alphanumeric Sids, and at most
// maxSize characters (see Size; 0 means no limit).
func ValidateIdentityPolicy(doc string, maxSize int) (*Document, error) {
	d, err := parseWithin(doc, maxSize)
	if err != nil {
		return nil, err
	}
	if err := d.ValidateIdentity(); err != nil {
		return nil, err
	}
	return d, nil
}

// ValidateTrustPolicy parses a role's trust (assume-role) policy and
// applies IAM's rules for that kind: a Principal in every statement, no
// Resource, unique alphanumeric Sids, and at most maxSize characters (see
// Size; 0 means no limit).
func ValidateTrustPolicy(doc string, maxSize int) (*Document, error) {
	d, err := parseWithin(doc, maxSize)
	if err != nil {
		return nil, err
	}
	if err := d.ValidateTrust(); err != nil {
		return nil, err
	}
	return d, nil
}

func parseWithin(doc string, maxSize int) (*Document, error) {
	if maxSize > 0 {
		if n := Size(doc); n > maxSize {
			return nil, &SizeError{Size: n, Limit: maxSize}
		}
	}
	return Parse(doc)
}

// ValidateIdentity applies the rules of identity policies to a parsed
// document.
func (d *Document) ValidateIdentity() error {
	for i := range d.Statements {
		if d.Statements[i].HasPrincipal() {
			return malformed(i+1, msgHasPrincipal, "statement %d has a Principal or NotPrincipal", i+1)
		}
	}
	if err := d.checkSids(); err != nil {
		return err
	}
	for i := range d.Statements {
		if !d.Statements[i].HasResource() {
			return malformed(i+1, msgNoResources, "statement %d has no Resource or NotResource", i+1)
		}
	}
	return nil
}

// ValidateTrust applies the rules of role trust policies to a parsed
// document.
func (d *Document) ValidateTrust() error {
	for i := range d.Statements {
		st := &d.Statements[i]
		if !st.HasPrincipal() {
			return malformed(i+1, msgNoPrincipal, "statement %d has no Principal", i+1)
		}
		if st.Resource != nil {
			return malformed(i+1, "Has prohibited field Resource", "statement %d", i+1)
		}
		if st.NotResource != nil {
			return malformed(i+1, "Has prohibited field NotResource", "statement %d", i+1)
		}
	}
	return d.checkSids()
}

func (d *Document) checkSids() error {
	seen := make(map[string]int, len(d.Statements))
	for i := range d.Statements {
		sid := d.Statements[i].Sid
		if sid == "" {
			continue
		}
		for _, r := range sid {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return malformed(i+1, msgSidAlnum, "statement %d: Sid %q", i+1, sid)
			}
		}
		if first, dup := seen[sid]; dup {
			return malformed(i+1, msgSidUnique, "statements %d and %d share Sid %q", first, i+1, sid)
		}
		seen[sid] = i + 1
	}
	return nil
}
