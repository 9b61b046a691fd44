package ecs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/store"
)

// tblECS holds every ECS document of a tenant; see doc.go for the keys.
var tblECS = store.Table{Name: "ecs", Scope: store.Regional}

// layoutVersion is the version of the persistent layout described in doc.go.
const layoutVersion = 1

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type kv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type strategyItem struct {
	Provider string `json:"provider"`
	Weight   int32  `json:"weight"`
	Base     int32  `json:"base"`
}

type clusterRec struct {
	Layout            int                          `json:"layout"`
	Name              string                       `json:"name"`
	Status            string                       `json:"status"` // ACTIVE or INACTIVE
	Created           time.Time                    `json:"created"`
	Settings          []kv                         `json:"settings,omitempty"`
	Tags              []tag                        `json:"tags,omitempty"`
	CapacityProviders []string                     `json:"capacityProviders,omitempty"`
	Strategy          []strategyItem               `json:"strategy,omitempty"`
	Configuration     *ecsapi.ClusterConfiguration `json:"configuration,omitempty"`
	Namespace         string                       `json:"namespace,omitempty"` // service connect default
}

type familyRec struct {
	Name         string `json:"name"`
	LastRevision int32  `json:"lastRevision"`
}

// taskDefRec is one revision. Def is the normalized definition as
// DescribeTaskDefinition returns it (generated type, encoded with its Go
// field names).
type taskDefRec struct {
	Layout int                   `json:"layout"`
	Def    ecsapi.TaskDefinition `json:"def"`
	Tags   []tag                 `json:"tags,omitempty"`
}

type instanceRec struct {
	Layout        int                 `json:"layout"`
	ID            string              `json:"id"`
	Cluster       string              `json:"cluster"`
	Status        string              `json:"status"` // ACTIVE, DRAINING, INACTIVE
	StatusReason  string              `json:"statusReason,omitempty"`
	Registered    time.Time           `json:"registered"`
	EC2InstanceID string              `json:"ec2InstanceId"`
	RegRes        []ecsapi.Resource   `json:"registeredResources"`
	Remaining     []ecsapi.Resource   `json:"remainingResources"`
	Attributes    []kv                `json:"attributes,omitempty"` // built-in and the agent's
	Custom        []kv                `json:"custom,omitempty"`     // PutAttributes
	Groups        map[string]int      `json:"groups,omitempty"`     // task group -> tasks placed here and not stopped
	Tags          []tag               `json:"tags,omitempty"`
	VersionInfo   *ecsapi.VersionInfo `json:"versionInfo,omitempty"`
	Connected     bool                `json:"connected"`
	Version       int64               `json:"version"`
	Running       int32               `json:"running"`
	Pending       int32               `json:"pending"`
}

// ec2IndexRec finds a cluster's registration of an EC2 instance ID.
type ec2IndexRec struct {
	ID string `json:"id"`
}

type settingRec struct {
	Name         string `json:"name"`
	Value        string `json:"value"`
	PrincipalArn string `json:"principalArn"`
}

// Keys.

func clusterKey(name string) string      { return "cluster/" + name }
func familyKey(family string) string     { return "tdfamily/" + family }
func taskDefPrefix(family string) string { return "taskdef/" + family + "!" }
func taskDefKey(family string, rev int32) string {
	return fmt.Sprintf("%s%010d", taskDefPrefix(family), rev)
}
func instancePrefix(cluster string) string        { return "instance/" + cluster + "/" }
func instanceKey(cluster, id string) string       { return instancePrefix(cluster) + id }
func ec2IndexKey(cluster, ec2ID string) string    { return "ec2id/" + cluster + "/" + ec2ID }
func taskPrefix(cluster string) string            { return "task/" + cluster + "/" }
func taskKey(cluster, id string) string           { return taskPrefix(cluster) + id }
func clientTokenKey(token string) string          { return "clienttoken/" + token }
func settingKey(principalArn, name string) string { return "setting/" + principalArn + "/" + name }

// defaultPrincipal is the principal key of the account defaults set by
// PutAccountSettingDefault.
const defaultPrincipal = "default"

func getJSON(tx store.Tx, key string, v any) (int64, error) {
	it, err := tx.Get(tblECS, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return 0, fmt.Errorf("ecs: decode %s: %w", key, err)
	}
	return it.Revision, nil
}

func putJSON(tx store.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Put(tblECS, key, b)
	return err
}

func putJSONIf(tx store.Tx, key string, v any, rev int64) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.PutIf(tblECS, key, b, rev)
	return err
}

func decode[T any](it store.Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Value, &v); err != nil {
		return v, fmt.Errorf("ecs: decode %s: %w", it.Key, err)
	}
	return v, nil
}

// scanAll decodes every item under prefix.
func scanAll[T any](tx store.Tx, prefix string) ([]T, error) {
	items, err := tx.Scan(tblECS, prefix, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		v, err := decode[T](it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// Pagination. Tokens are opaque to callers: base64 of the position after
// which the next page starts.

func maxResults(p *int32, def, max int) int {
	if p == nil || *p <= 0 {
		return def
	}
	if int(*p) > max {
		return max
	}
	return int(*p)
}

func encodeToken(pos string) string { return base64.RawURLEncoding.EncodeToString([]byte(pos)) }

func decodeToken(t *string) (string, error) {
	if t == nil || *t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*t)
	if err != nil || len(b) == 0 {
		return "", invalidParam("Invalid token %s", *t)
	}
	return string(b), nil
}

// paginate returns the page of all (already in order) that follows the
// token: items whose position is after it in the listing's order, at most
// max, and the token of the next page ("" when it is the last). desc says
// the listing is in descending position order.
func paginate[T any](all []T, pos func(T) string, token *string, max int, desc bool) ([]T, string, error) {
	after, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if after != "" {
		for start < len(all) {
			p := pos(all[start])
			if (!desc && p > after) || (desc && p < after) {
				break
			}
			start++
		}
	}
	rest := all[start:]
	if len(rest) <= max {
		return rest, "", nil
	}
	return rest[:max], encodeToken(pos(rest[max-1])), nil
}

func splitLast(s, sep string) (string, string) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+len(sep):]
}
