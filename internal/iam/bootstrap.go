package iam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// accountKey is the key of the one account in the "accounts" table.
const accountKey = "default"

// BootstrapOptions say how to set up the account.
type BootstrapOptions struct {
	// AccessKeyID and SecretAccessKey, when both set, are the root access
	// key: on first start it is created with them, and on a later start
	// they replace the root key recorded then.
	AccessKeyID     string
	SecretAccessKey string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Account is the account Wharf serves and its root credentials.
type Account struct {
	ID                  string
	RootAccessKeyID     string
	RootSecretAccessKey string
}

// Bootstrap returns the account of st, creating it on first start: a
// random 12-digit ID, kept and reused on every later start, and a root
// access key (the one in opts, or a generated one). created reports that
// the account was made by this call. If the recorded root key has been
// deleted, a new one is generated.
func Bootstrap(ctx context.Context, st store.Store, opts BootstrapOptions) (acct Account, created bool, err error) {
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		return Account{}, false, errors.New("iam: bootstrap needs both an access key ID and a secret, or neither")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now().UTC().Truncate(time.Second)

	var rec accountRec
	err = st.View(ctx, func(tx store.Tx) error {
		_, err := getJSON(tx, tblAccounts, accountKey, &rec)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		rec = accountRec{ID: newAccountID(), Created: now, LayoutVersion: layoutVersion}
		created = true
	case err != nil:
		return Account{}, false, fmt.Errorf("iam: read account: %w", err)
	}

	actx := tenancy.WithAccount(ctx, rec.ID)
	err = st.Update(actx, func(tx store.Tx) error {
		if created {
			if err := createJSON(tx, tblAccounts, accountKey, &rec); err != nil {
				return err // ErrConflict: another process bootstrapped first
			}
		}
		var old keyRec
		haveOld := false
		if rec.RootKeyID != "" {
			_, err := getJSON(tx, tblAccessKeys, rec.RootKeyID, &old)
			switch {
			case err == nil:
				haveOld = true
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if opts.AccessKeyID == "" && haveOld {
			acct = Account{ID: rec.ID, RootAccessKeyID: rec.RootKeyID, RootSecretAccessKey: old.Secret}
			return nil
		}
		if opts.AccessKeyID != "" && haveOld && rec.RootKeyID == opts.AccessKeyID && old.Secret == opts.SecretAccessKey {
			acct = Account{ID: rec.ID, RootAccessKeyID: rec.RootKeyID, RootSecretAccessKey: old.Secret}
			return nil
		}
		// Install a root key: the given one, or a new one.
		if haveOld && rec.RootKeyID != opts.AccessKeyID {
			if err := tx.Delete(tblAccessKeys, rec.RootKeyID); err != nil {
				return err
			}
			if err := deleteIfExists(tx, tblIAM, rootKeyPrefix+rec.RootKeyID); err != nil {
				return err
			}
		}
		k := keyRec{Secret: opts.SecretAccessKey, Status: statusActive, Created: now,
			Principal: principal.Principal{Kind: principal.Root, Account: rec.ID, ARN: rootARN(rec.ID), UserID: rec.ID}}
		id := opts.AccessKeyID
		if id == "" {
			k.Secret = newSecret()
			var err error
			if id, err = insertKey(tx, "AKIA", &k); err != nil {
				return err
			}
		} else {
			var other keyRec
			_, err := getJSON(tx, tblAccessKeys, id, &other)
			if err == nil && (other.Principal.Account != rec.ID || other.Principal.Kind != principal.Root) {
				return fmt.Errorf("iam: access key %s is already in use by %s", id, other.Principal.ARN)
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			k.Principal.AccessKeyID = id
			if err := putJSON(tx, tblAccessKeys, id, &k); err != nil {
				return err
			}
		}
		if err := putJSON(tx, tblIAM, rootKeyPrefix+id, keyIndexRec{Created: now}); err != nil {
			return err
		}
		rec.RootKeyID = id
		if err := putJSON(tx, tblAccounts, accountKey, &rec); err != nil {
			return err
		}
		acct = Account{ID: rec.ID, RootAccessKeyID: id, RootSecretAccessKey: k.Secret}
		return nil
	})
	if created && errors.Is(err, store.ErrConflict) {
		return Bootstrap(ctx, st, opts) // lost a race with another process: use its account
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("iam: bootstrap account: %w", err)
	}
	return acct, created, nil
}
