package iam

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
)

// Tables; see the package documentation for their layout.
var (
	tblIAM        = store.Table{Name: "iam", Scope: store.AccountWide}
	tblAccessKeys = store.Table{Name: "accesskeys", Scope: store.System}
	tblKeyExpiry  = store.Table{Name: "accesskeyexpiry", Scope: store.System}
	tblAccounts   = store.Table{Name: "accounts", Scope: store.System}
)

// layoutVersion is the version of the persistent layout described in doc.go.
const layoutVersion = 1

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type userRec struct {
	Name     string    `json:"name"`
	Path     string    `json:"path"`
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Tags     []tag     `json:"tags,omitempty"`
	Boundary string    `json:"boundary,omitempty"` // permissions boundary policy ARN
}

type groupRec struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

type roleRec struct {
	Name               string    `json:"name"`
	Path               string    `json:"path"`
	ID                 string    `json:"id"`
	Created            time.Time `json:"created"`
	TrustPolicy        string    `json:"trustPolicy"` // decoded JSON text
	Description        string    `json:"description,omitempty"`
	MaxSessionDuration int32     `json:"maxSessionDuration"` // seconds
	Tags               []tag     `json:"tags,omitempty"`
	Boundary           string    `json:"boundary,omitempty"`
}

type versionRec struct {
	ID       string    `json:"id"` // v1, v2, …
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

type policyRec struct {
	Name           string       `json:"name"`
	Path           string       `json:"path"`
	ID             string       `json:"id"`
	Description    string       `json:"description,omitempty"`
	Created        time.Time    `json:"created"`
	Updated        time.Time    `json:"updated"`
	DefaultVersion string       `json:"defaultVersion"`
	NextVersion    int          `json:"nextVersion"`
	Versions       []versionRec `json:"versions"` // oldest first
	Tags           []tag        `json:"tags,omitempty"`
}

func (p *policyRec) version(id string) (*versionRec, int) {
	for i := range p.Versions {
		if p.Versions[i].ID == id {
			return &p.Versions[i], i
		}
	}
	return nil, -1
}

func (p *policyRec) defaultDocument() string {
	if v, _ := p.version(p.DefaultVersion); v != nil {
		return v.Document
	}
	return ""
}

type policyNameRec struct {
	Key string `json:"key"` // <path><name>, the suffix of the policy/ key
}

type inlineRec struct {
	Name     string `json:"name"`
	Document string `json:"document"` // decoded JSON text
}

type attachRec struct {
	PolicyARN string `json:"policyArn"`
	PolicyID  string `json:"policyId"`
	Name      string `json:"name,omitempty"` // reverse index: the entity's name as created
}

type memberRec struct {
	Name string `json:"name"` // the other side's name as created
}

type keyIndexRec struct {
	Created time.Time `json:"created"`
}

// keyRec is an access key in the System table "accesskeys".
type keyRec struct {
	Secret       string              `json:"secret"`
	Status       string              `json:"status"` // Active or Inactive
	Created      time.Time           `json:"created"`
	SessionToken string              `json:"sessionToken,omitempty"`
	Expiration   time.Time           `json:"expiration,omitzero"`
	Principal    principal.Principal `json:"principal"`
}

const (
	statusActive   = "Active"
	statusInactive = "Inactive"
)

type accountRec struct {
	ID            string    `json:"id"`
	RootKeyID     string    `json:"rootKeyId"`
	Created       time.Time `json:"created"`
	LayoutVersion int       `json:"layoutVersion"`
}

// Key builders. lower is applied by the callers that take a name from a
// request.
func lower(s string) string { return strings.ToLower(s) }

func userKey(name string) string              { return "user/" + lower(name) }
func userKeyPrefix(name string) string        { return "userkey/" + lower(name) + "/" }
func userPolicyPrefix(name string) string     { return "userpolicy/" + lower(name) + "/" }
func userAttachPrefix(name string) string     { return "userattach/" + lower(name) + "/" }
func userGroupPrefix(name string) string      { return "usergroup/" + lower(name) + "/" }
func groupKey(name string) string             { return "group/" + lower(name) }
func groupMemberPrefix(name string) string    { return "groupmember/" + lower(name) + "/" }
func groupPolicyPrefix(name string) string    { return "grouppolicy/" + lower(name) + "/" }
func groupAttachPrefix(name string) string    { return "groupattach/" + lower(name) + "/" }
func roleKey(name string) string              { return "role/" + lower(name) }
func rolePolicyPrefix(name string) string     { return "rolepolicy/" + lower(name) + "/" }
func roleAttachPrefix(name string) string     { return "roleattach/" + lower(name) + "/" }
func policyKey(path, name string) string      { return "policy/" + path + name }
func policyNameKey(name string) string        { return "policyname/" + lower(name) }
func attachmentPrefix(policyID string) string { return "attachment/" + policyID + "/" }

const rootKeyPrefix = "rootkey/"

func getJSON(tx store.Tx, t store.Table, key string, v any) (int64, error) {
	it, err := tx.Get(t, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return 0, fmt.Errorf("iam: decode %s/%s: %w", t.Name, key, err)
	}
	return it.Revision, nil
}

func putJSON(tx store.Tx, t store.Table, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Put(t, key, b)
	return err
}

// createJSON writes v under key only if key does not exist yet.
func createJSON(tx store.Tx, t store.Table, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.PutIf(t, key, b, 0)
	return err
}

func exists(tx store.Tx, t store.Table, key string) (bool, error) {
	_, err := tx.Get(t, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func deleteIfExists(tx store.Tx, t store.Table, key string) error {
	if err := tx.Delete(t, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func loadUser(tx store.Tx, name string) (userRec, int64, error) {
	var u userRec
	rev, err := getJSON(tx, tblIAM, userKey(name), &u)
	if errors.Is(err, store.ErrNotFound) {
		return u, 0, noSuchUser(name)
	}
	return u, rev, err
}

func loadGroup(tx store.Tx, name string) (groupRec, error) {
	var g groupRec
	_, err := getJSON(tx, tblIAM, groupKey(name), &g)
	if errors.Is(err, store.ErrNotFound) {
		return g, noSuchGroup(name)
	}
	return g, err
}

func loadRole(tx store.Tx, name string) (roleRec, error) {
	var r roleRec
	_, err := getJSON(tx, tblIAM, roleKey(name), &r)
	if errors.Is(err, store.ErrNotFound) {
		return r, noSuchRole(name)
	}
	return r, err
}

// Pagination.

const (
	defaultMaxItems = 100
	maxMaxItems     = 1000
)

func maxItems(p *int32) int {
	if p == nil || *p <= 0 {
		return defaultMaxItems
	}
	if *p > maxMaxItems {
		return maxMaxItems
	}
	return int(*p)
}

// Markers are opaque to callers: the base64 of the position after which
// the next page starts.
func encodeMarker(pos string) string { return base64.RawURLEncoding.EncodeToString([]byte(pos)) }

func decodeMarker(m *string) (string, error) {
	if m == nil || *m == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*m)
	if err != nil {
		return "", errs.New(ErrInvalidInput, "Invalid Marker.")
	}
	return string(b), nil
}

// page is one page of a listing.
type page struct {
	items     []store.Item
	truncated bool
	marker    string // encoded; "" unless truncated
}

// scanPage reads the items under prefix that keep accepts (nil: all), in
// key order, starting after the marker, at most max of them.
func scanPage(tx store.Tx, t store.Table, prefix string, marker *string, max int, keep func(store.Item) (bool, error)) (page, error) {
	after, err := decodeMarker(marker)
	if err != nil {
		return page{}, err
	}
	if after != "" && !strings.HasPrefix(after, prefix) {
		return page{}, errs.New(ErrInvalidInput, "Invalid Marker.")
	}
	var out page
	chunk := max + 1
	for {
		items, err := tx.Scan(t, prefix, after, chunk)
		if err != nil {
			return page{}, err
		}
		for _, it := range items {
			ok := true
			if keep != nil {
				if ok, err = keep(it); err != nil {
					return page{}, err
				}
			}
			if !ok {
				continue
			}
			if len(out.items) == max {
				out.truncated = true
				out.marker = encodeMarker(out.items[max-1].Key)
				return out, nil
			}
			out.items = append(out.items, it)
		}
		if len(items) < chunk {
			return out, nil
		}
		after = items[len(items)-1].Key
	}
}

// paginate pages through a listing already in memory, sorted by pos.
func paginate[T any](all []T, pos func(T) string, marker *string, max int) ([]T, bool, string, error) {
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, false, "", err
	}
	start := 0
	if after != "" {
		for start < len(all) && pos(all[start]) <= after {
			start++
		}
	}
	rest := all[start:]
	if len(rest) <= max {
		return rest, false, "", nil
	}
	return rest[:max], true, encodeMarker(pos(rest[max-1])), nil
}

func decodeInto[T any](it store.Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Value, &v); err != nil {
		return v, fmt.Errorf("iam: decode %s: %w", it.Key, err)
	}
	return v, nil
}

// lastSegment returns the part of key after its last '/'.
func lastSegment(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

// mustJSON encodes v, which is one of this package's record types and
// always encodes.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("iam: encode %T: %v", v, err))
	}
	return b
}
