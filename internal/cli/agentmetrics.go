package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wharfhq/wharf/internal/agent"
)

// ecsAgentMetricsAddress is where the ECS agent serves Prometheus metrics
// when ECS_ENABLE_PROMETHEUS_METRICS=true (its port 51680, all
// interfaces). Like the ECS agent, `wharf agent` serves none by default:
// the port is open to the network, and a host owner opts in.
const ecsAgentMetricsAddress = ":51680"

// metricsAddress picks the agent's metrics address: the flag, else
// WHARF_AGENT_METRICS_ADDRESS, else :51680 when the ECS agent's
// ECS_ENABLE_PROMETHEUS_METRICS is true; "" (off) otherwise. "off" turns it
// off explicitly.
func metricsAddress(flagValue string, getenv func(string) string) (string, error) {
	addr := flagValue
	if addr == "" {
		addr = getenv("WHARF_AGENT_METRICS_ADDRESS")
	}
	if addr == "" {
		if on, _ := strconv.ParseBool(getenv("ECS_ENABLE_PROMETHEUS_METRICS")); on {
			addr = ecsAgentMetricsAddress
		}
	}
	if addr == "" || addr == "off" {
		return "", nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", fmt.Errorf("--metrics-address %q: want HOST:PORT or :PORT, e.g. :51680", addr)
	}
	return addr, nil
}

// metricsPort is the port of a metrics address, 0 for none or an
// ephemeral one.
func metricsPort(addr string) int {
	if addr == "" {
		return 0
	}
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// serveAgentMetrics serves the agent's own registry (its instruments, Go
// and process collectors) at cfg.MetricsAddress/metrics and sets
// cfg.Metrics. It fails when the address cannot be bound: a host owner
// asked for it.
func serveAgentMetrics(ctx context.Context, cfg *agent.Config) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Metrics = agent.NewMetrics(reg, nil)
	ln, err := net.Listen("tcp", cfg.MetricsAddress)
	if err != nil {
		return nil, fmt.Errorf("--metrics-address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("metrics listener stopped", "err", err)
		}
	}()
	cfg.Logger.Info("serving Prometheus metrics", "addr", "http://"+hostPort(ln.Addr().String())+"/metrics")
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), agentShutdownGrace)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

// hostPort shows a wildcard listener as localhost.
func hostPort(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
