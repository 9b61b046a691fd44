// Command demoapp is the small web server end-to-end tests run as a task's
// image (internal/testimg compiles it statically, CGO_ENABLED=0). It shows
// what an ECS task sees from the inside:
//
//	/          "hello from wharf demo <hostname>"
//	/healthz   200, or 500 while /tmp/unhealthy exists or UNHEALTHY=1
//	/whoami    STS GetCallerIdentity with the SDK's default credential
//	           chain (the container credentials endpoint in a task;
//	           AWS_ENDPOINT_URL names the endpoint): {"Arn":…,"Account":…,"UserId":…}
//	/get?url=U fetches U and relays its status and body (containers of a
//	           task talking over localhost)
//	/metadata  relays $ECS_CONTAINER_METADATA_URI_V4/task
//	/exit?code=N exits at once with status N
//
// Behaviour for lifecycle tests, by flag or environment:
//
//	-port / PORT               listen port (default 8080)
//	-exit-code / EXIT_CODE     exit with this status …
//	-exit-after / EXIT_AFTER   … after this delay ("5s", or seconds: "5")
//	-ignore-sigterm / IGNORE_SIGTERM=1
//	                           keep running on SIGTERM (stopTimeout tests:
//	                           only SIGKILL ends it)
//
// Without IGNORE_SIGTERM, SIGTERM shuts the server down and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// options are the demo's settings.
type options struct {
	port          string
	exitCode      int
	exitAfter     time.Duration
	ignoreSigterm bool
}

func main() {
	opts, err := parse(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		os.Exit(2)
	}
	os.Exit(run(opts))
}

// parse reads flags, falling back to the environment.
func parse(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("demoapp", flag.ContinueOnError)
	fs.StringVar(&o.port, "port", "8080", "listen port (env PORT)")
	fs.IntVar(&o.exitCode, "exit-code", 0, "exit with this status after -exit-after (env EXIT_CODE)")
	exitAfter := fs.String("exit-after", "", `exit after this delay, "5s" or seconds (env EXIT_AFTER)`)
	fs.BoolVar(&o.ignoreSigterm, "ignore-sigterm", false, "keep running on SIGTERM (env IGNORE_SIGTERM=1)")
	set := map[string]bool{}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := getenv("PORT"); v != "" && !set["port"] {
		o.port = v
	}
	if v := getenv("EXIT_CODE"); v != "" && !set["exit-code"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, fmt.Errorf("EXIT_CODE %q: %v", v, err)
		}
		o.exitCode = n
	}
	if v := getenv("EXIT_AFTER"); v != "" && !set["exit-after"] {
		*exitAfter = v
	}
	if *exitAfter != "" {
		d, err := parseDelay(*exitAfter)
		if err != nil {
			return o, err
		}
		o.exitAfter = d
	}
	if v := getenv("IGNORE_SIGTERM"); (v == "1" || v == "true") && !set["ignore-sigterm"] {
		o.ignoreSigterm = true
	}
	// A bare EXIT_CODE without a delay exits at once.
	if o.exitAfter == 0 && o.exitCode != 0 {
		o.exitAfter = time.Nanosecond
	}
	return o, nil
}

// parseDelay accepts a Go duration or a number of seconds.
func parseDelay(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("exit delay %q: want a duration (5s) or seconds (5)", s)
	}
	return d, nil
}

// run serves until a signal or the exit timer, and returns the exit status.
func run(o options) int {
	// Signals are handled before the first line is printed, so whoever
	// waits for that line may signal at once.
	sigs := make(chan os.Signal, 1)
	if o.ignoreSigterm {
		signal.Ignore(syscall.SIGTERM)
		signal.Notify(sigs, syscall.SIGINT)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	ln, err := net.Listen("tcp", ":"+o.port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		return 1
	}
	exitNow := make(chan int, 1)
	srv := &http.Server{Handler: newHandler(exitNow), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "demoapp:", err)
		}
	}()
	fmt.Printf("demoapp listening on %s\n", ln.Addr())
	if o.ignoreSigterm {
		fmt.Println("demoapp: ignoring SIGTERM")
	}

	var timer <-chan time.Time
	if o.exitAfter > 0 {
		timer = time.After(o.exitAfter)
	}
	code := 0
	select {
	case s := <-sigs:
		fmt.Printf("demoapp: %v, shutting down\n", s)
	case <-timer:
		code = o.exitCode
		fmt.Printf("demoapp: exiting with status %d\n", code)
	case code = <-exitNow:
		fmt.Printf("demoapp: /exit, exiting with status %d\n", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return code
}
