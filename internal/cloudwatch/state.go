package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// ErrInvalidFormat: StateReasonData that is not JSON (InvalidFormat).
var ErrInvalidFormat = errors.New("cloudwatch: invalid format")

// SetAlarmState sets an alarm's state by hand; its actions fire as for a
// real transition, and the next evaluation (one period later) decides again.
func (s *Service) SetAlarmState(ctx context.Context, in *cloudwatchapi.SetAlarmStateInput) (*wire.Empty, error) {
	if in.StateReasonData != nil && !json.Valid([]byte(*in.StateReasonData)) {
		return nil, errs.New(ErrInvalidFormat, "The value for parameter StateReasonData is not valid JSON.")
	}
	switch v := deref(in.StateValue); v {
	case StateOK, StateAlarm, StateInsufficientData:
	default:
		return nil, invalid("The value %s for parameter StateValue is invalid.", v)
	}
	name := deref(in.AlarmName)
	now := s.now()
	var fired *transition
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, rev, err := getAlarm(tx, name)
		if err != nil {
			return err
		}
		res := Result{State: *in.StateValue, Reason: deref(in.StateReason), ReasonData: deref(in.StateReasonData)}
		fired, err = s.applyResult(tx, d, rev, res, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if fired != nil {
		s.runActions(ctx, fired)
		s.markEvaluated(*fired.alarm.AlarmArn, now)
	}
	return &wire.Empty{}, nil
}

// transition is a state change whose actions are to run.
type transition struct {
	alarm    cloudwatchapi.MetricAlarm
	oldState string
	at       time.Time
}

// applyResult stores an evaluation or SetAlarmState result. On a state
// change it records a StateUpdate history item and returns the transition.
func (s *Service) applyResult(tx store.Tx, d *alarmDoc, rev int64, res Result, now time.Time) (*transition, error) {
	a := &d.Alarm
	old := deref(a.StateValue)
	t := now.UTC()
	// The state and its reason change only on a transition, as in
	// CloudWatch: the reason explains the last change of state.
	if res.Keep || old == res.State {
		return nil, nil
	}
	oldReason, oldData := deref(a.StateReason), deref(a.StateReasonData)
	a.StateValue, a.StateReason = &res.State, &res.Reason
	a.StateReasonData = nil
	if res.ReasonData != "" {
		a.StateReasonData = &res.ReasonData
	}
	a.StateUpdatedTimestamp, a.StateTransitionedTimestamp = &t, &t
	if err := putAlarm(tx, d, rev); err != nil {
		return nil, err
	}
	type st struct {
		StateValue      string          `json:"stateValue"`
		StateReason     string          `json:"stateReason"`
		StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
	}
	raw := func(s string) json.RawMessage {
		if s == "" || !json.Valid([]byte(s)) {
			return nil
		}
		return json.RawMessage(s)
	}
	data, _ := json.Marshal(map[string]any{"version": "1.0",
		"oldState": st{old, oldReason, raw(oldData)}, "newState": st{res.State, res.Reason, raw(res.ReasonData)}})
	summary := fmt.Sprintf("Alarm updated from %s to %s", old, res.State)
	if err := addHistory(tx, historyItem(*a.AlarmName, "StateUpdate", summary, string(data), t)); err != nil {
		return nil, err
	}
	return &transition{alarm: *a, oldState: old, at: t}, nil
}

// actionsFor returns the actions an alarm runs in state.
func actionsFor(a *cloudwatchapi.MetricAlarm, state string) []string {
	switch state {
	case StateAlarm:
		return a.AlarmActions
	case StateOK:
		return a.OKActions
	}
	return a.InsufficientDataActions
}

func isScalingAction(action string) bool {
	return strings.HasPrefix(action, "arn:aws:autoscaling:") && strings.Contains(action, ":scalingPolicy:")
}

// runActions fires the actions of a transition and records an Action
// history item for each. Application Auto Scaling policies go to the hook;
// other targets (SNS, EC2, Lambda…) are not served by Wharf and are
// recorded as failed, as CloudWatch does for a target that does not exist.
func (s *Service) runActions(ctx context.Context, tr *transition) {
	a := &tr.alarm
	if a.ActionsEnabled != nil && !*a.ActionsEnabled {
		return
	}
	actions := actionsFor(a, *a.StateValue)
	if len(actions) == 0 {
		return
	}
	hook := s.actionHook()
	var items []cloudwatchapi.AlarmHistoryItem
	for _, act := range actions {
		var summary, data string
		if isScalingAction(act) && hook != nil {
			hook(ctx, *a.AlarmArn, act, *a.StateValue)
			summary = "Successfully executed action " + act
			data, _ = marshalString(map[string]any{"actionState": "Succeeded", "notificationResource": act, "stateUpdateTimestamp": tr.at.UnixMilli()})
		} else {
			summary = "Failed to execute action " + act + ". Received error: \"Resource not found.\""
			data, _ = marshalString(map[string]any{"actionState": "Failed", "notificationResource": act, "stateUpdateTimestamp": tr.at.UnixMilli(),
				"error": "Resource not found."})
			s.log.Info("cloudwatch alarm action not executed: target not served", "alarm", *a.AlarmName, "action", act)
		}
		items = append(items, historyItem(*a.AlarmName, "Action", summary, data, s.now()))
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for _, it := range items {
			if err := addHistory(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("cloudwatch: record action history", "alarm", *a.AlarmName, "err", err)
	}
}

// repeatScalingActions calls the hook again for the scaling-policy actions
// of an alarm that stays in its state: CloudWatch invokes Auto Scaling
// actions once per evaluation while the state lasts.
func (s *Service) repeatScalingActions(ctx context.Context, a *cloudwatchapi.MetricAlarm) {
	hook := s.actionHook()
	if hook == nil || (a.ActionsEnabled != nil && !*a.ActionsEnabled) {
		return
	}
	for _, act := range actionsFor(a, deref(a.StateValue)) {
		if isScalingAction(act) {
			hook(ctx, *a.AlarmArn, act, *a.StateValue)
		}
	}
}

func marshalString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
