// Package docker implements internal/runtime on the Docker Engine API,
// spoken over the engine's unix socket (or TCP) with net/http: a small,
// typed client for the handful of endpoints the agent needs.
//
// The API version is negotiated at Dial with GET /version: the lower of the
// engine's version and MaxAPIVersion, refusing engines older than
// MinAPIVersion.
package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/runtime"
)

// API versions this client speaks.
const (
	MinAPIVersion = "1.41" // Docker 20.10
	MaxAPIVersion = "1.47" // Docker 27
)

// DefaultHost is the engine's address when neither Options.Host nor
// DOCKER_HOST says otherwise.
const DefaultHost = "unix:///var/run/docker.sock"

// Options configures Dial.
type Options struct {
	// Host is "unix:///path" or "tcp://host:port"; empty uses DOCKER_HOST,
	// then DefaultHost.
	Host string
}

// Client talks to one Docker Engine. It is safe for concurrent use.
type Client struct {
	http    *http.Client
	base    string // "http://host/v1.xx"
	version string
}

var _ runtime.Runtime = (*Client)(nil)

// Dial connects to the engine and negotiates the API version. An engine
// that cannot be reached gives an error that Is runtime.ErrUnavailable.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	host := opts.Host
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	var base string
	switch u.Scheme {
	case "unix":
		path := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		base = "http://docker"
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("docker host %q: unsupported scheme %q", host, u.Scheme)
	}
	c := &Client{http: &http.Client{Transport: tr}, base: base}
	var v struct {
		APIVersion string `json:"ApiVersion"`
	}
	if err := c.call(ctx, http.MethodGet, "/version", nil, nil, &v); err != nil {
		return nil, err
	}
	if versionLess(v.APIVersion, MinAPIVersion) {
		return nil, fmt.Errorf("docker engine API %s is older than %s: %w", v.APIVersion, MinAPIVersion, runtime.ErrUnavailable)
	}
	c.version = MaxAPIVersion
	if versionLess(v.APIVersion, MaxAPIVersion) {
		c.version = v.APIVersion
	}
	c.base = base + "/v" + c.version
	return c, nil
}

// APIVersion is the negotiated API version.
func (c *Client) APIVersion() string { return c.version }

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// versionLess compares dotted API versions ("1.41" < "1.47").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// engineError is an error response from the engine. It unwraps to the
// runtime sentinel its status means.
type engineError struct {
	status  int
	message string
}

func (e *engineError) Error() string { return e.message }

func (e *engineError) Unwrap() error {
	switch e.status {
	case http.StatusNotFound:
		return runtime.ErrNotFound
	case http.StatusConflict, http.StatusForbidden: // 403: e.g. a network in use
		return runtime.ErrConflict
	case http.StatusBadRequest:
		return runtime.ErrInvalid
	}
	return nil
}

// request sends one request; the caller closes the response body. query
// may be nil; body, when non-nil, is sent as JSON unless it is an
// io.Reader. Non-2xx answers become *engineError.
func (c *Client) request(ctx context.Context, method, path string, query url.Values, body any, header http.Header) (*http.Response, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd, ctype = b, "application/x-tar"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(buf), "application/json"
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if ctype != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("docker engine: %w: %v", runtime.ErrUnavailable, err)
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotModified {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &m) != nil || m.Message == "" {
			m.Message = strings.TrimSpace(string(data))
		}
		if m.Message == "" {
			m.Message = resp.Status
		}
		return nil, &engineError{status: resp.StatusCode, message: m.Message}
	}
	return resp, nil
}

// call sends a request and decodes a JSON answer into out (when non-nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.request(ctx, method, path, query, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// filters encodes Engine API filters ({"label":["k=v"],…}).
func filters(f map[string][]string) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// labelFilters turns a label map into "k=v" (or "k") filter terms.
func labelFilters(labels map[string]string) []string {
	var out []string
	for k, v := range labels {
		if v == "" {
			out = append(out, k)
		} else {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// Ping reports whether the engine answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.call(ctx, http.MethodGet, "/_ping", nil, nil, nil); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Info describes the engine's host.
func (c *Client) Info(ctx context.Context) (runtime.Info, error) {
	var v struct {
		Name            string
		NCPU            int
		MemTotal        int64
		OSType          string
		Architecture    string
		OperatingSystem string
		KernelVersion   string
		ServerVersion   string
	}
	if err := c.call(ctx, http.MethodGet, "/info", nil, nil, &v); err != nil {
		return runtime.Info{}, fmt.Errorf("info: %w", err)
	}
	return runtime.Info{
		Name: v.Name, CPUs: v.NCPU, MemoryBytes: v.MemTotal, OSType: v.OSType,
		Architecture: v.Architecture, OS: v.OperatingSystem, KernelVersion: v.KernelVersion,
		ServerVersion: v.ServerVersion, APIVersion: c.version,
	}, nil
}
