package endpoint

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/wharfhq/wharf/internal/agentproto"
)

// Registry errors; test them with errors.Is.
var (
	// ErrNotRegistered: Update or Unregister of a task the registry does
	// not hold.
	ErrNotRegistered = errors.New("task not registered")
	// ErrAlreadyRegistered: Register of a task already held.
	ErrAlreadyRegistered = errors.New("task already registered")
	// ErrBadID: an endpoint id that is empty, malformed, or already used
	// by another task's container.
	ErrBadID = errors.New("bad endpoint id")
)

// NewID returns a fresh unguessable id (128 random bits, hex) for a
// container's metadata URI or a task's credentials URI.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// validID reports whether id may appear in a URI path: 1–128 letters,
// digits, '-' or '_'.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// registry holds the tasks and credentials the server answers for. A
// request is identified only by the id in its path.
type registry struct {
	mu         sync.RWMutex
	tasks      map[string]*Task     // by task ARN
	containers map[string]string    // endpoint id → task ARN
	creds      map[string]credEntry // credentials id → entry
	secret     []byte               // derives tokens when set
}

type credEntry struct {
	creds agentproto.Credentials
	set   bool   // creds were given (a token may come first)
	token string // required Authorization header value; empty = none
}

func newRegistry() *registry {
	return &registry{tasks: map[string]*Task{}, containers: map[string]string{}, creds: map[string]credEntry{}}
}

// put stores t, replacing any earlier version; mustExist/mustNotExist
// select Update's and Register's checks.
func (r *registry) put(t Task, mustExist bool) error {
	if t.TaskARN == "" {
		return fmt.Errorf("%w: a task needs its ARN", ErrBadID)
	}
	t = t.clone()
	r.mu.Lock()
	defer r.mu.Unlock()
	_, exists := r.tasks[t.TaskARN]
	switch {
	case mustExist && !exists:
		return fmt.Errorf("%w: %s", ErrNotRegistered, t.TaskARN)
	case !mustExist && exists:
		return fmt.Errorf("%w: %s", ErrAlreadyRegistered, t.TaskARN)
	}
	seen := map[string]bool{}
	for _, c := range t.Containers {
		if !validID(c.EndpointID) || seen[c.EndpointID] {
			return fmt.Errorf("%w: container %q: %q", ErrBadID, c.Name, c.EndpointID)
		}
		seen[c.EndpointID] = true
		if owner, ok := r.containers[c.EndpointID]; ok && owner != t.TaskARN {
			return fmt.Errorf("%w: container %q: id in use by %s", ErrBadID, c.Name, owner)
		}
	}
	if old := r.tasks[t.TaskARN]; old != nil {
		for _, c := range old.Containers {
			delete(r.containers, c.EndpointID)
		}
	}
	for _, c := range t.Containers {
		r.containers[c.EndpointID] = t.TaskARN
	}
	r.tasks[t.TaskARN] = &t
	return nil
}

func (r *registry) remove(taskARN string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tasks[taskARN]
	if t == nil {
		return fmt.Errorf("%w: %s", ErrNotRegistered, taskARN)
	}
	for _, c := range t.Containers {
		delete(r.containers, c.EndpointID)
	}
	delete(r.tasks, taskARN)
	return nil
}

// lookup finds the task and the index of the container whose endpoint id
// is id. The task is a copy the caller may use freely.
func (r *registry) lookup(id string) (Task, int, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	arn, ok := r.containers[id]
	if !ok {
		return Task{}, 0, false
	}
	t := r.tasks[arn]
	for i, c := range t.Containers {
		if c.EndpointID == id {
			return t.clone(), i, true
		}
	}
	return Task{}, 0, false
}

func (r *registry) setCreds(id string, c agentproto.Credentials) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.creds[id]
	e.creds, e.set = c, true
	r.creds[id] = e
}

// tokenFor returns id's token, making one when it has none.
func (r *registry) tokenFor(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.creds[id]
	if e.token == "" {
		if r.secret != nil {
			m := hmac.New(sha256.New, r.secret)
			m.Write([]byte("credentials-token\x00" + id))
			e.token = hex.EncodeToString(m.Sum(nil))
		} else {
			e.token = NewID() + NewID()
		}
		r.creds[id] = e
	}
	return e.token
}

func (r *registry) setToken(id, token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.creds[id]
	e.token = token
	r.creds[id] = e
}

func (r *registry) removeCreds(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.creds, id)
}

func (r *registry) getCreds(id string) (credEntry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.creds[id]
	return e, ok && e.set
}
