package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	aas "github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/autoscaling/decide"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

func noScheduled(t targetID, name string) error {
	return errs.New(ErrObjectNotFound, "No scheduled action found for %s, scheduled action name: %s", t.describe(), name)
}

// nextRun is when a scheduled action runs next after `after`; zero when
// never (an at() in the past, past the EndTime, an impossible cron).
func nextRun(a *aas.ScheduledAction, after time.Time) time.Time {
	sched, err := decide.ParseSchedule(deref(a.Schedule))
	if err != nil {
		return time.Time{}
	}
	loc := time.UTC
	if a.Timezone != nil {
		if l, err := time.LoadLocation(*a.Timezone); err == nil {
			loc = l
		}
	}
	anchor, fires := deref(a.CreationTime), false
	if a.StartTime != nil {
		anchor, fires = *a.StartTime, true
		if a.StartTime.After(after) {
			after = a.StartTime.Add(-time.Nanosecond)
		}
	}
	t, ok := sched.Next(after, loc, anchor, fires)
	if !ok || (a.EndTime != nil && t.After(*a.EndTime)) {
		return time.Time{}
	}
	return t.UTC()
}

// PutScheduledAction creates or updates a scheduled action.
func (s *Service) PutScheduledAction(ctx context.Context, in *aas.PutScheduledActionRequest) (*aas.PutScheduledActionResponse, error) {
	t, err := parseTarget(in.ServiceNamespace, in.ScalableDimension, in.ResourceId)
	if err != nil {
		return nil, err
	}
	name := deref(in.ScheduledActionName)
	if in.Schedule != nil {
		if _, err := decide.ParseSchedule(*in.Schedule); err != nil {
			return nil, invalid("Schedule %s is not valid: %v", *in.Schedule, err)
		}
	}
	if in.Timezone != nil {
		if _, err := time.LoadLocation(*in.Timezone); err != nil || *in.Timezone == "" || *in.Timezone == "Local" {
			return nil, invalid("Unrecognized time zone: %s", *in.Timezone)
		}
	}
	if a := in.ScalableTargetAction; a != nil {
		if a.MinCapacity != nil && *a.MinCapacity < 0 || a.MaxCapacity != nil && *a.MaxCapacity < 0 {
			return nil, invalid("Capacity in ScalableTargetAction cannot be less than 0")
		}
		if a.MinCapacity != nil && a.MaxCapacity != nil && *a.MinCapacity > *a.MaxCapacity {
			return nil, invalid("Minimum capacity cannot be greater than maximum capacity")
		}
	}
	now := s.now().UTC()
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, _, err := getTarget(tx, t); err != nil {
			return err
		}
		d, rev, err := getDoc[scheduledDoc](tx, scheduledKey(t, name), noScheduled(t, name))
		if errors.Is(err, ErrObjectNotFound) {
			if in.Schedule == nil {
				return invalid("Schedule is required for a new scheduled action")
			}
			if a := in.ScalableTargetAction; a == nil || (a.MinCapacity == nil && a.MaxCapacity == nil) {
				return invalid("ScalableTargetAction with MinCapacity or MaxCapacity is required for a new scheduled action")
			}
			n, err := tx.Count(tblAS, "scheduled/"+t.key()+"|")
			if err != nil {
				return err
			}
			if n >= maxScheduled {
				return errs.New(ErrLimitExceeded, "Number of scheduled actions for this scalable target exceeds the limit of %d", maxScheduled)
			}
			a, err := arn.Regional(ctx, "autoscaling", "scheduledAction:"+newUUID()+":resource/"+t.ns+"/"+t.rid+":scheduledActionName/"+name)
			if err != nil {
				return err
			}
			d = &scheduledDoc{Action: aas.ScheduledAction{ScheduledActionName: &name, ScheduledActionARN: &a,
				ServiceNamespace: &t.ns, ScalableDimension: &t.dim, ResourceId: &t.rid, CreationTime: &now}}
		} else if err != nil {
			return err
		}
		a := &d.Action
		if in.Schedule != nil {
			a.Schedule = in.Schedule
			// A changed schedule counts from now, as a new one.
			a.CreationTime = &now
		}
		if in.Timezone != nil {
			a.Timezone = in.Timezone
		}
		if in.StartTime != nil {
			a.StartTime = ptr(in.StartTime.UTC())
		}
		if in.EndTime != nil {
			a.EndTime = ptr(in.EndTime.UTC())
		}
		if a.StartTime != nil && a.EndTime != nil && !a.StartTime.Before(*a.EndTime) {
			return invalid("StartTime must be before EndTime")
		}
		if sa := in.ScalableTargetAction; sa != nil {
			if a.ScalableTargetAction == nil {
				a.ScalableTargetAction = &aas.ScalableTargetAction{}
			}
			if sa.MinCapacity != nil {
				a.ScalableTargetAction.MinCapacity = sa.MinCapacity
			}
			if sa.MaxCapacity != nil {
				a.ScalableTargetAction.MaxCapacity = sa.MaxCapacity
			}
		}
		d.Next = nextRun(a, now.Add(-time.Nanosecond))
		return putDoc(tx, scheduledKey(t, name), d, rev)
	})
	if err != nil {
		return nil, err
	}
	return &aas.PutScheduledActionResponse{}, nil
}

// DescribeScheduledActions lists scheduled actions.
func (s *Service) DescribeScheduledActions(ctx context.Context, in *aas.DescribeScheduledActionsRequest) (*aas.DescribeScheduledActionsResponse, error) {
	if err := checkNamespace(deref(in.ServiceNamespace)); err != nil {
		return nil, err
	}
	if len(in.ScheduledActionNames) > 50 {
		return nil, invalid("ScheduledActionNames cannot contain more than 50 items")
	}
	var docs []*scheduledDoc
	var keys []string
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		docs, keys, err = listDocs[scheduledDoc](tx, "scheduled/"+nsECS+"|")
		return err
	})
	if err != nil {
		return nil, err
	}
	type kd struct {
		key string
		a   aas.ScheduledAction
	}
	var items []kd
	for i, d := range docs {
		a := d.Action
		if (in.ResourceId != nil && *in.ResourceId != *a.ResourceId) || (in.ScalableDimension != nil && *in.ScalableDimension != *a.ScalableDimension) ||
			(len(in.ScheduledActionNames) > 0 && !slices.Contains(in.ScheduledActionNames, *a.ScheduledActionName)) {
			continue
		}
		items = append(items, kd{keys[i], a})
	}
	pg, next, err := page(items, func(x kd) string { return x.key }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &aas.DescribeScheduledActionsResponse{ScheduledActions: []aas.ScheduledAction{}, NextToken: next}
	for _, x := range pg {
		out.ScheduledActions = append(out.ScheduledActions, x.a)
	}
	return out, nil
}

// DeleteScheduledAction deletes a scheduled action.
func (s *Service) DeleteScheduledAction(ctx context.Context, in *aas.DeleteScheduledActionRequest) (*aas.DeleteScheduledActionResponse, error) {
	t, err := parseTarget(in.ServiceNamespace, in.ScalableDimension, in.ResourceId)
	if err != nil {
		return nil, err
	}
	name := deref(in.ScheduledActionName)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, _, err := getDoc[scheduledDoc](tx, scheduledKey(t, name), noScheduled(t, name)); err != nil {
			return err
		}
		return tx.Delete(tblAS, scheduledKey(t, name))
	})
	if err != nil {
		return nil, err
	}
	return &aas.DeleteScheduledActionResponse{}, nil
}

// Start runs the scheduled-action loop until Stop.
func (s *Service) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := s.RunScheduled(ctx, s.now()); err != nil && ctx.Err() == nil {
				s.log.Error("autoscaling: scheduled actions", "err", err)
			}
		}
	}()
}

// Stop ends the loop and waits for it.
func (s *Service) Stop() {
	s.stopOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
	})
}

// RunScheduled runs every scheduled action due at now, of every tenant.
func (s *Service) RunScheduled(ctx context.Context, now time.Time) error {
	return tenants.ForEach(ctx, s.st, func(ctx context.Context) error {
		var docs []*scheduledDoc
		err := s.st.View(ctx, func(tx store.Tx) (err error) {
			docs, _, err = listDocs[scheduledDoc](tx, "scheduled/")
			return err
		})
		if err != nil {
			return err
		}
		var errsList []error
		for _, d := range docs {
			if d.Next.IsZero() || d.Next.After(now) {
				continue
			}
			if err := s.runScheduled(ctx, d, now); err != nil {
				errsList = append(errsList, err)
			}
		}
		return errors.Join(errsList...)
	})
}

func (s *Service) runScheduled(ctx context.Context, d *scheduledDoc, now time.Time) error {
	a := &d.Action
	t, err := parseTarget(a.ServiceNamespace, a.ScalableDimension, a.ResourceId)
	if err != nil {
		return err
	}
	name := *a.ScheduledActionName
	s.scaleMu.Lock()
	defer s.scaleMu.Unlock()
	var lo, hi int
	ran := false
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, rev, err := getDoc[scheduledDoc](tx, scheduledKey(t, name), noScheduled(t, name))
		if err != nil {
			return err
		}
		if !cur.Next.Equal(d.Next) {
			return nil // changed meanwhile
		}
		cur.Next = nextRun(&cur.Action, now)
		if err := putDoc(tx, scheduledKey(t, name), cur, rev); err != nil {
			return err
		}
		tgt, trev, err := getTarget(tx, t)
		if err != nil {
			return err
		}
		if deref(tgt.Target.SuspendedState.ScheduledScalingSuspended) {
			return nil // skipped, not postponed
		}
		sa := cur.Action.ScalableTargetAction
		if sa == nil {
			return nil
		}
		lo, hi = int(*tgt.Target.MinCapacity), int(*tgt.Target.MaxCapacity)
		if sa.MinCapacity != nil {
			lo = int(*sa.MinCapacity)
		}
		if sa.MaxCapacity != nil {
			hi = int(*sa.MaxCapacity)
		}
		if lo > hi {
			if sa.MinCapacity != nil {
				hi = lo
			} else {
				lo = hi
			}
		}
		tgt.Target.MinCapacity, tgt.Target.MaxCapacity = ptr(int32(lo)), ptr(int32(hi))
		ran = true
		return putDoc(tx, targetKey(t), tgt, trev)
	})
	if errors.Is(err, ErrObjectNotFound) {
		return nil
	}
	if err != nil || !ran {
		return err
	}
	cause := fmt.Sprintf("scheduled action name %s was triggered", name)
	msg := fmt.Sprintf("min capacity to %d and max capacity to %d", lo, hi)
	s.record(ctx, t, aas.ScalingActivity{Cause: &cause, Description: ptr("Setting " + msg),
		StatusCode: ptr(aas.ScalingActivityStatusCodeSuccessful), StatusMessage: ptr("Successfully set " + msg)}, false)
	cur, _, err := s.scaler.Capacity(ctx, t.cluster, t.service)
	if err != nil {
		return nil // the service is gone; nothing to move
	}
	if n := decide.Clamp(cur, lo, hi); n != cur {
		c := fmt.Sprintf("minimum capacity was set to %d", lo)
		if n < cur {
			c = fmt.Sprintf("maximum capacity was set to %d", hi)
		}
		s.setCapacity(ctx, t, cur, n, c)
	}
	return nil
}
