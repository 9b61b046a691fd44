package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/agent/endpoint"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/managed"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

// capacity is the server's managed (FARGATE) capacity: the agent core
// running in process on the local Docker Engine.
type capacity struct {
	log     *slog.Logger
	host    string         // DOCKER_HOST-style address; empty = the default
	metrics *agent.Metrics // the managed agent's, on the server's registry

	mu      sync.Mutex
	client  *docker.Client // nil until the engine answered once
	lastErr error
	checked time.Time

	cancel context.CancelFunc
	done   chan struct{}
	ep     *endpoint.Server
	proxy  *endpoint.Proxy
}

// newCapacity returns the managed capacity; it connects to the Docker
// Engine lazily: nothing fails when there is none, FARGATE tasks are then
// refused with the reason. Its agent's metrics are registered on reg
// with the label capacity="fargate".
func newCapacity(cfg Config, reg prometheus.Registerer) *capacity {
	return &capacity{log: cfg.Logger, host: cfg.DockerHost,
		metrics: agent.NewMetrics(reg, prometheus.Labels{"capacity": "fargate"})}
}

// engine returns the engine client once one answered.
func (c *capacity) engine() *docker.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// available says whether FARGATE tasks can run: the engine answers. The
// answer is cached for a few seconds so RunTask does not ping each time.
func (c *capacity) available(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < 5*time.Second {
		return c.lastErr
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var err error
	if c.client == nil {
		c.client, err = docker.Dial(pctx, docker.Options{Host: c.host})
	} else {
		err = c.client.Ping(pctx)
	}
	if err != nil {
		err = fmt.Errorf("this Wharf server cannot reach a Docker Engine (%v); start Docker (or set DOCKER_HOST) and try again, or use the EC2 launch type with `wharf agent`", err)
	}
	c.lastErr, c.checked = err, time.Now()
	return err
}

// start runs the managed agent in the background.
func (c *capacity) start(ctx context.Context, cfg Config, ecsSvc *ecs.Service, tokens *registry.Tokens, endpointURL string, registryHosts []string) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		if err := c.run(ctx, cfg, ecsSvc, tokens, endpointURL, registryHosts); err != nil && ctx.Err() == nil {
			c.log.Error("managed (FARGATE) capacity stopped", "err", err)
		}
	}()
}

func (c *capacity) run(ctx context.Context, cfg Config, ecsSvc *ecs.Service, tokens *registry.Tokens, endpointURL string, registryHosts []string) error {
	// Wait for the engine; FARGATE RunTask says why meanwhile.
	for c.available(ctx) != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	client := c.engine()
	pause, err := task.EnsurePauseImage(ctx, client, cfg.PauseExecutable)
	if err != nil {
		c.log.Warn("no awsvpc pause image; FARGATE tasks will fail to start", "err", err)
	}
	c.ep = agent.StartEndpoint(ctx, cfg.MetadataAddress, client.RawStats, c.log)
	acfg := agent.Config{Endpoint: endpointURL, Region: cfg.Region, DataDir: filepath.Join(cfg.DataDir, "capacity"),
		Logger: c.log.With("component", "fargate"), Metrics: c.metrics, S3Endpoint: cfg.S3Endpoint}
	cp := &managed.ControlPlane{ECS: ecsSvc, Tokens: tokens, RegistryHosts: registryHosts}
	a, err := agent.NewManaged(acfg, client, cp)
	if err != nil {
		return err
	}
	apiURL := endpointURL
	if c.proxy = agent.StartAPIProxy(c.ep, endpointURL, c.log); c.proxy != nil {
		apiURL = c.proxy.URL()
	}
	secret, err := agent.LoadSecret(acfg.DataDir)
	if err != nil {
		return err
	}
	ec := agent.EngineConfig{Runtime: client, Endpoint: c.ep, PauseImage: pause, Secret: secret,
		Env:       map[string]string{"AWS_ENDPOINT_URL": apiURL},
		S3Missing: "this Wharf server has no S3 endpoint to download them from; start `wharf up` with --s3-endpoint URL"}
	return a.Run(ctx, agent.TaskEngine(acfg, ec))
}

// stop ends the managed agent (its containers keep running: a restarted
// server adopts them).
func (c *capacity) stop(ctx context.Context) error {
	if c.cancel == nil {
		return nil
	}
	c.cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
		return errors.New("managed capacity did not stop in time")
	}
	var err error
	if c.proxy != nil {
		err = c.proxy.Stop(ctx)
	}
	if c.ep != nil {
		err = errors.Join(err, c.ep.Stop(ctx))
	}
	return err
}
