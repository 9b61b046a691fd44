package iam

import (
	"context"
	"errors"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// maxKeysPerUser is IAM's AccessKeysPerUser quota (the root user has the
// same limit).
const maxKeysPerUser = 2

// keyOwner is whose access keys an operation acts on: an IAM user or the
// account root.
type keyOwner struct {
	user   string // "" for root
	root   bool
	prefix string // index prefix: userkey/<user>/ or rootkey/
}

// resolveKeyOwner picks the owner from UserName, or the caller when it is
// absent.
func resolveKeyOwner(ctx context.Context, userName *string) (keyOwner, error) {
	name := ptr.Value(userName)
	if name == "" {
		n, root, err := callerUserName(ctx)
		if err != nil {
			return keyOwner{}, err
		}
		if root {
			return keyOwner{root: true, prefix: rootKeyPrefix}, nil
		}
		name = n
	}
	return keyOwner{user: name, prefix: userKeyPrefix(name)}, nil
}

// check verifies that the owner exists and returns its display name.
func (o keyOwner) check(tx store.Tx) (userRec, error) {
	if o.root {
		return userRec{Name: "root"}, nil
	}
	u, _, err := loadUser(tx, o.user)
	return u, err
}

// CreateAccessKey creates an access key for a user (or for the caller).
func (s *Service) CreateAccessKey(ctx context.Context, in *iamapi.CreateAccessKeyRequest) (*iamapi.CreateAccessKeyResponse, error) {
	owner, err := resolveKeyOwner(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var out iamapi.AccessKey
	var id string
	err = s.update(ctx, func(tx store.Tx, acct string) error {
		u, err := owner.check(tx)
		if err != nil {
			return err
		}
		n, err := tx.Count(tblIAM, owner.prefix)
		if err != nil {
			return err
		}
		if n >= maxKeysPerUser {
			return quota("AccessKeysPerUser", maxKeysPerUser)
		}
		p := principal.Principal{Kind: principal.Root, Account: acct, ARN: rootARN(acct), UserID: acct}
		if !owner.root {
			p = principal.Principal{Kind: principal.User, Account: acct, ARN: userARN(acct, &u), UserID: u.ID, Name: u.Name}
		}
		k := keyRec{Secret: newSecret(), Status: statusActive, Created: s.stamp(), Principal: p}
		if id, err = insertKey(tx, "AKIA", &k); err != nil {
			return err
		}
		if err := putJSON(tx, tblIAM, owner.prefix+id, keyIndexRec{Created: k.Created}); err != nil {
			return err
		}
		out = iamapi.AccessKey{AccessKeyId: ptr.To(id), CreateDate: ptr.To(k.Created), SecretAccessKey: ptr.To(k.Secret),
			Status: ptr.To(k.Status), UserName: ptr.To(u.Name)}
		return nil
	})
	s.keys.forget(id)
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateAccessKeyResponse{AccessKey: &out}, nil
}

// insertKey stores k under a new access key ID with prefix (AKIA, ASIA)
// and returns the ID.
func insertKey(tx store.Tx, prefix string, k *keyRec) (string, error) {
	for range 5 {
		id := newAccessKeyID(prefix)
		k.Principal.AccessKeyID = id
		err := createJSON(tx, tblAccessKeys, id, k)
		if errors.Is(err, store.ErrConflict) {
			continue // 80 random bits collided; draw again
		}
		return id, err
	}
	return "", errors.New("iam: could not draw a unique access key ID")
}

// ListAccessKeys lists the access keys of a user (or of the caller).
func (s *Service) ListAccessKeys(ctx context.Context, in *iamapi.ListAccessKeysRequest) (*iamapi.ListAccessKeysResponse, error) {
	owner, err := resolveKeyOwner(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListAccessKeysResponse{AccessKeyMetadata: []iamapi.AccessKeyMetadata{}}
	err = s.view(ctx, func(tx store.Tx, _ string) error {
		u, err := owner.check(tx)
		if err != nil {
			return err
		}
		pg, err := scanPage(tx, tblIAM, owner.prefix, in.Marker, maxItems(in.MaxItems), nil)
		if err != nil {
			return err
		}
		for _, it := range pg.items {
			id := lastSegment(it.Key)
			var k keyRec
			if _, err := getJSON(tx, tblAccessKeys, id, &k); err != nil {
				return err
			}
			out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamapi.AccessKeyMetadata{
				AccessKeyId: ptr.To(id), CreateDate: ptr.To(k.Created), Status: ptr.To(k.Status), UserName: ptr.To(u.Name)})
		}
		out.IsTruncated = ptr.To(pg.truncated)
		if pg.truncated {
			out.Marker = ptr.To(pg.marker)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ownedKey loads an access key of owner, or NoSuchEntity.
func ownedKey(tx store.Tx, owner keyOwner, id string) (keyRec, error) {
	var k keyRec
	if ok, err := exists(tx, tblIAM, owner.prefix+id); err != nil {
		return k, err
	} else if !ok {
		return k, noSuchAccessKey(id)
	}
	_, err := getJSON(tx, tblAccessKeys, id, &k)
	if errors.Is(err, store.ErrNotFound) {
		return k, noSuchAccessKey(id)
	}
	return k, err
}

// UpdateAccessKey makes an access key Active or Inactive.
func (s *Service) UpdateAccessKey(ctx context.Context, in *iamapi.UpdateAccessKeyRequest) (*wire.Empty, error) {
	owner, err := resolveKeyOwner(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	id, status := ptr.Value(in.AccessKeyId), ptr.Value(in.Status)
	if status != statusActive && status != statusInactive {
		return nil, errs.New(ErrValidation, "1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	err = s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := owner.check(tx); err != nil {
			return err
		}
		k, err := ownedKey(tx, owner, id)
		if err != nil {
			return err
		}
		k.Status = status
		return putJSON(tx, tblAccessKeys, id, &k)
	})
	s.keys.forget(id)
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// DeleteAccessKey deletes an access key.
func (s *Service) DeleteAccessKey(ctx context.Context, in *iamapi.DeleteAccessKeyRequest) (*wire.Empty, error) {
	owner, err := resolveKeyOwner(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	id := ptr.Value(in.AccessKeyId)
	err = s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := owner.check(tx); err != nil {
			return err
		}
		if _, err := ownedKey(tx, owner, id); err != nil {
			return err
		}
		if err := tx.Delete(tblIAM, owner.prefix+id); err != nil {
			return err
		}
		return tx.Delete(tblAccessKeys, id)
	})
	s.keys.forget(id)
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// GetAccessKeyLastUsed reports when an access key of the account was last
// seen by this server process.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, in *iamapi.GetAccessKeyLastUsedRequest) (*iamapi.GetAccessKeyLastUsedResponse, error) {
	id := ptr.Value(in.AccessKeyId)
	var k keyRec
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		_, err := getJSON(tx, tblAccessKeys, id, &k)
		if errors.Is(err, store.ErrNotFound) || err == nil && k.Principal.Account != acct {
			return noSuchAccessKey(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	used := &iamapi.AccessKeyLastUsed{Region: ptr.To("N/A"), ServiceName: ptr.To("N/A")}
	if t, ok := s.keys.lastUsed(id); ok {
		used.LastUsedDate = ptr.To(t.UTC().Truncate(time.Second))
	}
	name := k.Principal.Name
	if k.Principal.Kind == principal.Root {
		name = "root"
	}
	return &iamapi.GetAccessKeyLastUsedResponse{AccessKeyLastUsed: used, UserName: ptr.To(name)}, nil
}
