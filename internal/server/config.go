// Package server assembles Wharf: it opens the state store, bootstraps the
// account, builds every service and serves them on one listener. The
// command line (internal/cli) and tests start it the same way:
//
//	srv, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0"})
//	defer srv.Stop(ctx)
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// DefaultInstanceLostTimeout is the default of --instance-lost-timeout
// (and of the agent timeout): see ecs.DefaultInstanceLostTimeout.
const DefaultInstanceLostTimeout = ecs.DefaultInstanceLostTimeout

// Config is everything a Wharf server needs to start.
type Config struct {
	// DataDir holds all state: the database, blobs, credentials and config.
	DataDir string
	// Listen is the HOST:PORT of the one listener (":0" picks a free port).
	Listen string
	// PublicHost is the host[:port] clients reach Wharf at (repository
	// URIs); empty means the listen address.
	PublicHost string
	// Region is the default region written to DataDir/config.
	Region string
	// RootAccessKeyID and RootSecretAccessKey, when set, are the account's
	// administrator key instead of a generated one.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// SparseManifests lets the registry accept manifests whose layers or
	// index children were never pushed (mirrors of one platform, foreign
	// layers), as OCI allows. Off by default, as ECR: a manifest must
	// reference blobs the repository holds (MANIFEST_BLOB_UNKNOWN).
	SparseManifests bool
	// AuditRetention is how long audit events are kept (default 90 days).
	AuditRetention time.Duration
	// StoppedTaskRetention is how long stopped ECS tasks stay describable
	// before the maintenance loop deletes them (default one hour, as ECS).
	StoppedTaskRetention time.Duration
	// AgentTimeout is how long a container instance's agent may go without
	// polling before the instance shows agentConnected=false (default
	// DefaultInstanceLostTimeout).
	AgentTimeout time.Duration
	// InstanceLostTimeout is how long an agent may go without polling
	// before its instance is lost and its tasks are stopped (default
	// DefaultInstanceLostTimeout).
	InstanceLostTimeout time.Duration
	// TargetTrackingPeriod is the period of the alarms Application Auto
	// Scaling target tracking policies create (default 60 s, as AWS;
	// tests shorten it, hidden flag --target-tracking-period).
	TargetTrackingPeriod time.Duration
	// AutoScalingTick is how often the scheduled-action loop looks for
	// actions that are due (default 10 s).
	AutoScalingTick time.Duration
	// AlarmTick is how often the CloudWatch alarm loop looks for alarms due
	// for evaluation (default 10 s; tests shorten it).
	AlarmTick time.Duration
	// ECSMetricsPeriod is how often the AWS/ECS CPU and memory metrics are
	// published (default one minute, as ECS; below a minute they are
	// high-resolution datapoints). Agents sample at half of it, 5 to 20 s.
	ECSMetricsPeriod time.Duration
	// ServiceSchedulerInterval is how often the ECS service scheduler
	// passes over every service (default 1 s); writes to services also
	// wake it.
	ServiceSchedulerInterval time.Duration
	// ManagedCapacity runs FARGATE tasks on the local Docker Engine
	// ("on", the default) or not ("off": FARGATE RunTask is refused;
	// "external": they are accepted and left in the managed queue for a
	// runner outside this server — tests simulate one).
	ManagedCapacity string
	// DockerHost is the engine of the managed capacity (default
	// DOCKER_HOST, then unix:///var/run/docker.sock).
	DockerHost string
	// PauseExecutable is the program the awsvpc pause image is built from
	// (default: this executable, which has the hidden `pause` command).
	PauseExecutable string
	// MetadataAddress is where FARGATE tasks find the task metadata and
	// credentials endpoint (default 169.254.170.2:80, as on ECS).
	MetadataAddress string
	// S3Endpoint is the S3-compatible endpoint the FARGATE capacity
	// downloads tasks' environmentFiles from (`wharf up --s3-endpoint`).
	S3Endpoint string
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// Version is reported in logs.
	Version string
	// Now is the clock (default time.Now); tests may replace it.
	Now func() time.Time
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	var problems []error
	if c.DataDir == "" {
		problems = append(problems, errors.New("--data-dir is required"))
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:4566"
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		problems = append(problems, fmt.Errorf("--listen %q is not HOST:PORT: %w", c.Listen, err))
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	switch c.ManagedCapacity {
	case "", "on", "off", "external":
	default:
		problems = append(problems, fmt.Errorf("--fargate %q: want on or off", c.ManagedCapacity))
	}
	if !tenancy.ValidRegion(c.Region) {
		problems = append(problems, fmt.Errorf("--region %q is not a region name like us-east-1", c.Region))
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == "") {
		problems = append(problems, errors.New("set both WHARF_ROOT_ACCESS_KEY_ID and WHARF_ROOT_SECRET_ACCESS_KEY, or neither"))
	}
	if c.RootAccessKeyID != "" && (len(c.RootAccessKeyID) < 16 || len(c.RootAccessKeyID) > 128) {
		problems = append(problems, errors.New("WHARF_ROOT_ACCESS_KEY_ID must be 16 to 128 characters"))
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = 90 * 24 * time.Hour
	}
	switch {
	case c.StoppedTaskRetention == 0:
		c.StoppedTaskRetention = time.Hour
	case c.StoppedTaskRetention < 0:
		problems = append(problems, fmt.Errorf("--stopped-task-retention %s is negative", c.StoppedTaskRetention))
	}
	if c.AgentTimeout < 0 {
		problems = append(problems, fmt.Errorf("agent timeout %s is negative", c.AgentTimeout))
	}
	if c.InstanceLostTimeout < 0 {
		problems = append(problems, fmt.Errorf("--instance-lost-timeout %s is negative", c.InstanceLostTimeout))
	}
	switch {
	case c.TargetTrackingPeriod == 0:
		c.TargetTrackingPeriod = time.Minute
	case c.TargetTrackingPeriod != 10*time.Second && c.TargetTrackingPeriod != 30*time.Second && (c.TargetTrackingPeriod < time.Minute || c.TargetTrackingPeriod%time.Minute != 0):
		problems = append(problems, fmt.Errorf("--target-tracking-period %s: want 10s, 30s or whole minutes (a CloudWatch alarm period)", c.TargetTrackingPeriod))
	}
	switch {
	case c.ECSMetricsPeriod == 0:
		c.ECSMetricsPeriod = time.Minute
	case c.ECSMetricsPeriod < time.Second || c.ECSMetricsPeriod%time.Second != 0:
		problems = append(problems, fmt.Errorf("--ecs-metrics-period %s: want whole seconds, at least 1s", c.ECSMetricsPeriod))
	}
	if err := agent.CheckS3Endpoint(c.S3Endpoint); err != nil {
		problems = append(problems, err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return errors.Join(problems...)
}
