package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// maxPolicyVersions is IAM's VersionsPerPolicy quota.
const maxPolicyVersions = 5

// managed is a managed policy resolved from its ARN: a customer managed
// policy of the account or an AWS managed one.
type managed struct {
	ARN string
	Rec policyRec
	AWS bool
	key string // store key of a customer managed policy
	rev int64
}

// resolveManaged finds the managed policy with ARN policyARN, or returns
// NoSuchEntity (InvalidInput for something that is not a policy ARN).
func resolveManaged(tx store.Tx, acct, policyARN string) (managed, error) {
	if b, ok := builtinByARN[policyARN]; ok {
		return managed{ARN: policyARN, Rec: b.rec(), AWS: true}, nil
	}
	a, kind, path, name, err := arn.SplitIAM(policyARN)
	if err != nil || kind != "policy" {
		return managed{}, errs.New(ErrInvalidInput, "ARN %s is not valid.", policyARN)
	}
	if a != acct {
		return managed{}, noSuchPolicy(policyARN)
	}
	m := managed{ARN: policyARN, key: policyKey(path, name)}
	m.rev, err = getJSON(tx, tblIAM, m.key, &m.Rec)
	if errors.Is(err, store.ErrNotFound) {
		return managed{}, noSuchPolicy(policyARN)
	}
	return m, err
}

// localManaged is resolveManaged for operations that change a policy, which
// AWS managed policies refuse.
func localManaged(tx store.Tx, acct, policyARN string) (managed, error) {
	m, err := resolveManaged(tx, acct, policyARN)
	if err == nil && m.AWS {
		return managed{}, errs.New(ErrUnmodifiableEntity, "Cannot modify the AWS managed policy %s.", policyARN)
	}
	return m, err
}

func localPolicyARN(acct string, p *policyRec) string { return arn.IAM(acct, "policy", p.Path, p.Name) }

func apiPolicy(arn string, p *policyRec, attachments int, full bool) iamapi.Policy {
	out := iamapi.Policy{
		Arn:                           ptr.To(arn),
		AttachmentCount:               ptr.To(int32(attachments)),
		CreateDate:                    ptr.To(p.Created),
		DefaultVersionId:              ptr.To(p.DefaultVersion),
		IsAttachable:                  ptr.To(true),
		Path:                          ptr.To(p.Path),
		PermissionsBoundaryUsageCount: ptr.To(int32(0)),
		PolicyId:                      ptr.To(p.ID),
		PolicyName:                    ptr.To(p.Name),
		UpdateDate:                    ptr.To(p.Updated),
	}
	if full {
		if p.Description != "" {
			out.Description = ptr.To(p.Description)
		}
		out.Tags = apiTags(p.Tags)
	}
	return out
}

func apiVersion(v *versionRec, def string, withDoc bool) iamapi.PolicyVersion {
	out := iamapi.PolicyVersion{CreateDate: ptr.To(v.Created), IsDefaultVersion: ptr.To(v.ID == def), VersionId: ptr.To(v.ID)}
	if withDoc {
		out.Document = ptr.To(encodeDocument(v.Document))
	}
	return out
}

// CreatePolicy creates a customer managed policy with version v1.
func (s *Service) CreatePolicy(ctx context.Context, in *iamapi.CreatePolicyRequest) (*iamapi.CreatePolicyResponse, error) {
	name, path := ptr.Value(in.PolicyName), pathOr(in.Path)
	if err := validName("policyName", name, 128); err != nil {
		return nil, err
	}
	if err := validPath(path); err != nil {
		return nil, err
	}
	doc, err := validateDocument(ptr.Value(in.PolicyDocument), managedDoc)
	if err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags, "TagsPerPolicy")
	if err != nil {
		return nil, err
	}
	now := s.stamp()
	p := policyRec{Name: name, Path: path, ID: newID("ANPA"), Description: ptr.Value(in.Description), Created: now, Updated: now,
		DefaultVersion: "v1", NextVersion: 2, Versions: []versionRec{{ID: "v1", Document: doc, Created: now}}, Tags: tags}
	var out iamapi.Policy
	err = s.update(ctx, func(tx store.Tx, acct string) error {
		if err := createJSON(tx, tblIAM, policyNameKey(name), policyNameRec{Key: path + name}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errs.New(ErrEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", name)
			}
			return err
		}
		if err := createJSON(tx, tblIAM, policyKey(path, name), &p); err != nil {
			return err
		}
		out = apiPolicy(localPolicyARN(acct, &p), &p, 0, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreatePolicyResponse{Policy: &out}, nil
}

// GetPolicy describes a managed policy.
func (s *Service) GetPolicy(ctx context.Context, in *iamapi.GetPolicyRequest) (*iamapi.GetPolicyResponse, error) {
	var out iamapi.Policy
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		m, err := resolveManaged(tx, acct, ptr.Value(in.PolicyArn))
		if err != nil {
			return err
		}
		n, err := tx.Count(tblIAM, attachmentPrefix(m.Rec.ID))
		if err != nil {
			return err
		}
		out = apiPolicy(m.ARN, &m.Rec, n, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetPolicyResponse{Policy: &out}, nil
}

// ListPolicies lists managed policies: the account's (Scope Local), AWS's
// (Scope AWS) or both (All, the default), optionally only those attached to
// something.
func (s *Service) ListPolicies(ctx context.Context, in *iamapi.ListPoliciesRequest) (*iamapi.ListPoliciesResponse, error) {
	scope := ptr.Or(in.Scope, "All")
	if scope != "All" && scope != "AWS" && scope != "Local" {
		return nil, errs.New(ErrValidation, "1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scope)
	}
	prefix := pathOr(in.PathPrefix)
	onlyAttached := ptr.Value(in.OnlyAttached)
	var all []iamapi.Policy
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		add := func(arn string, p *policyRec) error {
			n, err := tx.Count(tblIAM, attachmentPrefix(p.ID))
			if err != nil {
				return err
			}
			if onlyAttached && n == 0 {
				return nil
			}
			all = append(all, apiPolicy(arn, p, n, false))
			return nil
		}
		if scope != "Local" {
			for _, b := range builtins {
				if r := b.rec(); strings.HasPrefix(r.Path, prefix) {
					if err := add(b.ARN(), &r); err != nil {
						return err
					}
				}
			}
		}
		if scope != "AWS" {
			items, err := tx.Scan(tblIAM, "policy/"+prefix, "", 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				p, err := decodeInto[policyRec](it)
				if err != nil {
					return err
				}
				if err := add(localPolicyARN(acct, &p), &p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b iamapi.Policy) int { return strings.Compare(*a.Arn, *b.Arn) })
	items, trunc, next, err := paginate(all, func(p iamapi.Policy) string { return *p.Arn }, in.Marker, maxItems(in.MaxItems))
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListPoliciesResponse{Policies: append([]iamapi.Policy{}, items...), IsTruncated: ptr.To(trunc)}
	if trunc {
		out.Marker = ptr.To(next)
	}
	return out, nil
}

// DeletePolicy deletes a customer managed policy that is attached to
// nothing and has no versions but its default one.
func (s *Service) DeletePolicy(ctx context.Context, in *iamapi.DeletePolicyRequest) (*wire.Empty, error) {
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		m, err := localManaged(tx, acct, ptr.Value(in.PolicyArn))
		if err != nil {
			return err
		}
		n, err := tx.Count(tblIAM, attachmentPrefix(m.Rec.ID))
		if err != nil {
			return err
		}
		if n > 0 {
			return errs.New(ErrDeleteConflict, "Cannot delete a policy attached to entities.")
		}
		if len(m.Rec.Versions) > 1 {
			return errs.New(ErrDeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		if err := tx.Delete(tblIAM, m.key); err != nil {
			return err
		}
		return deleteIfExists(tx, tblIAM, policyNameKey(m.Rec.Name))
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// CreatePolicyVersion adds a version to a customer managed policy (at most
// five versions).
func (s *Service) CreatePolicyVersion(ctx context.Context, in *iamapi.CreatePolicyVersionRequest) (*iamapi.CreatePolicyVersionResponse, error) {
	doc, err := validateDocument(ptr.Value(in.PolicyDocument), managedDoc)
	if err != nil {
		return nil, err
	}
	var out iamapi.PolicyVersion
	err = s.update(ctx, func(tx store.Tx, acct string) error {
		m, err := localManaged(tx, acct, ptr.Value(in.PolicyArn))
		if err != nil {
			return err
		}
		p := &m.Rec
		if len(p.Versions) >= maxPolicyVersions {
			return errs.New(ErrLimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		now := s.stamp()
		v := versionRec{ID: "v" + strconv.Itoa(p.NextVersion), Document: doc, Created: now}
		p.NextVersion++
		p.Versions = append(p.Versions, v)
		if ptr.Value(in.SetAsDefault) {
			p.DefaultVersion, p.Updated = v.ID, now
		}
		out = apiVersion(&v, p.DefaultVersion, false)
		_, err = tx.PutIf(tblIAM, m.key, mustJSON(p), m.rev)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreatePolicyVersionResponse{PolicyVersion: &out}, nil
}

func noSuchVersion(policyARN, id string) error {
	return errs.New(ErrNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", policyARN, id)
}

// GetPolicyVersion returns one version of a managed policy with its
// document.
func (s *Service) GetPolicyVersion(ctx context.Context, in *iamapi.GetPolicyVersionRequest) (*iamapi.GetPolicyVersionResponse, error) {
	var out iamapi.PolicyVersion
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		m, err := resolveManaged(tx, acct, ptr.Value(in.PolicyArn))
		if err != nil {
			return err
		}
		v, _ := m.Rec.version(ptr.Value(in.VersionId))
		if v == nil {
			return noSuchVersion(m.ARN, ptr.Value(in.VersionId))
		}
		out = apiVersion(v, m.Rec.DefaultVersion, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetPolicyVersionResponse{PolicyVersion: &out}, nil
}

// ListPolicyVersions lists the versions of a managed policy, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, in *iamapi.ListPolicyVersionsRequest) (*iamapi.ListPolicyVersionsResponse, error) {
	var p policyRec
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		m, err := resolveManaged(tx, acct, ptr.Value(in.PolicyArn))
		p = m.Rec
		return err
	})
	if err != nil {
		return nil, err
	}
	versions := slices.Clone(p.Versions)
	slices.Reverse(versions)
	// Newest first; the position sorts ascending as version numbers fall.
	pos := func(v versionRec) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(v.ID, "v"))
		return fmt.Sprintf("%010d", 1<<30-n)
	}
	items, trunc, next, err := paginate(versions, pos, in.Marker, maxItems(in.MaxItems))
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListPolicyVersionsResponse{Versions: []iamapi.PolicyVersion{}, IsTruncated: ptr.To(trunc)}
	for i := range items {
		out.Versions = append(out.Versions, apiVersion(&items[i], p.DefaultVersion, false))
	}
	if trunc {
		out.Marker = ptr.To(next)
	}
	return out, nil
}

// DeletePolicyVersion deletes a version that is not the default one.
func (s *Service) DeletePolicyVersion(ctx context.Context, in *iamapi.DeletePolicyVersionRequest) (*wire.Empty, error) {
	id := ptr.Value(in.VersionId)
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		m, err := localManaged(tx, acct, ptr.Value(in.PolicyArn))
		if err != nil {
			return err
		}
		v, i := m.Rec.version(id)
		if v == nil {
			return noSuchVersion(m.ARN, id)
		}
		if id == m.Rec.DefaultVersion {
			return errs.New(ErrDeleteConflict, "Cannot delete the default version of a policy.")
		}
		m.Rec.Versions = slices.Delete(m.Rec.Versions, i, i+1)
		_, err = tx.PutIf(tblIAM, m.key, mustJSON(&m.Rec), m.rev)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// SetDefaultPolicyVersion makes a version the one in force.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, in *iamapi.SetDefaultPolicyVersionRequest) (*wire.Empty, error) {
	id := ptr.Value(in.VersionId)
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		m, err := localManaged(tx, acct, ptr.Value(in.PolicyArn))
		if err != nil {
			return err
		}
		if v, _ := m.Rec.version(id); v == nil {
			return noSuchVersion(m.ARN, id)
		}
		m.Rec.DefaultVersion, m.Rec.Updated = id, s.stamp()
		_, err = tx.PutIf(tblIAM, m.key, mustJSON(&m.Rec), m.rev)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}
