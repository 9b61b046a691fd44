package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// state is what the agent keeps across restarts in DATA-DIR/agent.json:
// who it is registered as, and the last assignment sequence it applied.
type state struct {
	Cluster     string `json:"cluster"`
	InstanceARN string `json:"containerInstanceArn"`
	InstanceID  string `json:"instanceId"`
	Acked       int64  `json:"ackedSequence"`
}

func statePath(dir string) string { return filepath.Join(dir, "agent.json") }

// loadState reads the state file; a missing file is an empty state.
func loadState(dir string) (state, error) {
	var s state
	b, err := os.ReadFile(statePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("agent: state file %s is damaged (%v); move it away to register as a new instance", statePath(dir), err)
	}
	return s, nil
}

// saveState writes the state file atomically and durably.
func saveState(dir string, s state) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".agent-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), statePath(dir)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
