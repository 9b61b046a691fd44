package docker

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

func TestRawStats(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	id := create(t, runtime.ContainerSpec{Command: []string{"sleep", "30"}, MemoryMiB: 64, StopTimeout: time.Second}, "rawstats")
	start(t, id)
	b, err := c.RawStats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ID     string `json:"id"`
		Read   time.Time
		CPU    map[string]json.RawMessage `json:"cpu_stats"`
		PreCPU map[string]json.RawMessage `json:"precpu_stats"`
		Memory struct {
			Limit uint64 `json:"limit"`
		} `json:"memory_stats"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("RawStats answer is not JSON: %v: %s", err, b)
	}
	if v.ID != id || v.Read.IsZero() || v.CPU["cpu_usage"] == nil || v.PreCPU["cpu_usage"] == nil {
		t.Errorf("RawStats = %s; want the engine's stats document of %s", b, id)
	}
	if v.Memory.Limit != 64<<20 {
		t.Errorf("memory_stats.limit = %d, want %d", v.Memory.Limit, 64<<20)
	}
	if _, err := c.RawStats(ctx, "wharf-test-none-"+testRun); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("RawStats(missing) = %v, want ErrNotFound", err)
	}
}
