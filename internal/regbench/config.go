// Package regbench measures a container registry through the OCI
// Distribution API, the way a pushing and pulling client sees it:
// small-image pushes per second, manifest HEADs per second, and the
// throughput of one large blob pushed and pulled. It speaks plain HTTP to
// any registry (Wharf, CNCF distribution, …) so the same client measures
// both sides of a comparison.
//
// Every phase is bounded in time (Config.Duration) and in count
// (MaxOps), and only loopback registries are accepted: the benchmark
// writes as fast as it can and must never be aimed at someone else's
// server by a typo.
package regbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"
)

// Defaults of the command line.
const (
	DefaultDuration    = 10 * time.Second
	DefaultConcurrency = 8
	DefaultLargeSize   = 256 << 20
	DefaultRepo        = "regbench"
	// SmallLayerSize is the layer of each small image (issue 3: 4 KiB).
	SmallLayerSize = 4 << 10
	// MaxOps bounds the operations of one timed phase.
	MaxOps = 1_000_000
	// MaxLargeSize bounds --large-size: the blob is held in memory.
	MaxLargeSize = 4 << 30
	// MaxConcurrency bounds --concurrency.
	MaxConcurrency = 256
	// DefaultChunkSize is the PATCH size of the chunked large push.
	DefaultChunkSize = 16 << 20
)

// Config says what to measure and where.
type Config struct {
	// Registry is HOST[:PORT] (an http:// prefix is accepted); the host
	// must be a loopback address or resolve only to loopback addresses.
	Registry string
	// Username and Password are sent as Basic auth when Username is set.
	Username, Password string
	// Repo is the repository written to; it must exist where the
	// registry requires that (Wharf, ECR).
	Repo string
	// Duration bounds each of the two timed phases (pushes, HEADs).
	Duration time.Duration
	// Concurrency is the number of concurrent clients of the timed phases.
	Concurrency int
	// LargeSize is the size in bytes of the blob pushed and pulled once.
	LargeSize int64
	// ChunkSize is the size of each PATCH of the chunked large push (0:
	// DefaultChunkSize).
	ChunkSize int64
	// Progress receives one line per phase; nil discards it.
	Progress io.Writer
}

var repoRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// Validate checks the configuration without touching the network.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := c.hostPort(); err != nil {
		errs = append(errs, err)
	}
	if !repoRE.MatchString(c.Repo) || len(c.Repo) > 255 {
		errs = append(errs, fmt.Errorf("repo %q is not a valid repository name", c.Repo))
	}
	if c.Duration <= 0 || c.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("duration %s: want more than 0 and at most 1h", c.Duration))
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1 to %d", c.Concurrency, MaxConcurrency))
	}
	if c.LargeSize < 1 || c.LargeSize > MaxLargeSize {
		errs = append(errs, fmt.Errorf("large size %d: want 1 byte to %s", c.LargeSize, FormatSize(MaxLargeSize)))
	}
	if c.ChunkSize < 0 || c.ChunkSize > MaxLargeSize {
		errs = append(errs, fmt.Errorf("chunk size %d: want 0 (default) to %s", c.ChunkSize, FormatSize(MaxLargeSize)))
	}
	if c.Username == "" && c.Password != "" {
		errs = append(errs, errors.New("password without username"))
	}
	return errors.Join(errs...)
}

// hostPort splits Registry, defaulting the port to 80.
func (c *Config) hostPort() (host, port string, err error) {
	r := strings.TrimSuffix(strings.TrimPrefix(c.Registry, "http://"), "/")
	if r == "" {
		return "", "", errors.New("registry: HOST[:PORT] is required")
	}
	if strings.ContainsAny(r, "/?#@ ") || strings.HasPrefix(r, "https://") {
		return "", "", fmt.Errorf("registry %q: want HOST[:PORT]", c.Registry)
	}
	host, port, err = net.SplitHostPort(r)
	if err != nil {
		// No port (or a bare IPv6 literal).
		host, port = strings.Trim(r, "[]"), "80"
	}
	if host == "" {
		return "", "", fmt.Errorf("registry %q: empty host", c.Registry)
	}
	return host, port, nil
}

// baseURL is the registry's root URL.
func (c *Config) baseURL() string {
	host, port, _ := c.hostPort()
	return "http://" + net.JoinHostPort(host, port)
}

// ErrNotLoopback is returned for a registry that is not on this machine.
var ErrNotLoopback = errors.New("registry is not a loopback address; regbench only measures registries on this machine")

// checkLoopback refuses a registry that is, or resolves to, anything but
// loopback addresses.
func (c *Config) checkLoopback(ctx context.Context) error {
	host, _, err := c.hostPort()
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s: %w", host, ErrNotLoopback)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%s (%s): %w", host, a.IP, ErrNotLoopback)
		}
	}
	return nil
}
