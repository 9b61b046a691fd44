package integration

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/regbench"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// TestRegbenchAgainstWharf runs the registry benchmark briefly against an
// in-process Wharf, logged in with an ECR token, and checks every figure
// is there and nothing failed. WHARF_REGBENCH_DURATION and
// WHARF_REGBENCH_LARGE lengthen the phases and grow the large blob, to
// take a CPU profile of client and server with -cpuprofile.
func TestRegbenchAgainstWharf(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	user, pass, err := regbench.ECRLogin(ctx, env.Root(), env.URL, "bench/regbench")
	if err != nil {
		t.Fatalf("ECRLogin: %v", err)
	}
	// A second login finds the repository there.
	if _, _, err := regbench.ECRLogin(ctx, env.Root(), env.URL, "bench/regbench"); err != nil {
		t.Fatalf("second ECRLogin: %v", err)
	}
	d := 500 * time.Millisecond
	if s := os.Getenv("WHARF_REGBENCH_DURATION"); s != "" {
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	large := int64(8 << 20)
	if s := os.Getenv("WHARF_REGBENCH_LARGE"); s != "" {
		if large, err = regbench.ParseSize(s); err != nil {
			t.Fatal(err)
		}
	}
	var progress bytes.Buffer
	res, err := regbench.Run(ctx, regbench.Config{
		Registry:    env.Info.Addr,
		Username:    user,
		Password:    pass,
		Repo:        "bench/regbench",
		Duration:    d,
		Concurrency: 8,
		LargeSize:   large,
		ChunkSize:   large / 3, // the last PATCH is shorter
		Progress:    &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s\ntable:\n%s", progress.String(), table.String())
	if res.Errors() != 0 {
		var b strings.Builder
		res.WriteErrors(&b)
		t.Fatalf("%d errors:\n%s", res.Errors(), b.String())
	}
	for what, v := range map[string]float64{
		"small pushes/s":    res.SmallPushes.PerSecond(),
		"HEADs/s":           res.Heads.PerSecond(),
		"large push MB/s":   res.LargePush.MBPerSecond(),
		"large pull MB/s":   res.LargePull.MBPerSecond(),
		"chunked push MB/s": res.LargeChunked.MBPerSecond(),
		"SHA-256 MB/s":      res.SHA256,
	} {
		if v <= 0 {
			t.Errorf("%s = %v, want > 0", what, v)
		}
	}
	if res.LargePull.Bytes != large {
		t.Errorf("pulled %d bytes, want %d", res.LargePull.Bytes, large)
	}
	for _, want := range []string{"small-image pushes/s", "manifest HEADs/s", "large blob push MB/s", "large blob pull MB/s", "PATCHes", "SHA-256 MB/s", "load average at start"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestRegbenchWithoutCredentials is refused at the ping with a hint, not
// counted as a run of failures.
func TestRegbenchWithoutCredentials(t *testing.T) {
	env := wharftest.Start(t)
	_, err := regbench.Run(context.Background(), regbench.Config{
		Registry: env.Info.Addr, Repo: "x", Duration: time.Second, Concurrency: 1, LargeSize: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run without credentials: %v, want a 401 error", err)
	}
}
