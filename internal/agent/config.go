package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pull behaviours, as the ECS agent's ECS_IMAGE_PULL_BEHAVIOR names them.
const (
	PullDefault      = "default"       // pull every time; fall back to a cached image if the pull fails
	PullAlways       = "always"        // pull every time; a failed pull fails the task
	PullOnce         = "once"          // pull only if the image is not cached
	PullPreferCached = "prefer-cached" // use the cached image when present, else pull
)

// Config configures an agent the way the ECS agent is configured: flags,
// or the ECS_* environment variables the ECS agent reads.
type Config struct {
	// Endpoint is the control plane's URL (Wharf's listener), e.g.
	// http://10.0.0.1:4566.
	Endpoint string
	// Region signs requests and is offered to containers (AWS_REGION).
	Region string
	// Cluster is the cluster to join (ECS_CLUSTER; default "default").
	Cluster string
	// DataDir keeps the agent's state file (ECS_DATADIR).
	DataDir string
	// ReservedMemoryMiB is memory kept back from tasks (ECS_RESERVED_MEMORY).
	ReservedMemoryMiB int
	// ReservedPorts / ReservedPortsUDP are host ports tasks never get
	// (ECS_RESERVED_PORTS, default 22, 2375, 2376, 51678, 51679).
	ReservedPorts    []int
	ReservedPortsUDP []int
	// AvailabilityZone and InstanceType become ecs.availability-zone and
	// ecs.instance-type (default REGION + "a" and "wharf.host").
	AvailabilityZone string
	InstanceType     string
	// Attributes are custom attributes (ECS_INSTANCE_ATTRIBUTES, JSON object).
	Attributes map[string]string
	// PullBehavior is default, always, once or prefer-cached
	// (ECS_IMAGE_PULL_BEHAVIOR).
	PullBehavior string
	// TaskCleanupWait is how long a stopped task's containers are kept
	// (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION, default 3h).
	TaskCleanupWait time.Duration
	// ImageCleanupInterval is how often unused images are removed
	// (ECS_IMAGE_CLEANUP_INTERVAL, default 30m; 0 disables).
	ImageCleanupInterval time.Duration
	// PollWait is how long one assignment poll may wait (default 10s).
	PollWait time.Duration
	// MetadataAddress is where the task metadata and credentials endpoint
	// listens (default 169.254.170.2:80, as on ECS).
	MetadataAddress string
	// MetricsAddress is where `wharf agent` serves its Prometheus metrics
	// (WHARF_AGENT_METRICS_ADDRESS; empty: not served).
	MetricsAddress string
	// Metrics receives the agent's Prometheus measurements (nil: none; see
	// metrics.go).
	Metrics *Metrics
	// S3Endpoint is the S3-compatible endpoint environmentFiles are
	// downloaded from (--s3-endpoint, AWS_ENDPOINT_URL_S3), path-style.
	// Empty: tasks with environment files stop with a reason naming it.
	S3Endpoint string
	// GPUDevDir and GPUProcDir are where GPUs are looked for (default /dev
	// and /proc; tests point them at a fake tree). NoGPU turns detection
	// off (ECS_ENABLE_GPU_SUPPORT=false).
	GPUDevDir, GPUProcDir string
	NoGPU                 bool
	// Logger receives the agent's logs.
	Logger *slog.Logger
}

// DefaultDataDir keeps the agent's state unless --data-dir says otherwise.
const DefaultDataDir = "/var/lib/wharf-agent"

// DefaultReservedPorts are the ports the ECS agent reserves by default.
var DefaultReservedPorts = []int{22, 2375, 2376, 51678, 51679}

// FromEnv fills unset fields from the ECS agent's environment variables.
func (c *Config) FromEnv(getenv func(string) string) error {
	set := func(dst *string, keys ...string) {
		for _, k := range keys {
			if *dst == "" {
				*dst = getenv(k)
			}
		}
	}
	set(&c.Cluster, "ECS_CLUSTER")
	set(&c.DataDir, "ECS_DATADIR")
	set(&c.Endpoint, "WHARF_ENDPOINT", "ECS_BACKEND_HOST", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL")
	set(&c.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	set(&c.AvailabilityZone, "ECS_AVAILABILITY_ZONE")
	set(&c.InstanceType, "ECS_INSTANCE_TYPE")
	set(&c.PullBehavior, "ECS_IMAGE_PULL_BEHAVIOR")
	set(&c.S3Endpoint, "AWS_ENDPOINT_URL_S3")
	if v := getenv("ECS_ENABLE_GPU_SUPPORT"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("ECS_ENABLE_GPU_SUPPORT=%q: want true or false", v)
		}
		c.NoGPU = c.NoGPU || !on
	}
	if v := getenv("ECS_RESERVED_MEMORY"); v != "" && c.ReservedMemoryMiB == 0 {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("ECS_RESERVED_MEMORY=%q: want a number of MiB", v)
		}
		c.ReservedMemoryMiB = n
	}
	for key, dst := range map[string]*[]int{"ECS_RESERVED_PORTS": &c.ReservedPorts, "ECS_RESERVED_PORTS_UDP": &c.ReservedPortsUDP} {
		if v := getenv(key); v != "" && *dst == nil {
			ports, err := ParsePorts(v)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			*dst = ports
		}
	}
	if v := getenv("ECS_INSTANCE_ATTRIBUTES"); v != "" && c.Attributes == nil {
		if err := json.Unmarshal([]byte(v), &c.Attributes); err != nil {
			return fmt.Errorf(`ECS_INSTANCE_ATTRIBUTES: want a JSON object like {"stack":"prod"}: %v`, err)
		}
	}
	for key, dst := range map[string]*time.Duration{"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION": &c.TaskCleanupWait,
		"ECS_IMAGE_CLEANUP_INTERVAL": &c.ImageCleanupInterval} {
		if v := getenv(key); v != "" && *dst == 0 {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want a duration like 3h", key, v)
			}
			*dst = d
		}
	}
	return nil
}

// ParsePorts reads a port list: "[22, 80]" (the ECS agent's JSON form) or
// "22,80".
func ParsePorts(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	var out []int
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("want a list of ports like [22, 80]: %v", err)
		}
	} else if s != "" {
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("%q is not a port number", f)
			}
			out = append(out, n)
		}
	}
	for _, p := range out {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d is out of range 1-65535", p)
		}
	}
	return out, nil
}

// withDefaults returns c with every unset field at its default.
func (c Config) withDefaults() Config {
	if c.Cluster == "" {
		c.Cluster = "default"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.AvailabilityZone == "" {
		c.AvailabilityZone = c.Region + "a"
	}
	if c.InstanceType == "" {
		c.InstanceType = "wharf.host"
	}
	if c.ReservedPorts == nil {
		c.ReservedPorts = slices.Clone(DefaultReservedPorts)
	}
	if c.PullBehavior == "" {
		c.PullBehavior = PullDefault
	}
	if c.TaskCleanupWait == 0 {
		c.TaskCleanupWait = 3 * time.Hour
	}
	if c.ImageCleanupInterval == 0 {
		c.ImageCleanupInterval = 30 * time.Minute
	}
	if c.PollWait == 0 {
		c.PollWait = 10 * time.Second
	}
	if c.MetadataAddress == "" {
		c.MetadataAddress = "169.254.170.2:80"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.GPUDevDir == "" {
		c.GPUDevDir = "/dev"
	}
	if c.GPUProcDir == "" {
		c.GPUProcDir = "/proc"
	}
	return c
}

// CheckS3Endpoint checks an --s3-endpoint value (empty: none): an http or
// https URL with a host. `wharf up` checks its own flag with it too.
func CheckS3Endpoint(endpoint string) error {
	if u, err := url.Parse(endpoint); endpoint != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return fmt.Errorf("--s3-endpoint %q: want a URL like http://10.0.0.5:9000", endpoint)
	}
	return nil
}

// Validate checks c, with messages that say what to change.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		errs = append(errs, fmt.Errorf("--endpoint %q: want a URL like http://127.0.0.1:4566", c.Endpoint))
	}
	switch c.PullBehavior {
	case "", PullDefault, PullAlways, PullOnce, PullPreferCached:
	default:
		errs = append(errs, fmt.Errorf("--pull-behavior %q: want default, always, once or prefer-cached", c.PullBehavior))
	}
	if c.ReservedMemoryMiB < 0 {
		errs = append(errs, errors.New("--reserved-memory must not be negative"))
	}
	if err := CheckS3Endpoint(c.S3Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.PollWait < 0 || c.PollWait > time.Minute {
		errs = append(errs, errors.New("--poll-wait must be between 0 and 1m"))
	}
	return errors.Join(errs...)
}
