package regbench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096},
		{"4096B", 4096},
		{"4KiB", 4 << 10},
		{"4K", 4 << 10},
		{"256MiB", 256 << 20},
		{"256M", 256 << 20},
		{" 1GiB ", 1 << 30},
		{"1.5GiB", 3 << 29},
		{"10MB", 10_000_000},
		{"2GB", 2_000_000_000},
		{"1KB", 1000},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "+1", "1e6", "0x10", "1_000", "1.5", "1.0000001KiB", "12 apples", "1mib", "1TiB", "99999999999GiB", "NaN", "Inf"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		256 << 20: "256MiB", 1 << 30: "1GiB", 4096: "4KiB", 1000: "1000B", 1536 << 10: "1536KiB", 0: "0B",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if n > 0 {
			if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
				t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
			}
		}
	}
}

func TestSizeFlag(t *testing.T) {
	var n int64 = DefaultLargeSize
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var(SizeFlag{N: &n}, "large-size", "")
	if got := fs.Lookup("large-size").DefValue; got != "256MiB" {
		t.Errorf("default shown as %q, want 256MiB", got)
	}
	if err := fs.Parse([]string{"--large-size", "64MiB"}); err != nil || n != 64<<20 {
		t.Fatalf("parse: n=%d err=%v", n, err)
	}
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fs.Var(SizeFlag{N: &n}, "large-size", "")
	if err := fs.Parse([]string{"--large-size", "lots"}); err == nil {
		t.Fatal("--large-size lots accepted")
	}
}

func valid() Config {
	return Config{Registry: "127.0.0.1:5000", Repo: "bench", Duration: time.Second, Concurrency: 8, LargeSize: 1 << 20}
}

func TestValidate(t *testing.T) {
	if err := (&Config{Registry: "127.0.0.1:5000", Repo: "a/b-c_d.e", Duration: time.Second, Concurrency: 1, LargeSize: 1}).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if c := valid(); func() error { c.ChunkSize = 1 << 20; return c.Validate() }() != nil {
		t.Fatal("a 1 MiB chunk size refused")
	}
	for name, mut := range map[string]func(*Config){
		"no registry":      func(c *Config) { c.Registry = "" },
		"https":            func(c *Config) { c.Registry = "https://127.0.0.1" },
		"path":             func(c *Config) { c.Registry = "127.0.0.1:5000/v2" },
		"userinfo":         func(c *Config) { c.Registry = "u@127.0.0.1" },
		"repo upper":       func(c *Config) { c.Repo = "Bench" },
		"repo empty":       func(c *Config) { c.Repo = "" },
		"repo slash":       func(c *Config) { c.Repo = "a//b" },
		"duration 0":       func(c *Config) { c.Duration = 0 },
		"duration 2h":      func(c *Config) { c.Duration = 2 * time.Hour },
		"concurrency 0":    func(c *Config) { c.Concurrency = 0 },
		"concurrency huge": func(c *Config) { c.Concurrency = MaxConcurrency + 1 },
		"large 0":          func(c *Config) { c.LargeSize = 0 },
		"large 5GiB":       func(c *Config) { c.LargeSize = 5 << 30 },
		"password alone":   func(c *Config) { c.Password = "x" },
		"chunk negative":   func(c *Config) { c.ChunkSize = -1 },
	} {
		c := valid()
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		}
	}
}

func TestBaseURLAndLoopback(t *testing.T) {
	ctx := context.Background()
	for in, want := range map[string]string{
		"127.0.0.1:5000":         "http://127.0.0.1:5000",
		"http://127.0.0.1:5000/": "http://127.0.0.1:5000",
		"localhost":              "http://localhost:80",
		"[::1]:4566":             "http://[::1]:4566",
		"::1":                    "http://[::1]:80",
	} {
		c := Config{Registry: in}
		if got := c.baseURL(); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", in, got, want)
		}
		if err := c.checkLoopback(ctx); err != nil {
			t.Errorf("checkLoopback(%q): %v", in, err)
		}
	}
	for _, in := range []string{"10.0.0.1:5000", "8.8.8.8", "[2001:db8::1]:443", "0.0.0.0:5000"} {
		c := Config{Registry: in}
		if err := c.checkLoopback(ctx); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("checkLoopback(%q) = %v, want ErrNotLoopback", in, err)
		}
	}
}

func TestParseINI(t *testing.T) {
	const file = `# wharf
[default]
aws_access_key_id = AKIDEXAMPLE
AWS_Secret_Access_Key=secret=with=equals
[profile  other ]
region = eu-west-1
; comment
`
	got := parseINI(bufio.NewScanner(strings.NewReader(file)))
	if got["default"]["aws_access_key_id"] != "AKIDEXAMPLE" || got["default"]["aws_secret_access_key"] != "secret=with=equals" {
		t.Errorf("default = %v", got["default"])
	}
	if got["profile other"]["region"] != "eu-west-1" {
		t.Errorf("profile other = %v", got["profile other"])
	}
}

func TestAWSConfigFromSharedFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/credentials", "[default]\naws_access_key_id=AKID1\naws_secret_access_key=S1\n[ci]\naws_access_key_id=AKID2\naws_secret_access_key=S2\n")
	writeFile(t, dir+"/config", "[default]\nregion=us-west-2\n[profile ci]\nregion=eu-central-1\n")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	check := func(wantID, wantRegion string) {
		t.Helper()
		cfg, err := AWSConfig()
		if err != nil {
			t.Fatal(err)
		}
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil || creds.AccessKeyID != wantID || cfg.Region != wantRegion {
			t.Errorf("got %s in %s (%v), want %s in %s", creds.AccessKeyID, cfg.Region, err, wantID, wantRegion)
		}
	}
	check("AKID1", "us-west-2")
	t.Setenv("AWS_PROFILE", "ci")
	check("AKID2", "eu-central-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SENV")
	t.Setenv("AWS_REGION", "ap-south-1")
	check("AKIDENV", "ap-south-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "missing")
	if _, err := AWSConfig(); err == nil {
		t.Error("a missing profile gave credentials")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
