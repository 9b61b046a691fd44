package ecs

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

const (
	tdActive           = "ACTIVE"
	tdInactive         = "INACTIVE"
	tdDeleteInProgress = "DELETE_IN_PROGRESS"
)

func taskDefARN(ctx context.Context, family string, rev int32) string {
	a, _ := arn.Regional(ctx, "ecs", "task-definition/"+family+":"+strconv.Itoa(int(rev)))
	return a
}

// taskDefRef is a parsed task definition identifier: family, family:revision
// or ARN. rev is 0 when only the family is given.
type taskDefRef struct {
	family string
	rev    int32
}

func parseTaskDefRef(ctx context.Context, s string) (taskDefRef, bool) {
	body := s
	if strings.HasPrefix(s, "arn:") {
		a, err := arn.Parse(s)
		acct, _ := tenancy.Account(ctx)
		region, _ := tenancy.Region(ctx)
		rest, ok := strings.CutPrefix(a.Resource, "task-definition/")
		if err != nil || a.Service != "ecs" || !ok || a.Account != acct || a.Region != region || !strings.Contains(rest, ":") {
			return taskDefRef{}, false
		}
		body = rest
	}
	family, revs, hasRev := strings.Cut(body, ":")
	if !familyRE.MatchString(family) {
		return taskDefRef{}, false
	}
	if !hasRev {
		return taskDefRef{family: family}, true
	}
	n, err := strconv.ParseInt(revs, 10, 32)
	if err != nil || n <= 0 {
		return taskDefRef{}, false
	}
	return taskDefRef{family: family, rev: int32(n)}, true
}

// loadTaskDef resolves a reference: a revision as stored, or for a bare
// family its latest ACTIVE revision.
func loadTaskDef(ctx context.Context, tx store.Tx, ident string) (taskDefRec, int64, error) {
	ref, ok := parseTaskDefRef(ctx, ident)
	if !ok {
		return taskDefRec{}, 0, clientErr("Unable to describe task definition.")
	}
	if ref.rev > 0 {
		var td taskDefRec
		rev, err := getJSON(tx, taskDefKey(ref.family, ref.rev), &td)
		if isNotFound(err) {
			return td, 0, clientErr("Unable to describe task definition.")
		}
		return td, rev, err
	}
	items, err := tx.Scan(tblECS, taskDefPrefix(ref.family), "", 0)
	if err != nil {
		return taskDefRec{}, 0, err
	}
	for i := len(items) - 1; i >= 0; i-- {
		td, err := decode[taskDefRec](items[i])
		if err != nil {
			return td, 0, err
		}
		if ptr.Value(td.Def.Status) == tdActive {
			return td, items[i].Revision, nil
		}
	}
	return taskDefRec{}, 0, clientErr("Unable to describe task definition.")
}

// RegisterTaskDefinition validates a definition as ECS does and stores it
// as the next revision of its family.
func (s *Service) RegisterTaskDefinition(ctx context.Context, in *ecsapi.RegisterTaskDefinitionRequest) (*ecsapi.RegisterTaskDefinitionResponse, error) {
	def, err := validTaskDefinition(in)
	if err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	family := ptr.Value(def.Family)
	def.Status = ptr.To(tdActive)
	def.RegisteredAt = ptr.To(s.stamp())
	def.RegisteredBy = ptr.To(callerARN(ctx))
	err = s.update(ctx, func(tx store.Tx) error {
		var fam familyRec
		frev, err := getJSON(tx, familyKey(family), &fam)
		if err != nil && !isNotFound(err) {
			return err
		}
		fam.Name = family
		fam.LastRevision++
		def.Revision = ptr.To(fam.LastRevision)
		def.TaskDefinitionArn = ptr.To(taskDefARN(ctx, family, fam.LastRevision))
		if err := putJSONIf(tx, familyKey(family), &fam, frev); err != nil {
			return err
		}
		return putJSONIf(tx, taskDefKey(family, fam.LastRevision), &taskDefRec{Layout: layoutVersion, Def: def, Tags: tags}, 0)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.RegisterTaskDefinitionResponse{TaskDefinition: &def, Tags: apiTags(tags)}, nil
}

// DescribeTaskDefinition returns a revision (family: the latest ACTIVE one).
func (s *Service) DescribeTaskDefinition(ctx context.Context, in *ecsapi.DescribeTaskDefinitionRequest) (*ecsapi.DescribeTaskDefinitionResponse, error) {
	var td taskDefRec
	err := s.view(ctx, func(tx store.Tx) error {
		var err error
		td, _, err = loadTaskDef(ctx, tx, ptr.Value(in.TaskDefinition))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ecsapi.DescribeTaskDefinitionResponse{TaskDefinition: &td.Def}
	if slices.Contains(in.Include, "TAGS") {
		out.Tags = apiTags(td.Tags)
	}
	return out, nil
}

// ListTaskDefinitions lists revision ARNs, by family then revision;
// familyPrefix is, as in ECS, a whole family name.
func (s *Service) ListTaskDefinitions(ctx context.Context, in *ecsapi.ListTaskDefinitionsRequest) (*ecsapi.ListTaskDefinitionsResponse, error) {
	status := ptr.Or(in.Status, tdActive)
	prefix := "taskdef/"
	if f := ptr.Value(in.FamilyPrefix); f != "" {
		prefix = taskDefPrefix(f)
	}
	var keys []string
	var arns []string
	err := s.view(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblECS, prefix, "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			td, err := decode[taskDefRec](it)
			if err != nil {
				return err
			}
			if ptr.Value(td.Def.Status) != status {
				continue
			}
			keys = append(keys, it.Key)
			arns = append(arns, ptr.Value(td.Def.TaskDefinitionArn))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type row struct{ key, arn string }
	rows := make([]row, len(keys))
	for i := range keys {
		rows[i] = row{keys[i], arns[i]}
	}
	desc := ptr.Value(in.Sort) == "DESC"
	if desc {
		slices.Reverse(rows)
	}
	page, next, err := paginate(rows, func(r row) string { return r.key }, in.NextToken, maxResults(in.MaxResults, 100, 100), desc)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListTaskDefinitionsResponse{TaskDefinitionArns: []string{}}
	for _, r := range page {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, r.arn)
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}

// ListTaskDefinitionFamilies lists family names starting with familyPrefix:
// ACTIVE families have an ACTIVE revision, INACTIVE ones none; ALL (the
// default) both.
func (s *Service) ListTaskDefinitionFamilies(ctx context.Context, in *ecsapi.ListTaskDefinitionFamiliesRequest) (*ecsapi.ListTaskDefinitionFamiliesResponse, error) {
	status := ptr.Or(in.Status, "ALL")
	var families []string
	err := s.view(ctx, func(tx store.Tx) error {
		fams, err := scanAll[familyRec](tx, familyKey(ptr.Value(in.FamilyPrefix)))
		if err != nil {
			return err
		}
		for _, f := range fams {
			if status != "ALL" {
				active := false
				items, err := tx.Scan(tblECS, taskDefPrefix(f.Name), "", 0)
				if err != nil {
					return err
				}
				for _, it := range items {
					td, err := decode[taskDefRec](it)
					if err != nil {
						return err
					}
					active = active || ptr.Value(td.Def.Status) == tdActive
				}
				if active != (status == tdActive) {
					continue
				}
			}
			families = append(families, f.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(families, func(f string) string { return f }, in.NextToken, maxResults(in.MaxResults, 100, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListTaskDefinitionFamiliesResponse{Families: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}

// DeregisterTaskDefinition marks a revision INACTIVE; it stays describable.
func (s *Service) DeregisterTaskDefinition(ctx context.Context, in *ecsapi.DeregisterTaskDefinitionRequest) (*ecsapi.DeregisterTaskDefinitionResponse, error) {
	ident := ptr.Value(in.TaskDefinition)
	if ref, ok := parseTaskDefRef(ctx, ident); ok && ref.rev == 0 {
		return nil, clientErr("A revision must be specified: family:revision or the full task definition ARN.")
	}
	var def ecsapi.TaskDefinition
	err := s.update(ctx, func(tx store.Tx) error {
		td, rev, err := loadTaskDef(ctx, tx, ident)
		if err != nil {
			return err
		}
		if ptr.Value(td.Def.Status) == tdActive {
			td.Def.Status = ptr.To(tdInactive)
			td.Def.DeregisteredAt = ptr.To(s.stamp())
			if err := putJSONIf(tx, taskDefKey(ptr.Value(td.Def.Family), ptr.Value(td.Def.Revision)), &td, rev); err != nil {
				return err
			}
		}
		def = td.Def
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeregisterTaskDefinitionResponse{TaskDefinition: &def}, nil
}

// DeleteTaskDefinitions marks INACTIVE revisions DELETE_IN_PROGRESS; the
// others are failures.
func (s *Service) DeleteTaskDefinitions(ctx context.Context, in *ecsapi.DeleteTaskDefinitionsRequest) (*ecsapi.DeleteTaskDefinitionsResponse, error) {
	if len(in.TaskDefinitions) == 0 || len(in.TaskDefinitions) > 10 {
		return nil, invalidParam("Between 1 and 10 task definitions must be specified.")
	}
	out := &ecsapi.DeleteTaskDefinitionsResponse{TaskDefinitions: []ecsapi.TaskDefinition{}, Failures: []ecsapi.Failure{}}
	err := s.update(ctx, func(tx store.Tx) error {
		for _, ident := range in.TaskDefinitions {
			ref, ok := parseTaskDefRef(ctx, ident)
			fail := func(reason string) {
				a := ident
				if ok && ref.rev > 0 {
					a = taskDefARN(ctx, ref.family, ref.rev)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr.To(a), Reason: ptr.To(reason)})
			}
			if !ok || ref.rev == 0 {
				fail("The specified task definition identifier is invalid. Specify a valid name or ARN and try again.")
				continue
			}
			var td taskDefRec
			rev, err := getJSON(tx, taskDefKey(ref.family, ref.rev), &td)
			if isNotFound(err) {
				fail("The specified task definition does not exist. Specify a valid account, family, revision and try again.")
				continue
			}
			if err != nil {
				return err
			}
			switch ptr.Value(td.Def.Status) {
			case tdActive:
				fail("The specified task definition is still in ACTIVE status. Please deregister the target and try again.")
				continue
			case tdInactive:
				td.Def.Status = ptr.To(tdDeleteInProgress)
				td.Def.DeleteRequestedAt = ptr.To(s.stamp())
				if err := putJSONIf(tx, taskDefKey(ref.family, ref.rev), &td, rev); err != nil {
					return err
				}
			}
			out.TaskDefinitions = append(out.TaskDefinitions, td.Def)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
