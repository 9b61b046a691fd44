package task

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// DefaultImageMinimumAge is how long an image stays after its last use
// before PruneImages may remove it (ECS_IMAGE_MINIMUM_CLEANUP_AGE).
const DefaultImageMinimumAge = time.Hour

// imageRemover removes images and lists the containers that may use them
// (internal/runtime/docker.Client has both).
type imageRemover interface {
	RemoveImage(ctx context.Context, ref string, force bool) error
	ListContainers(ctx context.Context, labels map[string]string) ([]runtime.ContainerSummary, error)
}

// ImagesDue are the images of lastUsed (image → when a task last used it)
// unused for at least minAge at now, sorted. Pure.
func ImagesDue(lastUsed map[string]time.Time, now time.Time, minAge time.Duration) []string {
	var out []string
	for ref, at := range lastUsed {
		if now.Sub(at) >= minAge {
			out = append(out, ref)
		}
	}
	sort.Strings(out)
	return out
}

// PruneImages removes the images ImagesDue names, except those keep
// lists (the pause image). Only images the agent used are candidates, so
// other images on a shared engine are never touched; an image that any
// container on the engine (running or not, the agent's or not) was
// created from is kept. It returns the images removed.
func PruneImages(ctx context.Context, rt imageRemover, lastUsed map[string]time.Time, keep []string, now time.Time, minAge time.Duration) ([]string, error) {
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	cs, err := rt.ListContainers(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		kept[c.Image] = true
	}
	var removed []string
	var errs []error
	for _, ref := range ImagesDue(lastUsed, now, minAge) {
		if kept[ref] {
			continue
		}
		err := rt.RemoveImage(ctx, ref, false)
		switch {
		case err == nil, errors.Is(err, runtime.ErrNotFound):
			removed = append(removed, ref)
		case errors.Is(err, runtime.ErrConflict): // in use
		default:
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// ImagesUsed is each image the Manager's tasks used, with when a task
// last used it (its start or its stop), for PruneImages. Running tasks'
// images are reported as used at now.
func (m *Manager) ImagesUsed(now time.Time) map[string]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]time.Time, len(m.images))
	for ref, at := range m.images {
		out[ref] = at
	}
	for _, r := range m.tasks {
		for _, ref := range r.imageRefs() {
			out[ref] = now
		}
	}
	return out
}

// usedImages records that a task used images at.
func (m *Manager) usedImages(refs []string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ref := range refs {
		if at.After(m.images[ref]) {
			m.images[ref] = at
		}
	}
}
