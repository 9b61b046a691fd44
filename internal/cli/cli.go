// Package cli is the wharf command line: it parses arguments, builds
// configurations and calls the packages that do the work.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/server"
)

// Version is set at build time with -ldflags "-X github.com/wharfhq/wharf/internal/cli.Version=…".
var Version = "dev"

const usage = `Wharf — a self-hosted Amazon ECR and Amazon ECS in one binary.

Usage:
  wharf <command> [flags]

Commands:
  up        Run Wharf on this machine: every AWS API, the registry and
            managed capacity, on one listener.
  agent     Make this host ECS capacity (EC2 launch type) for a Wharf
            control plane: wharf agent --endpoint URL --cluster NAME
  registry  Registry maintenance: wharf registry fsck --data-dir DIR
  bench     Measure a registry on this machine: wharf bench registry --registry HOST[:PORT]
  version   Print the version.
  help      Show help for a command: wharf help up

Quick start:
  wharf up --data-dir ./wharf-data
  export AWS_SHARED_CREDENTIALS_FILE=./wharf-data/credentials
  export AWS_CONFIG_FILE=./wharf-data/config
  aws --endpoint-url http://127.0.0.1:4566 sts get-caller-identity
`

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "up":
		return up(args[1:], stdout, stderr)
	case "agent":
		return agentCmd(args[1:], stdout, stderr)
	case "registry":
		return registryCmd(args[1:], stdout, stderr)
	case "bench":
		return bench(args[1:], stdout, stderr)
	case task.PauseArg: // hidden: the process of the awsvpc pause container
		return task.Pause()
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "wharf %s (%s)\n", Version, goVersion())
		return 0
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "up" {
			return up([]string{"-h"}, stdout, stderr)
		}
		if len(args) > 1 && args[1] == "agent" {
			return agentCmd([]string{"-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wharf: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown Go"
}

const upUsage = `Usage: wharf up [flags]

Runs Wharf on this machine with embedded defaults: every AWS API (IAM, STS,
CloudTrail, and the services added as Wharf grows) and the registry, on one
listener. All state lives in --data-dir.

On first start Wharf creates an account and an administrator access key and
writes them to DATA-DIR/credentials and DATA-DIR/config (the AWS shared
files format, profile "default"), so any AWS client can use them:

  export AWS_SHARED_CREDENTIALS_FILE=DATA-DIR/credentials
  export AWS_CONFIG_FILE=DATA-DIR/config
  aws --endpoint-url http://127.0.0.1:4566 sts get-caller-identity

Environment:
  WHARF_ROOT_ACCESS_KEY_ID, WHARF_ROOT_SECRET_ACCESS_KEY
        use this administrator key instead of a generated one

Flags:
`

func up(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := server.Config{}
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory holding all of Wharf's state")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:4566", "address (HOST:PORT) of the one listener serving every API and the registry")
	fs.StringVar(&cfg.PublicHost, "public-host", "", "host[:port] clients use to reach Wharf, used in repository URIs (default: the listen address)")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "default region written to DATA-DIR/config")
	fs.BoolVar(&cfg.SparseManifests, "registry-sparse-manifests", false, "accept manifests whose layers or index children were never pushed (OCI allows it; ECR refuses it)")
	fs.DurationVar(&cfg.AuditRetention, "audit-retention", 90*24*time.Hour, "how long the audit log (CloudTrail LookupEvents) keeps events")
	fs.DurationVar(&cfg.StoppedTaskRetention, "stopped-task-retention", time.Hour, "how long stopped ECS tasks stay describable before they are deleted")
	fs.DurationVar(&cfg.InstanceLostTimeout, "instance-lost-timeout", server.DefaultInstanceLostTimeout, "how long a container instance's agent may stay silent (counted from the end of its last poll) before its tasks are stopped and replaced")
	fs.StringVar(&cfg.ManagedCapacity, "fargate", "on", "run FARGATE tasks on the local Docker Engine (on) or refuse them (off)")
	fs.StringVar(&cfg.MetadataAddress, "metadata-address", "", "where FARGATE tasks reach the task metadata and credentials endpoint (default 169.254.170.2:80, as on ECS; needs root)")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint (path-style) FARGATE tasks' environmentFiles are downloaded from (default none: such tasks stop)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	// Hidden (tests): the AWS/ECS metrics period, below ECS's minute.
	fs.DurationVar(&cfg.ECSMetricsPeriod, "ecs-metrics-period", time.Minute, "")
	// Hidden (tests): the period of target tracking alarms, below a minute.
	fs.DurationVar(&cfg.TargetTrackingPeriod, "target-tracking-period", time.Minute, "")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), upUsage)
		shown := flag.NewFlagSet("up", flag.ContinueOnError)
		shown.SetOutput(fs.Output())
		fs.VisitAll(func(f *flag.Flag) {
			if f.Usage != "" {
				shown.Var(f.Value, f.Name, f.Usage)
			}
		})
		shown.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wharf up: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "wharf up: --log-level: %v\n", err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.RootAccessKeyID = os.Getenv("WHARF_ROOT_ACCESS_KEY_ID")
	cfg.RootSecretAccessKey = os.Getenv("WHARF_ROOT_SECRET_ACCESS_KEY")
	cfg.Version = Version
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "wharf up: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "wharf up: %v\n", err)
		return 1
	}
	printWelcome(stdout, srv)
	<-ctx.Done()
	stop()
	fmt.Fprintln(stderr, "wharf: shutting down (press Ctrl-C again to force)")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Stop(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "wharf: shutdown: %v\n", err)
		return 1
	}
	return 0
}

func defaultDataDir() string {
	if d := os.Getenv("WHARF_DATA_DIR"); d != "" {
		return d
	}
	return "wharf-data"
}

func printWelcome(w io.Writer, srv *server.Server) {
	info := srv.Info()
	var b strings.Builder
	fmt.Fprintf(&b, "Wharf %s is up on http://%s\n", Version, info.Addr)
	fmt.Fprintf(&b, "  account      %s\n", info.Account)
	fmt.Fprintf(&b, "  credentials  %s (profile default)\n", info.CredentialsFile)
	fmt.Fprintf(&b, "  config       %s (region %s)\n\n", info.ConfigFile, info.Region)
	fmt.Fprintf(&b, "Use it with the aws CLI:\n")
	fmt.Fprintf(&b, "  export AWS_SHARED_CREDENTIALS_FILE=%s AWS_CONFIG_FILE=%s\n", info.CredentialsFile, info.ConfigFile)
	fmt.Fprintf(&b, "  aws --endpoint-url http://%s sts get-caller-identity\n", info.Addr)
	fmt.Fprint(w, b.String())
}

const registryUsage = `Usage: wharf registry fsck [flags]

Checks the registry kept in --data-dir: every manifest is stored and hashes
to its digest, and every blob a manifest references is present. With
--verify every blob is read and re-hashed too. It can run beside a live
wharf. Exit status 1 when a problem is found.

Flags:
`

func registryCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "fsck" {
		fmt.Fprint(stderr, registryUsage)
		return 2
	}
	fs := flag.NewFlagSet("registry fsck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := server.Config{}
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory holding Wharf's state")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region whose repositories to check")
	verify := fs.Bool("verify", false, "re-hash every blob's content")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), registryUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rep, err := server.FsckRegistry(context.Background(), cfg, *verify)
	if err != nil {
		fmt.Fprintf(stderr, "wharf registry fsck: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d repositories, %d manifests, %d blob links checked\n", rep.Repositories, rep.Manifests, rep.Links)
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "PROBLEM: %s\n", p)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(stdout, "%d problems found\n", len(rep.Problems))
		return 1
	}
	fmt.Fprintln(stdout, "no problems found")
	return 0
}
