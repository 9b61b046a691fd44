// Package iam is Wharf's AWS Identity and Access Management: users, groups,
// roles, managed and inline policies and access keys of the tenant account
// (taken from the context), served through the generated iamapi types, plus
// what the edge needs to authenticate and authorize every request:
//
//   - [Service.LookupAccessKey] resolves an access key ID (user keys, the
//     root key and STS temporary keys) to its secret and principal; it is a
//     sigv4.CredentialSource.
//   - [Service.Authorize] evaluates the identity-based policies of a
//     principal (and the session policy of temporary credentials) for one
//     action on one resource.
//   - [Bootstrap] creates the account and its root key on first start.
//   - [ResourceARN] names the resource an IAM operation acts on.
//   - [ErrorTable] maps the domain errors to IAM's error shapes.
//
// # Persistent layout
//
// Table "iam" (store.AccountWide) holds JSON documents. Names of users,
// groups and roles are unique regardless of case in IAM, so their keys use
// the lower-cased name (shown as <user>, <group>, <role>); the document
// keeps the name as created.
//
//	user/<user>                       userRec
//	userkey/<user>/<AKID>             keyIndexRec (the key itself is in "accesskeys")
//	userpolicy/<user>/<policyname>    inlineRec
//	userattach/<user>/<policyARN>     attachRec
//	usergroup/<user>/<group>          memberRec
//	rootkey/<AKID>                    keyIndexRec (keys of the account root)
//	group/<group>                     groupRec
//	groupmember/<group>/<user>        memberRec
//	grouppolicy/<group>/<policyname>  inlineRec
//	groupattach/<group>/<policyARN>   attachRec
//	role/<role>                       roleRec
//	rolepolicy/<role>/<policyname>    inlineRec
//	roleattach/<role>/<policyARN>     attachRec
//	policy/<path><name>               policyRec (customer managed policy with its versions)
//	policyname/<policyname>           policyNameRec (names are unique in the account, any path)
//	attachment/<policyID>/<kind>/<n>  attachRec (reverse index: who a managed policy is attached to;
//	                                  kind is user, group or role; policyID is ANPA… and never
//	                                  contains '/', unlike an ARN)
//
// Table "accesskeys" (store.System) maps every access key ID to its secret,
// status and principal (keyRec), so a signed request finds its account
// before any tenant is known. Temporary keys issued by STS carry a session
// token and an expiration, and also have an entry in "accesskeyexpiry"
// (store.System) under "<expiration, RFC 3339 UTC, fixed width>/<AKID>" so
// expired keys can be swept with one range delete ([Service.SweepExpiredKeys]).
//
// Table "accounts" (store.System) holds the account created by [Bootstrap]
// under the key "default" (accountRec).
//
// Layout version: 1 (recorded in accountRec.LayoutVersion).
package iam
