package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
	"github.com/wharfhq/wharf/internal/wire"
)

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// PutRetentionPolicy sets how long a group keeps events.
func (s *Service) PutRetentionPolicy(ctx context.Context, in *logsapi.PutRetentionPolicyRequest) (*wire.Empty, error) {
	days := ptr.Value(in.RetentionInDays)
	if !slices.Contains(retentionDays, days) {
		return nil, errs.New(ErrInvalidParameter, "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", days, retentionDays)
	}
	return s.setRetention(ctx, ptr.Value(in.LogGroupName), days)
}

// DeleteRetentionPolicy makes a group keep events forever.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, in *logsapi.DeleteRetentionPolicyRequest) (*wire.Empty, error) {
	return s.setRetention(ctx, ptr.Value(in.LogGroupName), 0)
}

func (s *Service) setRetention(ctx context.Context, name string, days int32) (*wire.Empty, error) {
	acct, region, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	key := acct + "/" + region + "/" + name
	err = s.st.Update(ctx, func(tx store.Tx) error {
		g, _, err := loadGroup(tx, name)
		if err != nil {
			return err
		}
		g.RetentionDays = days
		if err := putJSON(tx, tblGroups, name, g); err != nil {
			return err
		}
		if days == 0 {
			if err := tx.Delete(tblRetention, key); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}
		return putJSON(tx, tblRetention, key, retentionDoc{Account: acct, Region: region, Group: name, GroupID: g.ID, Days: days})
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// SweepRetention deletes the segments of every group with a retention
// policy whose events are all older than it, and corrects the stored-bytes
// counters. It returns the number of bytes freed. The server's maintenance
// loop calls it; reads already hide expired events.
func (s *Service) SweepRetention(ctx context.Context, now time.Time) (int, error) {
	var docs []retentionDoc
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblRetention, "", "", 0)
		for _, it := range items {
			var d retentionDoc
			if json.Unmarshal(it.Value, &d) == nil {
				docs = append(docs, d)
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var freed int64
	var errList []error
	for _, d := range docs {
		n, err := s.expireGroup(tenancy.With(ctx, d.Account, d.Region), d, now.UnixMilli()-int64(d.Days)*86_400_000)
		freed += n
		if err != nil {
			errList = append(errList, fmt.Errorf("logs: retention of %s: %w", d.Group, err))
		}
	}
	return int(freed), errors.Join(errList...)
}

func (s *Service) expireGroup(ctx context.Context, d retentionDoc, before int64) (int64, error) {
	var streams []streamDoc
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblStreams, d.GroupID+"/", "", 0)
		for _, it := range items {
			var sd streamDoc
			if json.Unmarshal(it.Value, &sd) == nil {
				streams = append(streams, sd)
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, sd := range streams {
		if sd.Events == 0 || sd.FirstEvent >= before {
			continue
		}
		ref := logstoreRef(d.Account, d.Region, d.GroupID, sd.ID)
		n, err := s.events.Expire(ref, before)
		if err != nil {
			return total, err
		}
		if n == 0 {
			continue
		}
		total += n
		st, err := s.events.Stats(ref)
		if err != nil {
			return total, err
		}
		err = s.st.Update(ctx, func(tx store.Tx) error {
			cur, err := loadStream(tx, d.GroupID, sd.Name)
			if err != nil || cur.ID != sd.ID {
				return nil
			}
			delta := cur.Bytes - st.Bytes
			cur.FirstEvent, cur.Bytes, cur.Events = st.FirstEvent, st.Bytes, int64(st.Count)
			if err := putJSON(tx, tblStreams, d.GroupID+"/"+sd.Name, cur); err != nil {
				return err
			}
			return s.addGroupBytes(tx, d.Group, -delta)
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
