package autoscaling

import (
	"context"
	"fmt"
	"math"
	"sort"

	aas "github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/internal/store"
)

// maxActivities is how many activities a scalable target keeps (the
// oldest go first); AWS keeps six weeks of them.
const maxActivities = 1000

// record stores a scaling activity of t.
func (s *Service) record(ctx context.Context, t targetID, a aas.ScalingActivity, notScaled bool) {
	now := s.now().UTC()
	if a.StartTime == nil {
		a.StartTime = &now
	}
	if a.EndTime == nil {
		a.EndTime = &now
	}
	a.ActivityId = ptr(newUUID())
	a.ServiceNamespace, a.ScalableDimension, a.ResourceId = &t.ns, &t.dim, &t.rid
	key := fmt.Sprintf("%s%020d|%s", activityPrefix(t), math.MaxInt64-a.StartTime.UnixNano(), *a.ActivityId)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if err := putDoc(tx, key, activityDoc{Activity: a, NotScaled: notScaled}, 0); err != nil {
			return err
		}
		items, err := tx.Scan(tblAS, activityPrefix(t), "", maxActivities+1)
		if err != nil || len(items) <= maxActivities {
			return err
		}
		_, err = tx.DeleteRange(tblAS, items[maxActivities].Key, activityPrefix(t)+"\xff")
		return err
	})
	if err != nil {
		s.log.Error("autoscaling: record activity", "resource", t.rid, "err", err)
	}
}

// DescribeScalingActivities lists scaling activities, newest first.
func (s *Service) DescribeScalingActivities(ctx context.Context, in *aas.DescribeScalingActivitiesRequest) (*aas.DescribeScalingActivitiesResponse, error) {
	if err := checkNamespace(deref(in.ServiceNamespace)); err != nil {
		return nil, err
	}
	prefix := "activity/" + nsECS + "|"
	if in.ResourceId != nil {
		t, err := parseTarget(in.ServiceNamespace, ptr(deref(in.ScalableDimension, dimECS)), in.ResourceId)
		if err != nil {
			return nil, err
		}
		prefix = activityPrefix(t)
	}
	var docs []*activityDoc
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		docs, _, err = listDocs[activityDoc](tx, prefix)
		return err
	})
	if err != nil {
		return nil, err
	}
	var acts []aas.ScalingActivity
	for _, d := range docs {
		if d.NotScaled && !deref(in.IncludeNotScaledActivities, false) {
			continue
		}
		if in.ScalableDimension != nil && *in.ScalableDimension != *d.Activity.ScalableDimension {
			continue
		}
		acts = append(acts, d.Activity)
	}
	sort.SliceStable(acts, func(i, j int) bool { return acts[i].StartTime.After(*acts[j].StartTime) })
	keyOf := func(a aas.ScalingActivity) string {
		return fmt.Sprintf("%020d|%s", math.MaxInt64-a.StartTime.UnixNano(), *a.ActivityId)
	}
	pg, next, err := page(acts, keyOf, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	if pg == nil {
		pg = []aas.ScalingActivity{}
	}
	return &aas.DescribeScalingActivitiesResponse{ScalingActivities: pg, NextToken: next}, nil
}
