package regbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Media types of the images the benchmark pushes.
const (
	manifestType = "application/vnd.oci.image.manifest.v1+json"
	configType   = "application/vnd.oci.image.config.v1+json"
	layerType    = "application/vnd.oci.image.layer.v1.tar"
)

// Phase is the outcome of one timed phase.
type Phase struct {
	// Ops is the number of operations that succeeded, Errors the number
	// that failed; FirstError describes the first failure.
	Ops, Errors int64
	FirstError  string
	// Elapsed is the phase's wall time.
	Elapsed time.Duration
	// P50 and P99 are latencies of the successful operations.
	P50, P99 time.Duration
}

// PerSecond is the rate of successful operations.
func (p Phase) PerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Ops) / p.Elapsed.Seconds()
}

// Transfer is the outcome of one large-blob request.
type Transfer struct {
	Bytes   int64
	Elapsed time.Duration
	Error   string
}

// MBPerSecond is the throughput in MB (10^6 bytes) per second.
func (t Transfer) MBPerSecond() float64 {
	if t.Elapsed <= 0 || t.Error != "" {
		return 0
	}
	return float64(t.Bytes) / 1e6 / t.Elapsed.Seconds()
}

// Result is what Run measured.
type Result struct {
	Registry    string
	Concurrency int
	// SmallPushes: one operation is a whole image of a 4 KiB layer, a
	// config and a manifest (two monolithic blob uploads, POST then PUT
	// each, and a manifest PUT).
	SmallPushes Phase
	// Heads: one operation is a manifest HEAD by tag.
	Heads Phase
	// LargePush is one monolithic upload (POST, then PUT with the whole
	// body); LargePull is one GET of the same blob. LargeChunked is
	// another blob of the same size pushed in PATCHes of ChunkSize bytes
	// (POST, PATCH…, PUT without a body).
	LargePush, LargePull, LargeChunked Transfer
	ChunkSize                          int64
	// SHA256 is this machine's single-core SHA-256 speed in MB/s (1 MiB
	// buffers), measured before the phases: the reference for the
	// large-push figures, as a registry hashes every byte it receives.
	SHA256 float64
	// LoadBefore and LoadAfter are the load averages (/proc/loadavg, empty
	// elsewhere) when the run started and ended.
	LoadBefore, LoadAfter string
}

// Errors is the number of failed operations over every phase.
func (r *Result) Errors() int64 {
	n := r.SmallPushes.Errors + r.Heads.Errors
	if r.LargePush.Error != "" {
		n++
	}
	if r.LargePull.Error != "" {
		n++
	}
	if r.LargeChunked.Error != "" {
		n++
	}
	return n
}

// Run measures the registry: a setup push, then small-image pushes and
// manifest HEADs for cfg.Duration each with cfg.Concurrency clients, then
// one push and one pull of a cfg.LargeSize blob. It returns an error when
// the configuration is invalid, the registry is not on loopback, or the
// setup push fails; failures during the phases are counted in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkLoopback(ctx); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	c := &client{
		base: cfg.baseURL(),
		repo: cfg.Repo,
		user: cfg.Username, pass: cfg.Password,
		http: &http.Client{
			Transport: &http.Transport{
				MaxIdleConnsPerHost: cfg.Concurrency * 2,
				DisableCompression:  true,
			},
			// A 4 GiB blob at 50 MB/s still fits.
			Timeout: 2 * time.Minute,
		},
	}
	defer c.http.CloseIdleConnections()
	chunk := cfg.ChunkSize
	if chunk == 0 {
		chunk = DefaultChunkSize
	}
	res := &Result{Registry: cfg.Registry, Concurrency: cfg.Concurrency, ChunkSize: chunk, LoadBefore: loadAverage()}
	res.SHA256 = SHA256Speed(500 * time.Millisecond)
	fmt.Fprintf(progress, "regbench: load average %s; SHA-256 on one core: %.0f MB/s\n", res.LoadBefore, res.SHA256)
	run := make([]byte, 8)
	if _, err := rand.Read(run); err != nil {
		return nil, err
	}
	runID := hex.EncodeToString(run)

	fmt.Fprintf(progress, "regbench: %s, repository %s, %d clients, %s per phase, large blob %s\n",
		c.base, cfg.Repo, cfg.Concurrency, cfg.Duration, FormatSize(cfg.LargeSize))
	if err := c.ping(ctx); err != nil {
		return nil, err
	}
	headTag := "regbench-" + runID
	if err := c.pushSmallImage(ctx, runID, 0, headTag); err != nil {
		return nil, fmt.Errorf("setup push to %s/%s: %w", c.base, cfg.Repo, err)
	}

	var seq atomic.Int64
	res.SmallPushes = timed(ctx, cfg.Concurrency, cfg.Duration, func(ctx context.Context) error {
		i := seq.Add(1)
		return c.pushSmallImage(ctx, runID, i, fmt.Sprintf("r%s-%d", runID, i))
	})
	fmt.Fprintf(progress, "small-image pushes: %d in %s (%.0f/s, p50 %s, p99 %s), %d errors%s\n",
		res.SmallPushes.Ops, res.SmallPushes.Elapsed.Round(time.Millisecond), res.SmallPushes.PerSecond(),
		res.SmallPushes.P50, res.SmallPushes.P99, res.SmallPushes.Errors, firstError(res.SmallPushes.FirstError))

	res.Heads = timed(ctx, cfg.Concurrency, cfg.Duration, func(ctx context.Context) error {
		return c.headManifest(ctx, headTag)
	})
	fmt.Fprintf(progress, "manifest HEADs: %d in %s (%.0f/s, p50 %s, p99 %s), %d errors%s\n",
		res.Heads.Ops, res.Heads.Elapsed.Round(time.Millisecond), res.Heads.PerSecond(),
		res.Heads.P50, res.Heads.P99, res.Heads.Errors, firstError(res.Heads.FirstError))

	bigDigest, push := c.pushLarge(ctx, cfg.LargeSize, run)
	res.LargePush = push
	fmt.Fprintf(progress, "large blob push: %s in %s (%.0f MB/s)%s\n", FormatSize(cfg.LargeSize),
		res.LargePush.Elapsed.Round(time.Millisecond), res.LargePush.MBPerSecond(), firstError(res.LargePush.Error))
	if res.LargePush.Error == "" {
		res.LargePull = transfer(cfg.LargeSize, func() error { return c.getBlob(ctx, bigDigest, cfg.LargeSize) })
	} else {
		res.LargePull.Error = "skipped: the push failed"
	}
	fmt.Fprintf(progress, "large blob pull: %s in %s (%.0f MB/s)%s\n", FormatSize(cfg.LargeSize),
		res.LargePull.Elapsed.Round(time.Millisecond), res.LargePull.MBPerSecond(), firstError(res.LargePull.Error))

	res.LargeChunked = c.pushLargeChunked(ctx, cfg.LargeSize, chunk, run)
	fmt.Fprintf(progress, "large blob chunked push: %s in %s PATCHes in %s (%.0f MB/s)%s\n", FormatSize(cfg.LargeSize), FormatSize(chunk),
		res.LargeChunked.Elapsed.Round(time.Millisecond), res.LargeChunked.MBPerSecond(), firstError(res.LargeChunked.Error))
	res.LoadAfter = loadAverage()
	return res, nil
}

// SHA256Speed measures crypto/sha256 over 1 MiB buffers on one goroutine
// for about d and returns MB (10^6 bytes) per second.
func SHA256Speed(d time.Duration) float64 {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	h := sha256.New()
	h.Write(buf) // warm up
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 16 {
			h.Write(buf)
			n += len(buf)
		}
	}
	return float64(n) / 1e6 / time.Since(start).Seconds()
}

// loadAverage is the first three fields of /proc/loadavg ("" where
// there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func firstError(s string) string {
	if s == "" {
		return ""
	}
	return "; first: " + s
}

// timed runs op from workers goroutines until d has passed, MaxOps
// operations have started or ctx ends.
func timed(ctx context.Context, workers int, d time.Duration, op func(context.Context) error) Phase {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	var (
		started, failed atomic.Int64
		mu              sync.Mutex
		firstErr        string
		lat             = make([][]time.Duration, workers)
		wg              sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= MaxOps {
				t0 := time.Now()
				if err := op(ctx); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	p := Phase{Elapsed: time.Since(start), Errors: failed.Load(), FirstError: firstErr}
	all := slices.Concat(lat...)
	p.Ops = int64(len(all))
	if len(all) > 0 {
		slices.Sort(all)
		p.P50 = all[len(all)*50/100].Round(time.Microsecond)
		p.P99 = all[len(all)*99/100].Round(time.Microsecond)
	}
	return p
}

func transfer(n int64, f func() error) Transfer {
	t0 := time.Now()
	err := f()
	t := Transfer{Bytes: n, Elapsed: time.Since(t0)}
	if err != nil {
		t.Error = err.Error()
	}
	return t
}

// pushLarge uploads a blob of n bytes in one request and returns its
// digest; the blob is garbage once this returns, before the pull.
func (c *client) pushLarge(ctx context.Context, n int64, run []byte) (string, Transfer) {
	big := largeBlob(n, run)
	digest := digestOf(big)
	return digest, transfer(n, func() error { return c.uploadBlob(ctx, digest, big) })
}

// pushLargeChunked uploads another blob of n bytes in PATCHes of chunk
// bytes, each with its Content-Range, then a PUT without a body.
func (c *client) pushLargeChunked(ctx context.Context, n, chunk int64, run []byte) Transfer {
	big := largeBlob(n, run)
	big[0] ^= 0xff // not the blob pushed in one PUT
	digest := digestOf(big)
	return transfer(n, func() error {
		resp, err := c.do(ctx, http.MethodPost, c.base+"/v2/"+c.repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
		if err != nil {
			return err
		}
		loc, err := resp.Location()
		if err != nil {
			return fmt.Errorf("upload POST: %w", err)
		}
		for off := int64(0); off < n; off += chunk {
			end := min(off+chunk, n)
			hdr := http.Header{
				"Content-Type":  {"application/octet-stream"},
				"Content-Range": {fmt.Sprintf("%d-%d", off, end-1)},
			}
			resp, err := c.do(ctx, http.MethodPatch, loc.String(), big[off:end], hdr, http.StatusAccepted)
			if err != nil {
				return err
			}
			if loc, err = resp.Location(); err != nil {
				return fmt.Errorf("upload PATCH: %w", err)
			}
		}
		q := loc.Query()
		q.Set("digest", digest)
		loc.RawQuery = q.Encode()
		_, err = c.do(ctx, http.MethodPut, loc.String(), nil, nil, http.StatusCreated)
		return err
	})
}

// largeBlob makes n bytes unique to this run without spending seconds on
// crypto/rand: a cheap pattern, the run id at every MiB.
func largeBlob(n int64, run []byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	for off := int64(0); off < n; off += 1 << 20 {
		copy(b[off:], run)
	}
	return b
}

// client speaks the OCI Distribution API to one repository.
type client struct {
	base, repo string
	user, pass string
	http       *http.Client
}

// StatusError is an unexpected HTTP answer.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends a request and drains the answer; it returns the response
// (body closed) when the status is one of want.
func (c *client) do(ctx context.Context, method, u string, body []byte, hdr http.Header, want ...int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if !slices.Contains(want, resp.StatusCode) {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return nil, &StatusError{Method: method, Path: req.URL.Path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(msg))}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp, err
}

func (c *client) ping(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, c.base+"/v2/", nil, nil, http.StatusOK)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		return fmt.Errorf("%s/v2/: 401 Unauthorized: give --username/--password or --ecr-endpoint", c.base)
	}
	return err
}

// uploadBlob stores a blob with a monolithic upload: POST opens a
// session, PUT ?digest= sends every byte and commits.
func (c *client) uploadBlob(ctx context.Context, digest string, data []byte) error {
	resp, err := c.do(ctx, http.MethodPost, c.base+"/v2/"+c.repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("upload POST: %w", err)
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	_, err = c.do(ctx, http.MethodPut, loc.String(), data, hdr, http.StatusCreated)
	return err
}

// pushSmallImage pushes a 4 KiB layer, a config and a manifest tagged tag.
func (c *client) pushSmallImage(ctx context.Context, run string, i int64, tag string) error {
	layer := make([]byte, SmallLayerSize)
	copy(layer, fmt.Sprintf("regbench layer %s %d", run, i))
	cfg := fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","regbench":"%s-%d"}`, run, i)
	ld, cd := digestOf(layer), digestOf(cfg)
	if err := c.uploadBlob(ctx, ld, layer); err != nil {
		return err
	}
	if err := c.uploadBlob(ctx, cd, cfg); err != nil {
		return err
	}
	man := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[{"mediaType":%q,"digest":%q,"size":%d}]}`,
		manifestType, configType, cd, len(cfg), layerType, ld, len(layer))
	hdr := http.Header{"Content-Type": {manifestType}}
	_, err := c.do(ctx, http.MethodPut, c.base+"/v2/"+c.repo+"/manifests/"+url.PathEscape(tag), man, hdr, http.StatusCreated)
	return err
}

func (c *client) headManifest(ctx context.Context, tag string) error {
	hdr := http.Header{"Accept": {manifestType}}
	_, err := c.do(ctx, http.MethodHead, c.base+"/v2/"+c.repo+"/manifests/"+url.PathEscape(tag), nil, hdr, http.StatusOK)
	return err
}

// getBlob reads a blob to the end and checks its length.
func (c *client) getBlob(ctx context.Context, digest string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v2/"+c.repo+"/blobs/"+digest, nil)
	if err != nil {
		return err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return &StatusError{Method: http.MethodGet, Path: req.URL.Path, Status: resp.StatusCode, Body: string(msg)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("GET %s: %d bytes, want %d", req.URL.Path, n, size)
	}
	return nil
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
