package registry

import (
	"context"
	"errors"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// PullTimeInterval is how old an image's recorded pull time must be before
// another pull records it again. ECR itself records lastRecordedPullTime
// "at least once every 24 hours"; an hour keeps the figure useful (for
// lifecycle rules and audits that ask "pulled in the last N days") while a
// hot image costs at most one metadata write an hour, not one per pull.
const PullTimeInterval = time.Hour

// pullRecordTimeout bounds how long a pull waits to record itself (the
// write queues behind pushes for the store's single writer). A pull that
// gives up is served anyway; the next pull records.
const pullRecordTimeout = time.Second

// shouldRecordPull reports whether a pull at now should write the image's
// pull time, given the recorded one (zero: never pulled). It records when
// nothing is recorded or the recorded time is at least interval old. A
// recorded time later than now (a clock that stepped back) is left alone
// until now passes it by interval, so the time never moves backwards.
func shouldRecordPull(last, now time.Time, interval time.Duration) bool {
	return last.IsZero() || !now.Before(last.Add(interval))
}

// RecordPull records that im (as Manifest or Images returned it) of
// repository name was pulled now, if its recorded pull time is older than
// PullTimeInterval. It never fails the pull: a failed write is logged.
// The ECR API's BatchGetImage calls it; /v2/ manifest GETs record
// themselves (HEADs do not: they are not pulls).
func (s *Service) RecordPull(ctx context.Context, name string, im Image) {
	s.recordPull(ctx, name, im.Digest, im.LastPulledAt)
}

// recordPull is RecordPull with the manifest's digest and the pull time
// the caller read. Only when that is stale does it write: in a
// transaction that re-reads the record, so concurrent pulls of a hot image
// at the turn of the interval write once, and a manifest deleted meanwhile
// is not brought back.
func (s *Service) recordPull(ctx context.Context, name, digest string, last time.Time) {
	now := s.now().UTC()
	if !shouldRecordPull(last, now, PullTimeInterval) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, pullRecordTimeout)
	defer cancel()
	err := s.update(ctx, name, func(tx store.Tx) error {
		var m manifestRec
		_, err := getJSON(tx, tblManifests, key(name, digest), &m)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !shouldRecordPull(m.LastPulledAt, now, PullTimeInterval) {
			return nil
		}
		m.LastPulledAt = now
		return putJSON(tx, tblManifests, key(name, digest), m)
	})
	if err != nil {
		s.log.Warn("registry: recording a pull failed", "repository", name, "digest", digest, "err", err)
	}
}
