package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// benchClient sends authenticated registry requests over keep-alive
// connections.
type benchClient struct {
	e      *regEnv
	client *http.Client
}

func newBenchClient(e *regEnv) *benchClient {
	return &benchClient{e: e, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (c *benchClient) do(method, path string, body []byte, hdr ...string) (*http.Response, error) {
	req, _ := http.NewRequest(method, c.e.URL+path, bytes.NewReader(body))
	req.SetBasicAuth("AWS", c.e.password)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// TestRegistryThroughput measures manifest HEADs/s and small-image
// pushes/s (4 KiB layer + config + manifest, 8 concurrent pushers) when
// WHARF_REGISTRY_BENCH is set; docs/registry.md records the numbers.
func TestRegistryThroughput(t *testing.T) {
	if testing.Short() || getenv("WHARF_REGISTRY_BENCH") == "" {
		t.Skip("set WHARF_REGISTRY_BENCH=1 to measure")
	}
	e := startRegistry(t)
	e.createRepo(t, "bench")
	c := newBenchClient(e)
	cfg := pushBlob(t, e, "bench", []byte("{}"))
	man := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[]}`, cfg)
	wantStatus(t, e.do(t, "PUT", "/v2/bench/manifests/v1", []byte(man), "Content-Type", "application/vnd.oci.image.manifest.v1+json"), 201)

	run := func(workers int, d time.Duration, op func(i int64) error) float64 {
		var n, fails atomic.Int64
		stop := time.Now().Add(d)
		done := make(chan struct{})
		for w := 0; w < workers; w++ {
			go func() {
				defer func() { done <- struct{}{} }()
				for time.Now().Before(stop) {
					if err := op(n.Add(1)); err != nil {
						fails.Add(1)
						t.Error(err)
						return
					}
				}
			}()
		}
		start := time.Now()
		for w := 0; w < workers; w++ {
			<-done
		}
		return float64(n.Load()-fails.Load()) / time.Since(start).Seconds()
	}
	heads := run(32, 3*time.Second, func(int64) error {
		resp, err := c.do("HEAD", "/v2/bench/manifests/v1", nil)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("HEAD: %d", resp.StatusCode)
		}
		return err
	})
	pushes := run(8, 3*time.Second, func(i int64) error {
		layer := make([]byte, 4096)
		copy(layer, fmt.Sprintf("layer %d %d", i, time.Now().UnixNano()))
		ld := sha256Digest(layer)
		resp, err := c.do("POST", "/v2/bench/blobs/uploads/?digest="+ld, layer)
		if err != nil || resp.StatusCode != 201 {
			return fmt.Errorf("blob: %v %v", resp, err)
		}
		cfgb := []byte(fmt.Sprintf(`{"n":%d}`, i))
		cd := sha256Digest(cfgb)
		if resp, err = c.do("POST", "/v2/bench/blobs/uploads/?digest="+cd, cfgb); err != nil || resp.StatusCode != 201 {
			return fmt.Errorf("config: %v %v", resp, err)
		}
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":4096}]}`, cd, len(cfgb), ld)
		resp, err = c.do("PUT", fmt.Sprintf("/v2/bench/manifests/t%d", i), []byte(m), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		if err == nil && resp.StatusCode != 201 {
			err = fmt.Errorf("manifest: %d", resp.StatusCode)
		}
		return err
	})
	big := make([]byte, 256<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	copy(big, []byte(time.Now().String()))
	bd := sha256Digest(big)
	start := time.Now()
	resp, err := c.do("POST", "/v2/bench/blobs/uploads/?digest="+bd, big)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("big push: %v %v", resp, err)
	}
	pushMBs := float64(len(big)) / (1 << 20) / time.Since(start).Seconds()
	start = time.Now()
	resp, err = c.do("GET", "/v2/bench/blobs/"+bd, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("big pull: %v %v", resp, err)
	}
	pullMBs := float64(len(big)) / (1 << 20) / time.Since(start).Seconds()
	t.Logf("256 MiB blob: push %.0f MB/s (one request, hashed and fsynced), pull %.0f MB/s", pushMBs, pullMBs)
	t.Logf("manifest HEADs: %.0f/s (32 clients); small-image pushes: %.0f/s (8 pushers, 3 requests each)", heads, pushes)
}

func getenv(k string) string { return os.Getenv(k) }
