package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"slices"

	aas "github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/autoscaling/decide"
	"github.com/wharfhq/wharf/internal/store"
)

// RegisterScalableTarget creates a scalable target for an ECS service, or
// updates the one registered. The service's desired count is moved into
// [MinCapacity, MaxCapacity], as AWS does.
func (s *Service) RegisterScalableTarget(ctx context.Context, in *aas.RegisterScalableTargetRequest) (*aas.RegisterScalableTargetResponse, error) {
	t, err := parseTarget(in.ServiceNamespace, in.ScalableDimension, in.ResourceId)
	if err != nil {
		return nil, err
	}
	if in.MinCapacity != nil && *in.MinCapacity < 0 {
		return nil, invalid("Minimum capacity cannot be less than 0")
	}
	if in.MaxCapacity != nil && *in.MaxCapacity < 0 {
		return nil, invalid("Maximum capacity cannot be less than 0")
	}
	if len(in.Tags) > maxTags {
		return nil, invalid("Number of tags cannot exceed %d", maxTags)
	}
	s.scaleMu.Lock()
	defer s.scaleMu.Unlock()
	desired, _, err := s.scaler.Capacity(ctx, t.cluster, t.service)
	if errors.Is(err, ErrServiceNotFound) {
		return nil, invalid("ECS service doesn't exist: %s", t.rid)
	}
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var doc *targetDoc
	err = s.st.Update(ctx, func(tx store.Tx) error {
		old, rev, err := getTarget(tx, t)
		switch {
		case errors.Is(err, ErrObjectNotFound):
			if in.MinCapacity == nil || in.MaxCapacity == nil {
				return invalid("MinCapacity and MaxCapacity are required for registering a new scalable target")
			}
			a, err := arn.Regional(ctx, "application-autoscaling", "scalable-target/"+newHexID(36))
			if err != nil {
				return err
			}
			f := false
			old = &targetDoc{Target: aas.ScalableTarget{
				ServiceNamespace: &t.ns, ScalableDimension: &t.dim, ResourceId: &t.rid, ScalableTargetARN: &a,
				CreationTime: &now, SuspendedState: &aas.SuspendedState{DynamicScalingInSuspended: &f,
					DynamicScalingOutSuspended: ptr(false), ScheduledScalingSuspended: ptr(false)},
			}, Tags: in.Tags}
			if err := tenants.Remember(ctx, tx); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		tg := &old.Target
		if in.MinCapacity != nil {
			tg.MinCapacity = in.MinCapacity
		}
		if in.MaxCapacity != nil {
			tg.MaxCapacity = in.MaxCapacity
		}
		if *tg.MinCapacity > *tg.MaxCapacity {
			return invalid("Minimum capacity cannot be greater than maximum capacity")
		}
		if in.RoleARN != nil {
			tg.RoleARN = in.RoleARN
		}
		if ss := in.SuspendedState; ss != nil {
			if ss.DynamicScalingInSuspended != nil {
				tg.SuspendedState.DynamicScalingInSuspended = ss.DynamicScalingInSuspended
			}
			if ss.DynamicScalingOutSuspended != nil {
				tg.SuspendedState.DynamicScalingOutSuspended = ss.DynamicScalingOutSuspended
			}
			if ss.ScheduledScalingSuspended != nil {
				tg.SuspendedState.ScheduledScalingSuspended = ss.ScheduledScalingSuspended
			}
		}
		doc = old
		return putDoc(tx, targetKey(t), old, rev)
	})
	if err != nil {
		return nil, err
	}
	lo, hi := int(*doc.Target.MinCapacity), int(*doc.Target.MaxCapacity)
	if n := decide.Clamp(desired, lo, hi); n != desired {
		cause := fmt.Sprintf("minimum capacity was set to %d", lo)
		if n < desired {
			cause = fmt.Sprintf("maximum capacity was set to %d", hi)
		}
		s.setCapacity(ctx, t, desired, n, cause)
	}
	return &aas.RegisterScalableTargetResponse{ScalableTargetARN: doc.Target.ScalableTargetARN}, nil
}

// DescribeScalableTargets lists the scalable targets of a namespace.
func (s *Service) DescribeScalableTargets(ctx context.Context, in *aas.DescribeScalableTargetsRequest) (*aas.DescribeScalableTargetsResponse, error) {
	if err := checkNamespace(deref(in.ServiceNamespace)); err != nil {
		return nil, err
	}
	if len(in.ResourceIds) > 50 {
		return nil, invalid("ResourceIds cannot contain more than 50 items")
	}
	var docs []*targetDoc
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		docs, _, err = listDocs[targetDoc](tx, "target/"+nsECS+"|")
		return err
	})
	if err != nil {
		return nil, err
	}
	docs = slices.DeleteFunc(docs, func(d *targetDoc) bool {
		return (in.ScalableDimension != nil && *in.ScalableDimension != *d.Target.ScalableDimension) ||
			(len(in.ResourceIds) > 0 && !slices.Contains(in.ResourceIds, *d.Target.ResourceId))
	})
	keyOf := func(d *targetDoc) string { return *d.Target.ResourceId }
	pg, next, err := page(docs, keyOf, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &aas.DescribeScalableTargetsResponse{ScalableTargets: []aas.ScalableTarget{}, NextToken: next}
	for _, d := range pg {
		out.ScalableTargets = append(out.ScalableTargets, d.Target)
	}
	return out, nil
}

// DeregisterScalableTarget deletes a scalable target with its scaling
// policies (and their alarms), scheduled actions and activities.
func (s *Service) DeregisterScalableTarget(ctx context.Context, in *aas.DeregisterScalableTargetRequest) (*aas.DeregisterScalableTargetResponse, error) {
	t, err := parseTarget(in.ServiceNamespace, in.ScalableDimension, in.ResourceId)
	if err != nil {
		return nil, err
	}
	var alarms []string
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, _, err := getTarget(tx, t); err != nil {
			return err
		}
		pols, _, err := listDocs[policyDoc](tx, "policy/"+t.key()+"|")
		if err != nil {
			return err
		}
		for _, p := range pols {
			alarms = append(alarms, p.ownedAlarms()...)
		}
		for _, prefix := range []string{"policy/" + t.key() + "|", "scheduled/" + t.key() + "|", activityPrefix(t)} {
			if _, err := tx.DeleteRange(tblAS, prefix, prefix+"\xff"); err != nil {
				return err
			}
		}
		return tx.Delete(tblAS, targetKey(t))
	})
	if err != nil {
		return nil, err
	}
	s.deleteAlarms(ctx, alarms)
	return &aas.DeregisterScalableTargetResponse{}, nil
}

func (s *Service) deleteAlarms(ctx context.Context, names []string) {
	if len(names) == 0 {
		return
	}
	if _, err := s.cw.DeleteAlarms(ctx, &cloudwatchapi.DeleteAlarmsInput{AlarmNames: names}); err != nil {
		s.log.Error("autoscaling: delete target tracking alarms", "alarms", names, "err", err)
	}
}
