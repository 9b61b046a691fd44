// Package policy parses, validates and evaluates IAM policy documents.
//
// It is pure decision code: no I/O, no store, no clock. Callers hand it the
// policy text and a [Request] describing one call (action, resource,
// principal and condition context, including aws:CurrentTime), and get back
// a [Decision].
//
// # Parsing
//
// [Parse] accepts the IAM JSON grammar: Version ("2012-10-17",
// "2008-10-17" or absent), Id, and Statement as one object or a list. Each
// statement has Sid, Effect, exactly one of Action/NotAction, at most one of
// Resource/NotResource, at most one of Principal/NotPrincipal and an
// optional Condition block. Duplicate JSON keys are refused, since IAM and
// Go would otherwise disagree about which one wins. Errors are
// [*ParseError] values whose Message reads like IAM's MalformedPolicyDocument
// text ("Syntax errors in policy.", "Policy statement must contain
// actions.", ...) and whose Detail says exactly what was wrong.
//
// [ValidateIdentityPolicy] and [ValidateTrustPolicy] add the rules of the
// two IAM document kinds and the size quota (see the Max* constants; sizes
// are counted as IAM counts them, in characters excluding whitespace).
//
// # Evaluation
//
// [Evaluate] implements IAM's rule for one set of policies: an applicable
// Deny wins, otherwise an applicable Allow allows, otherwise the request is
// implicitly denied. A statement applies when its principal, action,
// resource and every condition match.
//
//   - Actions match case-insensitively with * and ? wildcards; "*" and
//     "ecs:Describe*" are both valid patterns.
//   - Resources match case-sensitively with * and ?. ARNs are matched
//     segment by segment (partition, service, region, account, resource),
//     so a wildcard does not cross a ':' between those fields — except
//     that, as the IAM documentation says, a * that is the last character
//     of a segment may expand past the colons that follow it
//     ("arn:aws:logs:*" matches every logs ARN). The resource segment
//     (everything after the fifth colon) is matched as a whole, colons
//     included. A pattern or resource that is not an ARN is matched as one
//     string.
//   - ArnEquals/ArnLike (and their negations) use the same ARN matcher:
//     IAM documents both as wildcard matches of each colon-delimited
//     component.
//   - Policy variables (${aws:username}, ${aws:PrincipalTag/team}, any
//     single-valued context key, ${key, 'default'}, and the escapes ${*},
//     ${?}, ${$}) are expanded in Resource/NotResource and in the values of
//     String* and Arn* conditions, only when Version is "2012-10-17"; in an
//     older or unversioned document they are literal text, as in IAM. The
//     text a variable expands to is literal (a '*' in a user name is not a
//     wildcard). A variable that cannot be resolved (key absent,
//     multi-valued, no default) makes that one pattern or value not match.
//   - Condition operators: String*, Numeric*, Date*, Bool, BinaryEquals,
//     IpAddress/NotIpAddress, Arn*, Null, each with the IfExists suffix and
//     the ForAllValues:/ForAnyValue: qualifiers. Several operators, and
//     several keys in one operator, are ANDed; several values for one key
//     are ORed (NORed for negated operators). A key missing from the
//     context makes a condition false, except for negated operators (true),
//     ...IfExists (true), ForAllValues (true) and Null.
//   - Without a set qualifier, a context key with several values matches a
//     positive operator when any of its values matches, and a negated
//     operator when none does.
//   - Principals: "*" and {"AWS":"*"} match everyone, including anonymous
//     callers; an account ID or "arn:aws:iam::ACCOUNT:root" matches every
//     principal of that account; a role ARN also matches sessions of that
//     role (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION); Service and
//     Federated names match the caller's service or identity provider.
//
// Condition key names are case-insensitive; condition values are compared
// as each operator says (StringEquals is case-sensitive).
//
// A parsed Document is only read by Evaluate and may be shared between
// goroutines.
//
// # Not covered
//
//   - Cross-policy-type logic (SCPs, permission boundaries, session
//     policies, the resource-policy/identity-policy union across accounts)
//     belongs to the caller: evaluate each set and combine the decisions.
//   - Principals are matched by ARN, not by IAM unique ID, so a trust
//     policy does not notice that a role was deleted and recreated;
//     CanonicalUser principals are parsed but never match.
//   - Condition keys are not checked against each service's list of keys,
//     and actions are not checked against each service's list of actions.
//   - Dates are read from ISO 8601 extended format or epoch seconds; the
//     basic format (20190716T120000Z) is refused.
package policy
