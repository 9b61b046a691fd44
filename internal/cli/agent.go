package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentclient"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

const agentUsage = `Usage: wharf agent [flags]

Turns this host into ECS capacity: registers it with a Wharf control plane as
a container instance of a cluster (launch type EC2), runs the tasks placed on
it as containers on the local Docker Engine, and reports their states.

Credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID…, the shared
credentials file and profile). The agent calls RegisterContainerInstance,
SubmitTaskStateChange and the assignment channel (ecs:Poll); give its
principal those ECS actions (or AmazonEC2ContainerServiceforEC2Role's
equivalent) and ecr:GetAuthorizationToken.

  export AWS_SHARED_CREDENTIALS_FILE=DATA-DIR/credentials AWS_CONFIG_FILE=DATA-DIR/config
  wharf agent --endpoint http://10.0.0.1:4566 --cluster prod

Every flag can also be set the ECS agent's way, with ECS_CLUSTER,
ECS_RESERVED_MEMORY, ECS_RESERVED_PORTS, ECS_RESERVED_PORTS_UDP,
ECS_INSTANCE_ATTRIBUTES (JSON object), ECS_IMAGE_PULL_BEHAVIOR,
ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION, ECS_DATADIR, ECS_AVAILABILITY_ZONE,
ECS_INSTANCE_TYPE; the endpoint with WHARF_ENDPOINT or AWS_ENDPOINT_URL.
Flags win over the environment.

The agent keeps its identity in DATA-DIR/agent.json: restarted, it comes back
as the same container instance and adopts the containers it left running.

Flags:
`

// agentFlags parses `wharf agent` flags into an agent.Config.
func agentFlags(args []string, stderr io.Writer) (agent.Config, *slog.Level, error) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg agent.Config
	fs.StringVar(&cfg.Endpoint, "endpoint", "", "URL of the Wharf control plane, e.g. http://10.0.0.1:4566 (env WHARF_ENDPOINT; default http://127.0.0.1:4566)")
	fs.StringVar(&cfg.Cluster, "cluster", "", `cluster to join (env ECS_CLUSTER; default "default")`)
	fs.StringVar(&cfg.Region, "region", "", "region (env AWS_REGION; default us-east-1)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the agent's state (env ECS_DATADIR; default /var/lib/wharf-agent)")
	fs.IntVar(&cfg.ReservedMemoryMiB, "reserved-memory", 0, "MiB of memory kept back from tasks (env ECS_RESERVED_MEMORY)")
	ports := fs.String("reserved-ports", "", "host TCP ports tasks never get, e.g. 22,2375 (env ECS_RESERVED_PORTS; default 22,2375,2376,51678,51679)")
	portsUDP := fs.String("reserved-ports-udp", "", "host UDP ports tasks never get (env ECS_RESERVED_PORTS_UDP)")
	fs.StringVar(&cfg.AvailabilityZone, "availability-zone", "", "the ecs.availability-zone attribute (env ECS_AVAILABILITY_ZONE; default REGION+a)")
	fs.StringVar(&cfg.InstanceType, "instance-type", "", "the ecs.instance-type attribute (env ECS_INSTANCE_TYPE; default wharf.host)")
	attrs := fs.String("attributes", "", "custom attributes, e.g. stack=blue,tier=web (env ECS_INSTANCE_ATTRIBUTES as JSON)")
	fs.StringVar(&cfg.PullBehavior, "pull-behavior", "", "image pulls: default, always, once or prefer-cached (env ECS_IMAGE_PULL_BEHAVIOR)")
	fs.DurationVar(&cfg.TaskCleanupWait, "task-cleanup-wait", 0, "how long a stopped task's containers are kept (env ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION; default 3h)")
	fs.DurationVar(&cfg.ImageCleanupInterval, "image-cleanup-interval", 0, "how often images no task used for an hour are removed (env ECS_IMAGE_CLEANUP_INTERVAL; default 30m)")
	fs.DurationVar(&cfg.PollWait, "poll-wait", 0, "longest wait of one assignment poll; also the heartbeat period (default 10s)")
	fs.StringVar(&cfg.MetadataAddress, "metadata-address", "", "address of the task metadata and credentials endpoint (default 169.254.170.2:80, as on ECS)")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint (path-style) environmentFiles are downloaded from, e.g. http://10.0.0.5:9000 (env AWS_ENDPOINT_URL_S3; default none: such tasks stop)")
	metricsAddr := fs.String("metrics-address", "", "serve Prometheus metrics at http://ADDRESS/metrics, e.g. :51680 as the ECS agent (env WHARF_AGENT_METRICS_ADDRESS, or ECS_ENABLE_PROMETHEUS_METRICS=true for :51680; default off)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), agentUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if fs.NArg() > 0 {
		return cfg, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if *ports != "" {
		if cfg.ReservedPorts, err = agent.ParsePorts(*ports); err != nil {
			return cfg, nil, fmt.Errorf("--reserved-ports: %w", err)
		}
	}
	if *portsUDP != "" {
		if cfg.ReservedPortsUDP, err = agent.ParsePorts(*portsUDP); err != nil {
			return cfg, nil, fmt.Errorf("--reserved-ports-udp: %w", err)
		}
	}
	if *attrs != "" {
		cfg.Attributes = map[string]string{}
		for _, kv := range strings.Split(*attrs, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return cfg, nil, fmt.Errorf("--attributes: %q is not name=value", kv)
			}
			cfg.Attributes[k] = v
		}
	}
	if err := cfg.FromEnv(os.Getenv); err != nil {
		return cfg, nil, err
	}
	if cfg.MetricsAddress, err = metricsAddress(*metricsAddr, os.Getenv); err != nil {
		return cfg, nil, err
	}
	if port := metricsPort(cfg.MetricsAddress); port > 0 {
		// As the ECS agent does with its metrics port: tasks never get it.
		if cfg.ReservedPorts == nil {
			cfg.ReservedPorts = slices.Clone(agent.DefaultReservedPorts)
		}
		if !slices.Contains(cfg.ReservedPorts, port) {
			cfg.ReservedPorts = append(cfg.ReservedPorts, port)
		}
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "http://127.0.0.1:4566"
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return cfg, nil, fmt.Errorf("--log-level: %v", err)
	}
	return cfg, &level, cfg.Validate()
}

func agentCmd(args []string, stdout, stderr io.Writer) int {
	cfg, level, err := agentFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "wharf agent: %v\n", err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: *level}))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := runAgent(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "wharf agent: %v\n", err)
		return 1
	}
	_ = stdout
	return 0
}

// agentShutdownGrace bounds how long the agent spends delivering reports
// after a signal.
const agentShutdownGrace = 5 * time.Second

// runAgent wires the agent: AWS credentials from the standard chain, the
// Docker Engine, the assignment channel, the pause image, the metadata
// endpoint, and the task engine.
func runAgent(ctx context.Context, cfg agent.Config) error {
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	awscfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	if _, err := awscfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE to Wharf's DATA-DIR/credentials): %w", err)
	}
	cfg.Region = region
	if cfg.MetricsAddress != "" {
		stop, err := serveAgentMetrics(ctx, &cfg)
		if err != nil {
			return err
		}
		defer stop()
	}
	rt, err := dialDocker(ctx, cfg)
	if err != nil {
		return err
	}
	poller := agent.ChannelPoller{Client: agentclient.New(cfg.Endpoint, region, awscfg.Credentials, &http.Client{})}
	remote, err := agent.NewRemote(awscfg, cfg.Endpoint, poller)
	if err != nil {
		return err
	}
	a, err := agent.New(cfg, rt, remote)
	if err != nil {
		return err
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = agent.DefaultDataDir
	}
	secret, err := agent.LoadSecret(dataDir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	pause, err := task.EnsurePauseImage(ctx, rt, "")
	if err != nil {
		cfg.Logger.Warn("no awsvpc pause image: awsvpc tasks will fail to start", "err", err)
	}
	ep := agent.StartEndpoint(ctx, cfg.MetadataAddress, rt.RawStats, cfg.Logger)
	if ep != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), agentShutdownGrace)
			defer cancel()
			_ = ep.Stop(sctx)
		}()
	}
	apiURL := cfg.Endpoint
	if proxy := agent.StartAPIProxy(ep, cfg.Endpoint, cfg.Logger); proxy != nil {
		apiURL = proxy.URL()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), agentShutdownGrace)
			defer cancel()
			_ = proxy.Stop(sctx)
		}()
	}
	ec := agent.EngineConfig{Runtime: rt, Endpoint: ep, PauseImage: pause, Secret: secret, AWS: awscfg,
		Env: map[string]string{"AWS_ENDPOINT_URL": apiURL}}
	return a.Run(ctx, agent.TaskEngine(cfg, ec))
}

// dialDocker connects to the Docker Engine, waiting for it to answer.
func dialDocker(ctx context.Context, cfg agent.Config) (*docker.Client, error) {
	delay := time.Second
	for {
		rt, err := docker.Dial(ctx, docker.Options{})
		if err == nil {
			return rt, nil
		}
		cfg.Logger.Warn("the Docker Engine does not answer; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Docker Engine never answered: %w", err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}
