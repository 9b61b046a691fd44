package autoscaling

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/internal/autoscaling/decide"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// State store layout (table "autoscaling", regional), with T the target
// key "<namespace>|<dimension>|<resource id>":
//
//	target/T                         a scalable target (targetDoc)
//	policy/T|<policy name>           a scaling policy (policyDoc)
//	scheduled/T|<action name>        a scheduled action (scheduledDoc)
//	activity/T|<inverted nanos>|<id> a scaling activity, newest first
//
// and table "autoscaling-tenants" (system): "<account>/<region>" of every
// tenant that ever registered a target, for the scheduled-action loop.
var (
	tblAS = store.Table{Name: "autoscaling", Scope: store.Regional}
)

type targetDoc struct {
	Target   applicationautoscalingapi.ScalableTarget
	Tags     map[string]string `json:",omitempty"`
	Cooldown decide.Cooldown
	// LastNotScaled is the last "not scaled" activity recorded (policy
	// and reason), so an alarm that stays in ALARM at max capacity does
	// not record one every period.
	LastNotScaled string `json:",omitempty"`
}

type policyDoc struct {
	Policy applicationautoscalingapi.ScalingPolicy
	// HighAlarm and LowAlarm are the alarms a target tracking policy owns.
	HighAlarm, LowAlarm string `json:",omitempty"`
}

type scheduledDoc struct {
	Action applicationautoscalingapi.ScheduledAction
	// Next is when the action runs next; zero when it never runs again.
	Next time.Time
}

type activityDoc struct {
	Activity  applicationautoscalingapi.ScalingActivity
	NotScaled bool `json:",omitempty"`
}

func targetKey(t targetID) string              { return "target/" + t.key() }
func policyKey(t targetID, name string) string { return "policy/" + t.key() + "|" + name }
func scheduledKey(t targetID, name string) string {
	return "scheduled/" + t.key() + "|" + name
}
func activityPrefix(t targetID) string { return "activity/" + t.key() + "|" }

func getDoc[T any](tx store.Tx, key string, notFound error) (*T, int64, error) {
	it, err := tx.Get(tblAS, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, notFound
	}
	if err != nil {
		return nil, 0, err
	}
	var d T
	if err := json.Unmarshal(it.Value, &d); err != nil {
		return nil, 0, fmt.Errorf("autoscaling: decode %s: %w", key, err)
	}
	return &d, it.Revision, nil
}

func putDoc(tx store.Tx, key string, d any, rev int64) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = tx.PutIf(tblAS, key, b, rev)
	return err
}

func listDocs[T any](tx store.Tx, prefix string) ([]*T, []string, error) {
	items, err := tx.Scan(tblAS, prefix, "", 0)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*T, 0, len(items))
	keys := make([]string, 0, len(items))
	for _, it := range items {
		var d T
		if err := json.Unmarshal(it.Value, &d); err != nil {
			return nil, nil, fmt.Errorf("autoscaling: decode %s: %w", it.Key, err)
		}
		out = append(out, &d)
		keys = append(keys, it.Key)
	}
	return out, keys, nil
}

func getTarget(tx store.Tx, t targetID) (*targetDoc, int64, error) {
	return getDoc[targetDoc](tx, targetKey(t), noTarget(t))
}

// tokenMark starts every pagination token, so a token this server did not
// issue is refused.
const tokenMark = "wharf-as1:"

// page cuts a sorted list of keyed items after the token's key.
func page[T any](items []T, keyOf func(T) string, token *string, max *int32) ([]T, *string, error) {
	n := defaultPage
	if max != nil {
		n = int(*max)
		if n < 1 || n > maxPage {
			return nil, nil, invalid("MaxResults must be between 1 and %d", maxPage)
		}
	}
	start := 0
	if token != nil && *token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(*token)
		after, ok := strings.CutPrefix(string(raw), tokenMark)
		if err != nil || !ok {
			return nil, nil, errs.New(ErrInvalidNextToken, "Invalid token")
		}
		start = len(items)
		for i, it := range items {
			if keyOf(it) > after {
				start = i
				break
			}
		}
	}
	end := min(start+n, len(items))
	var next *string
	if end < len(items) {
		next = ptr(base64.RawURLEncoding.EncodeToString([]byte(tokenMark + keyOf(items[end-1]))))
	}
	return items[start:end], next, nil
}

// tenants lists the tenants with state here, for the background loop.
var tenants = tenancy.NewIndex("autoscaling-tenants")
