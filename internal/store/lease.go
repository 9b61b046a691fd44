package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Leases let one of several processes sharing a store (control-plane
// replicas) do a job at a time — the registry's garbage collection, for
// one. A lease is a record in a System table naming its holder and when it
// expires. A holder acquires it when it is free, expired or already its
// own; the revision of the record it wrote is its fencing token: every
// later write of the lease changes the revision, so a holder that lost the
// lease (it expired and another took it) fails CheckLease in its next
// transaction instead of acting on stale authority.
//
// Leases are never deleted, only expired (Release writes an expiry in the
// past), so revisions — and fencing tokens — only grow.

// ErrLeaseHeld: another holder has the lease and it has not expired.
var ErrLeaseHeld = errors.New("store: lease held by another holder")

// ErrLeaseLost: the lease was taken over or released since the holder
// acquired or renewed it, or it has expired.
var ErrLeaseLost = errors.New("store: lease lost")

var tblLeases = Table{Name: "store_leases", Scope: System}

// Lease is a held lease.
type Lease struct {
	Name    string
	Holder  string
	Expires time.Time
	// Token is the fencing token: the revision of the lease record this
	// holder last wrote.
	Token int64
}

type leaseRec struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// leaseAvailable reports whether holder may take a lease whose record says
// cur (nil: never taken) at now: it is free, expired, or holder's own.
func leaseAvailable(cur *leaseRec, holder string, now time.Time) bool {
	return cur == nil || cur.Holder == holder || !now.Before(cur.Expires)
}

func getLease(tx Tx, name string) (*leaseRec, int64, error) {
	it, err := tx.Get(tblLeases, name)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var r leaseRec
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return nil, 0, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return &r, it.Revision, nil
}

// AcquireLease takes lease name for holder until now+ttl, or extends it if
// holder has it. ErrLeaseHeld if another holder has it.
func AcquireLease(ctx context.Context, s Store, name, holder string, now time.Time, ttl time.Duration) (Lease, error) {
	var l Lease
	err := s.Update(ctx, func(tx Tx) error {
		cur, rev, err := getLease(tx, name)
		if err != nil {
			return err
		}
		if !leaseAvailable(cur, holder, now) {
			return fmt.Errorf("%w: %s by %s until %s", ErrLeaseHeld, name, cur.Holder, cur.Expires.Format(time.RFC3339))
		}
		l = Lease{Name: name, Holder: holder, Expires: now.Add(ttl)}
		b, _ := json.Marshal(leaseRec{Holder: holder, Expires: l.Expires})
		l.Token, err = tx.PutIf(tblLeases, name, b, rev)
		return err
	})
	if errors.Is(err, ErrConflict) {
		err = fmt.Errorf("%w: %s taken meanwhile", ErrLeaseHeld, name)
	}
	return l, err
}

// RenewLease extends a held lease to now+ttl. ErrLeaseLost if it is no
// longer the holder's (another holder took it after it expired, or it was
// released); an expired lease nobody took is renewed.
func RenewLease(ctx context.Context, s Store, l Lease, now time.Time, ttl time.Duration) (Lease, error) {
	err := s.Update(ctx, func(tx Tx) error {
		cur, rev, err := getLease(tx, l.Name)
		if err != nil {
			return err
		}
		if cur == nil || rev != l.Token {
			return fmt.Errorf("%w: %s", ErrLeaseLost, l.Name)
		}
		l.Expires = now.Add(ttl)
		b, _ := json.Marshal(leaseRec{Holder: l.Holder, Expires: l.Expires})
		l.Token, err = tx.PutIf(tblLeases, l.Name, b, rev)
		return err
	})
	if errors.Is(err, ErrConflict) {
		err = fmt.Errorf("%w: %s", ErrLeaseLost, l.Name)
	}
	return l, err
}

// ReleaseLease gives a held lease up (others may take it at once). Releasing
// a lease already lost is not an error.
func ReleaseLease(ctx context.Context, s Store, l Lease) error {
	err := s.Update(ctx, func(tx Tx) error {
		cur, rev, err := getLease(tx, l.Name)
		if err != nil || cur == nil || rev != l.Token {
			return err
		}
		b, _ := json.Marshal(leaseRec{Holder: l.Holder})
		_, err = tx.PutIf(tblLeases, l.Name, b, rev)
		return err
	})
	if errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// CheckLease fences a write: inside the holder's transaction, it fails
// with ErrLeaseLost unless the lease is still at the holder's token and
// unexpired at now. The transaction then sees (and, being serializable,
// commits against) the lease as the holder last wrote it.
func CheckLease(tx Tx, l Lease, now time.Time) error {
	cur, rev, err := getLease(tx, l.Name)
	if err != nil {
		return err
	}
	if cur == nil || rev != l.Token || !now.Before(cur.Expires) {
		return fmt.Errorf("%w: %s", ErrLeaseLost, l.Name)
	}
	return nil
}
