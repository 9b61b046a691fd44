package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// maxTags is CloudWatch Logs' quota of tags per log group.
const maxTags = 50

// CreateLogGroup creates a log group.
func (s *Service) CreateLogGroup(ctx context.Context, in *logsapi.CreateLogGroupRequest) (*wire.Empty, error) {
	name := ptr.Value(in.LogGroupName)
	if len(in.Tags) > maxTags {
		return nil, errs.New(ErrInvalidParameter, "A log group can have at most %d tags.", maxTags)
	}
	if strings.HasPrefix(name, "aws/") {
		return nil, errs.New(ErrInvalidParameter, "Log group names starting with aws/ are reserved for AWS.")
	}
	g := groupDoc{Name: name, ID: newID(), Created: s.nowMS(), KMSKeyID: ptr.Value(in.KmsKeyId),
		Class: ptr.Or(in.LogGroupClass, "STANDARD"), DeletionProtection: ptr.Value(in.DeletionProtectionEnabled)}
	if len(in.Tags) > 0 {
		g.Tags = in.Tags
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		b, err := json.Marshal(g)
		if err != nil {
			return err
		}
		if _, err := tx.PutIf(tblGroups, name, b, 0); errors.Is(err, store.ErrConflict) {
			return errs.New(ErrExists, "The specified log group already exists")
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// DeleteLogGroup deletes a log group, its streams and their events.
func (s *Service) DeleteLogGroup(ctx context.Context, in *logsapi.DeleteLogGroupRequest) (*wire.Empty, error) {
	acct, region, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	name := ptr.Value(in.LogGroupName)
	var g groupDoc
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if g, _, err = loadGroup(tx, name); err != nil {
			return err
		}
		if g.DeletionProtection {
			return errs.New(ErrInvalidParameter, "Log group %s has deletion protection enabled.", name)
		}
		if err := tx.Delete(tblGroups, name); err != nil {
			return err
		}
		if _, err := tx.DeleteRange(tblStreams, g.ID+"/", g.ID+"0"); err != nil { // '0' sorts right after '/'
			return err
		}
		if err := tx.Delete(tblRetention, acct+"/"+region+"/"+name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.events.DeleteGroup(logstoreRef(acct, region, g.ID, "")); err != nil {
		s.log.Warn("logs: delete group events", "group", name, "err", err)
	}
	return &wire.Empty{}, nil
}

// DescribeLogGroups lists log groups by name, with a prefix or a
// case-sensitive substring pattern.
func (s *Service) DescribeLogGroups(ctx context.Context, in *logsapi.DescribeLogGroupsRequest) (*logsapi.DescribeLogGroupsResponse, error) {
	prefix, pattern := ptr.Value(in.LogGroupNamePrefix), ptr.Value(in.LogGroupNamePattern)
	if prefix != "" && pattern != "" {
		return nil, errs.New(ErrInvalidParameter, "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if len(in.LogGroupIdentifiers) > 0 && (prefix != "" || pattern != "") {
		return nil, errs.New(ErrInvalidParameter, "LogGroupIdentifiers cannot be combined with a name prefix or pattern.")
	}
	limit := int(ptr.Or(in.Limit, 50))
	after, err := decodeNameToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	idents := map[string]bool{}
	for _, id := range in.LogGroupIdentifiers {
		n, err := groupNameOf(nil, &id)
		if err != nil {
			return nil, err
		}
		idents[n] = true
	}
	out := &logsapi.DescribeLogGroupsResponse{LogGroups: []logsapi.LogGroup{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		for {
			items, err := tx.Scan(tblGroups, prefix, after, 200)
			if err != nil {
				return err
			}
			for _, it := range items {
				after = it.Key
				if pattern != "" && !strings.Contains(it.Key, pattern) || len(idents) > 0 && !idents[it.Key] {
					continue
				}
				if len(out.LogGroups) == limit {
					out.NextToken = encodeNameToken(out.LogGroups[limit-1].LogGroupName)
					return nil
				}
				var g groupDoc
				if err := json.Unmarshal(it.Value, &g); err != nil {
					return err
				}
				out.LogGroups = append(out.LogGroups, s.groupOut(ctx, g))
			}
			if len(items) < 200 {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) groupOut(ctx context.Context, g groupDoc) logsapi.LogGroup {
	out := logsapi.LogGroup{
		Arn:                       ptr.To(GroupARN(ctx, g.Name)),
		LogGroupArn:               ptr.To(groupARNNoStar(ctx, g.Name)),
		CreationTime:              ptr.To(g.Created),
		LogGroupName:              ptr.To(g.Name),
		LogGroupClass:             ptr.To(g.Class),
		MetricFilterCount:         ptr.To(int32(0)),
		StoredBytes:               ptr.To(g.Bytes),
		DeletionProtectionEnabled: ptr.To(g.DeletionProtection),
	}
	if g.RetentionDays > 0 {
		out.RetentionInDays = ptr.To(g.RetentionDays)
	}
	if g.KMSKeyID != "" {
		out.KmsKeyId = ptr.To(g.KMSKeyID)
	}
	return out
}

// Name tokens carry the last name returned, opaque to the caller.
func encodeNameToken(name *string) *string {
	return ptr.To(base64.RawURLEncoding.EncodeToString([]byte("n/" + ptr.Value(name))))
}

func decodeNameToken(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || !strings.HasPrefix(string(b), "n/") {
		return "", errs.New(ErrInvalidParameter, "The specified nextToken is invalid.")
	}
	return string(b[2:]), nil
}
