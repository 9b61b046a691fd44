package cloudwatch

import (
	"context"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

// alarmOfARN returns the name of the alarm an ARN of this tenant names.
func alarmOfARN(ctx context.Context, resource string) (string, error) {
	a, err := arn.Parse(resource)
	name, ok := "", false
	if err == nil && a.Service == "cloudwatch" {
		var kind string
		kind, name, ok = strings.Cut(a.Resource, ":")
		ok = ok && kind == "alarm"
	}
	if !ok {
		return "", invalid("The value %s for parameter ResourceARN is invalid.", resource)
	}
	if want, err := alarmARN(ctx, name); err != nil || want != resource {
		return "", errs.New(ErrResourceNotFoundException, "The resource %s does not exist.", resource)
	}
	return name, nil
}

func (s *Service) updateTags(ctx context.Context, resource string, fn func(*alarmDoc) error) error {
	name, err := alarmOfARN(ctx, resource)
	if err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, rev, err := getAlarm(tx, name)
		if errors.Is(err, ErrResourceNotFound) {
			return errs.New(ErrResourceNotFoundException, "The resource %s does not exist.", resource)
		}
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		return putAlarm(tx, d, rev)
	})
}

// TagResource adds or replaces tags of an alarm.
func (s *Service) TagResource(ctx context.Context, in *cloudwatchapi.TagResourceInput) (*cloudwatchapi.TagResourceOutput, error) {
	err := s.updateTags(ctx, deref(in.ResourceARN), func(d *alarmDoc) error {
		for _, t := range in.Tags {
			replaced := false
			for i := range d.Tags {
				if deref(d.Tags[i].Key) == deref(t.Key) {
					d.Tags[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				d.Tags = append(d.Tags, t)
			}
		}
		if len(d.Tags) > maxTags {
			return errs.New(ErrLimitExceeded, "The maximum number of tags (%d) was exceeded.", maxTags)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &cloudwatchapi.TagResourceOutput{}, nil
}

// UntagResource removes tags of an alarm.
func (s *Service) UntagResource(ctx context.Context, in *cloudwatchapi.UntagResourceInput) (*cloudwatchapi.UntagResourceOutput, error) {
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		drop[k] = true
	}
	err := s.updateTags(ctx, deref(in.ResourceARN), func(d *alarmDoc) error {
		kept := d.Tags[:0]
		for _, t := range d.Tags {
			if !drop[deref(t.Key)] {
				kept = append(kept, t)
			}
		}
		d.Tags = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &cloudwatchapi.UntagResourceOutput{}, nil
}

// ListTagsForResource lists an alarm's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *cloudwatchapi.ListTagsForResourceInput) (*cloudwatchapi.ListTagsForResourceOutput, error) {
	resource := deref(in.ResourceARN)
	name, err := alarmOfARN(ctx, resource)
	if err != nil {
		return nil, err
	}
	var d *alarmDoc
	err = s.st.View(ctx, func(tx store.Tx) (err error) { d, _, err = getAlarm(tx, name); return err })
	if errors.Is(err, ErrResourceNotFound) {
		return nil, errs.New(ErrResourceNotFoundException, "The resource %s does not exist.", resource)
	}
	if err != nil {
		return nil, err
	}
	return &cloudwatchapi.ListTagsForResourceOutput{Tags: orEmpty(d.Tags)}, nil
}

// ResourceARN names the resource an operation acts on, for IAM.
func (s *Service) ResourceARN(ctx context.Context, op string, in map[string]any) string {
	switch op {
	case "PutMetricAlarm", "SetAlarmState", "DescribeAlarmHistory":
		if n, ok := in["AlarmName"].(string); ok {
			a, _ := alarmARN(ctx, n)
			return a
		}
	case "TagResource", "UntagResource", "ListTagsForResource":
		if r, ok := in["ResourceARN"].(string); ok {
			return r
		}
	}
	return ""
}
