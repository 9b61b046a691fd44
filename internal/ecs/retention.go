package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// tblTenants lists the tenants (account, region) that have tasks, so the
// retention sweep can find them: the store cannot list tenants. Key
// "<account>/<region>", value {}. The entry is written in the transaction
// that creates a task (and again in one that stops a task, which covers
// tasks created before the index existed), and removed by the sweep in the
// transaction that finds the tenant's last task gone. Transactions are
// serializable, so a task created concurrently either is seen by that check
// or re-creates the entry.
var tblTenants = store.Table{Name: "ecs.tenants", Scope: store.System}

// sweepBatch bounds the task records one sweep transaction reads (and so
// the ones it deletes).
const sweepBatch = 256

func tenantKey(account, region string) string { return account + "/" + region }

// indexTenant records in tx that the tenant of ctx has tasks.
func indexTenant(ctx context.Context, tx store.Tx) error {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return err
	}
	region, err := tenancy.Region(ctx)
	if err != nil {
		return err
	}
	key := tenantKey(acct, region)
	if _, err := tx.Get(tblTenants, key); !isNotFound(err) {
		return err
	}
	_, err = tx.Put(tblTenants, key, []byte("{}"))
	return err
}

// stoppedDue reports whether a task is due for deletion at now: STOPPED,
// and stopped at least retention ago — exactly the tasks visible no longer
// serves.
func stoppedDue(t *taskRec, now time.Time, retention time.Duration) bool {
	return t.LastStatus == taskStopped && t.Stopped != nil && !now.Before(t.Stopped.Add(retention))
}

// dueTasks returns the tasks of batch due for deletion at now.
func dueTasks(batch []taskRec, now time.Time, retention time.Duration) []taskRec {
	var due []taskRec
	for i := range batch {
		if stoppedDue(&batch[i], now, retention) {
			due = append(due, batch[i])
		}
	}
	return due
}

// SweepStoppedTasks deletes, in every tenant that has tasks, the STOPPED
// tasks stopped at least the retention period before now, with the client
// tokens that only named deleted tasks. Each transaction reads at most
// sweepBatch tasks. It returns how many tasks it deleted; a tenant's
// failure does not stop the others.
func (s *Service) SweepStoppedTasks(ctx context.Context, now time.Time) (int, error) {
	var tenants []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblTenants, "", "", 0)
		for _, it := range items {
			tenants = append(tenants, it.Key)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, key := range tenants {
		acct, region, ok := strings.Cut(key, "/")
		if !ok {
			continue
		}
		n, err := s.sweepTenant(tenancy.With(ctx, acct, region), key, now)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("ecs: sweep %s: %w", key, err))
		}
	}
	return total, errors.Join(errs...)
}

// sweepTenant deletes one tenant's due tasks, a batch per transaction, and
// drops the tenant from the index once it has no task left.
func (s *Service) sweepTenant(ctx context.Context, key string, now time.Time) (int, error) {
	total, after := 0, ""
	for {
		var n int
		var last string
		err := s.update(ctx, func(tx store.Tx) error {
			items, err := tx.Scan(tblECS, "task/", after, sweepBatch)
			if err != nil {
				return err
			}
			if len(items) == sweepBatch {
				last = items[len(items)-1].Key
			}
			batch := make([]taskRec, 0, len(items))
			for _, it := range items {
				t, err := decode[taskRec](it)
				if err != nil {
					return err
				}
				batch = append(batch, t)
			}
			due := dueTasks(batch, now, s.retention)
			for i := range due {
				if err := deleteTask(tx, &due[i]); err != nil {
					return err
				}
			}
			n = len(due)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if last == "" {
			break
		}
		after = last
	}
	err := s.update(ctx, func(tx store.Tx) error {
		left, err := tx.Count(tblECS, "task/")
		if err != nil || left > 0 {
			return err
		}
		if err := tx.Delete(tblTenants, key); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	})
	return total, err
}

// deleteTask removes a task and, when it was the last remaining task its
// client token started, the token: a RunTask with that token then starts
// new tasks instead of answering with none.
func deleteTask(tx store.Tx, t *taskRec) error {
	if err := tx.Delete(tblECS, taskKey(t.Cluster, t.ID)); err != nil && !isNotFound(err) {
		return err
	}
	if t.ClientToken == "" {
		return nil
	}
	var tok tokenRec
	rev, err := getJSON(tx, clientTokenKey(t.ClientToken), &tok)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, id := range tok.Tasks {
		if _, err := tx.Get(tblECS, taskKey(tok.Cluster, id)); !isNotFound(err) {
			return err // another task of the token remains (or a read failed)
		}
	}
	if err := tx.DeleteIf(tblECS, clientTokenKey(t.ClientToken), rev); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
