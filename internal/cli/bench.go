package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wharfhq/wharf/internal/regbench"
)

const benchUsage = `Usage: wharf bench registry --registry HOST[:PORT] [flags]

Measures a container registry on this machine through the OCI Distribution
API — Wharf, CNCF distribution or any other — and prints a table:
small-image pushes per second (a 4 KiB layer, a config and a manifest
each), manifest HEADs per second, and the MB/s of one large blob pushed
(one monolithic PUT) and pulled (one GET). Each timed phase lasts
--duration with --concurrency clients. Only loopback registries are
accepted.

Auth: none, Basic (--username/--password), or --ecr-endpoint URL, which
gets a token with ecr:GetAuthorizationToken signed with the environment's
AWS credentials (AWS_ACCESS_KEY_ID…, or AWS_SHARED_CREDENTIALS_FILE and
AWS_PROFILE) and creates --repo if it does not exist:

  AWS_SHARED_CREDENTIALS_FILE=./wharf-data/credentials \
    wharf bench registry --registry 127.0.0.1:4566 --ecr-endpoint http://127.0.0.1:4566

Flags:
`

func bench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "registry" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, benchUsage)
			return 0
		}
		fmt.Fprint(stderr, "wharf bench: want a target: wharf bench registry --registry HOST[:PORT]\n")
		return 2
	}
	return benchRegistry(args[1:], stdout, stderr)
}

func benchRegistry(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := regbench.Config{LargeSize: regbench.DefaultLargeSize}
	fs.StringVar(&cfg.Registry, "registry", "", "registry to measure, HOST[:PORT] (loopback only)")
	fs.StringVar(&cfg.Username, "username", "", "Basic auth user name")
	fs.StringVar(&cfg.Password, "password", "", "Basic auth password (or WHARF_BENCH_PASSWORD)")
	ecrEndpoint := fs.String("ecr-endpoint", "", "get a registry token from this ECR API endpoint (http://HOST:PORT) and create --repo there")
	fs.StringVar(&cfg.Repo, "repo", regbench.DefaultRepo, "repository to push to")
	fs.DurationVar(&cfg.Duration, "duration", regbench.DefaultDuration, "length of each timed phase (pushes, HEADs)")
	fs.IntVar(&cfg.Concurrency, "concurrency", regbench.DefaultConcurrency, "concurrent clients in the timed phases")
	fs.Var(regbench.SizeFlag{N: &cfg.LargeSize}, "large-size", "size of the large blob pushed and pulled (KiB, MiB, GiB, KB, MB, GB)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wharf bench registry: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("WHARF_BENCH_PASSWORD")
	}
	if *ecrEndpoint != "" && cfg.Username != "" {
		fmt.Fprint(stderr, "wharf bench registry: give --username/--password or --ecr-endpoint, not both\n")
		return 2
	}
	cfg.Progress = stderr
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "wharf bench registry: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *ecrEndpoint != "" {
		awsCfg, err := regbench.AWSConfig()
		if err != nil {
			fmt.Fprintf(stderr, "wharf bench registry: %v\n", err)
			return 1
		}
		user, pass, err := regbench.ECRLogin(ctx, awsCfg, *ecrEndpoint, cfg.Repo)
		if err != nil {
			fmt.Fprintf(stderr, "wharf bench registry: %v\n", err)
			return 1
		}
		cfg.Username, cfg.Password = user, pass
	}
	res, err := regbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "wharf bench registry: %v\n", err)
		return 1
	}
	if err := res.WriteTable(stdout); err != nil {
		return 1
	}
	if res.Errors() > 0 {
		res.WriteErrors(stderr)
		return 1
	}
	return 0
}
