package awslogs

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// StateFile is the name of the shipping state in the agent's data dir.
const StateFile = "awslogs.json"

// Mark is what is known of one container: the position of the last line
// PutLogEvents acknowledged, and whether its output is fully shipped.
type Mark struct {
	Pos  Position `json:"pos"`
	Done bool     `json:"done,omitempty"`
	Task string   `json:"task,omitempty"`
}

// State persists the marks of all containers in one small JSON file.
type State struct {
	path string // "" = in memory only
	mu   sync.Mutex
	m    map[string]Mark
}

// LoadState reads dir/awslogs.json ("" dir: nothing is persisted).
func LoadState(dir string) (*State, error) {
	s := &State{m: map[string]Mark{}}
	if dir == "" {
		return s, nil
	}
	s.path = filepath.Join(dir, StateFile)
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.m); err != nil {
		return nil, err
	}
	if s.m == nil {
		s.m = map[string]Mark{}
	}
	return s, nil
}

// Get returns a container's mark.
func (s *State) Get(id string) (Mark, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.m[id]
	return m, ok
}

// Set records a container's mark and saves the file.
func (s *State) Set(id string, m Mark) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = m
	return s.save()
}

// ForgetTask removes the marks of a task's containers.
func (s *State) ForgetTask(taskARN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, m := range s.m {
		if m.Task == taskARN {
			delete(s.m, id)
		}
	}
	return s.save()
}

// save writes the file atomically; s.mu is held.
func (s *State) save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(s.m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}
