package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/internal/agent/endpoint"
	"github.com/wharfhq/wharf/internal/agentclient"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// ChannelPoller is the Poller of `wharf agent`: the assignment channel
// through internal/agentclient.
type ChannelPoller struct{ Client *agentclient.Client }

// Poll calls PollAssignments.
func (p ChannelPoller) Poll(ctx context.Context, cluster, instanceARN string, acked int64, wait time.Duration, running []string) (Assignments, error) {
	secs := int32(wait / time.Second)
	out, err := p.Client.PollAssignments(ctx, &agentclient.PollInput{Cluster: cluster, ContainerInstance: instanceARN,
		AckedSequence: acked, WaitSeconds: &secs, RunningTasks: running})
	if err != nil {
		return Assignments{}, channelError(err)
	}
	res := Assignments{Sequence: out.Sequence, Changed: out.Sequence != acked}
	for _, a := range out.Assignments {
		res.Tasks = append(res.Tasks, *a.Task)
	}
	return res, nil
}

// SubmitHealth calls SubmitTaskHealth.
func (p ChannelPoller) SubmitHealth(ctx context.Context, cluster, taskARN string, health map[string]wrt.Health) error {
	var hs []agentclient.ContainerHealth
	for name, h := range health {
		hs = append(hs, agentclient.ContainerHealth{ContainerName: name, HealthStatus: string(h)})
	}
	return channelError(p.Client.SubmitTaskHealth(ctx, cluster, taskARN, hs))
}

// refusal is a control-plane answer retrying cannot change.
type refusal struct{ error }

func (refusal) Permanent() bool { return true }
func (r refusal) Unwrap() error { return r.error }

// channelError marks the channel's client errors permanent, except those
// that pass (throttling, credentials being rotated).
func channelError(err error) error {
	var e *agentclient.Error
	if errors.As(err, &e) && e.StatusCode >= 400 && e.StatusCode < 500 {
		switch e.Code {
		case "ThrottlingException", "AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException":
			return err
		}
		return refusal{err}
	}
	return err
}

// LoadSecret returns the agent's endpoint secret from DIR/endpoint.key,
// making it on first use. It keeps the metadata and credentials URIs of a
// task's containers the same across restarts.
func LoadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "endpoint.key")
	b, err := os.ReadFile(path)
	if err == nil && len(b) == 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b = make([]byte, 32)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return b, nil
}

// StartEndpoint serves task metadata and credentials at addr (default
// 169.254.170.2:80, as on ECS): it puts the link-local address on the
// loopback interface, and when port 80 is taken listens on a free port of
// it (the SDKs accept AWS_CONTAINER_CREDENTIALS_FULL_URI there). It
// returns nil, having logged why, when it cannot serve: tasks then get no
// metadata or credentials endpoint, and nothing else breaks.
func StartEndpoint(ctx context.Context, addr string, stats endpoint.StatsFunc, log *slog.Logger) *endpoint.Server {
	if addr == "" {
		addr = endpoint.DefaultAddr
	}
	host, _, _ := net.SplitHostPort(addr)
	log = log.With("component", "task-metadata")
	if host == endpoint.LinkLocalAddress {
		if err := endpoint.EnsureAddress(ctx, host); err != nil {
			log.Warn("tasks get no metadata or credentials endpoint: cannot add the link-local address (run as root?)", "err", err)
			return nil
		}
	}
	ep := endpoint.New(endpoint.Config{Addr: addr, Stats: stats, Logger: log})
	err := ep.Start(ctx)
	if err != nil && host == endpoint.LinkLocalAddress {
		ep = endpoint.New(endpoint.Config{Addr: host + ":0", Stats: stats, Logger: log})
		err = ep.Start(ctx)
	}
	if err != nil {
		log.Warn("tasks get no metadata or credentials endpoint", "addr", addr, "err", err)
		return nil
	}
	log.Info("task metadata and credentials endpoint", "addr", ep.Addr())
	return ep
}

// StartAPIProxy forwards the containers' AWS API calls to the control
// plane from the metadata endpoint's host (port 4566 when free, else
// any), and returns it; nil, having logged why, when it cannot.
func StartAPIProxy(ep *endpoint.Server, target string, log *slog.Logger) *endpoint.Proxy {
	if ep == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(ep.Addr())
	if err != nil {
		return nil
	}
	p, err := endpoint.StartProxy(net.JoinHostPort(host, "4566"), target, log)
	if err != nil {
		p, err = endpoint.StartProxy(net.JoinHostPort(host, "0"), target, log)
	}
	if err != nil {
		log.Warn("containers get no AWS API proxy: AWS_ENDPOINT_URL will point at the control plane directly", "err", err)
		return nil
	}
	return p
}
