package endpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// Proxy forwards the AWS API calls of a task's containers to the control
// plane. Containers cannot reach a control plane listening on the host's
// loopback, but they reach the link-local address; AWS_ENDPOINT_URL points
// them here. Requests pass through unchanged — the Host header included —
// so their SigV4 signatures verify at the control plane.
type Proxy struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// StartProxy listens on addr (host:port; port 0 picks one) and forwards
// every request to target (e.g. http://127.0.0.1:4566).
func StartProxy(addr, target string, log *slog.Logger) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("proxy target %q is not a URL", target)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	p := &Proxy{ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: rp, ReadHeaderTimeout: 30 * time.Second, ErrorLog: rp.ErrorLog}}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("API proxy stopped", "err", err)
		}
	}()
	return p, nil
}

// URL is the proxy's base URL, for AWS_ENDPOINT_URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Stop closes the proxy, letting requests in flight finish until ctx ends.
func (p *Proxy) Stop(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	<-p.done
	return err
}
