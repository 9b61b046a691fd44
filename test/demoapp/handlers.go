package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// maxRelay bounds a relayed body.
const maxRelay = 4 << 20

// unhealthyFile, while it exists, fails /healthz.
var unhealthyFile = "/tmp/unhealthy"

// client is used for /get and /metadata.
var client = &http.Client{Timeout: 15 * time.Second}

// newHandler routes the demo's paths; /exit sends its status on exitNow.
func newHandler(exitNow chan<- int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", hello)
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /whoami", whoami)
	mux.HandleFunc("GET /get", relayURL)
	mux.HandleFunc("GET /metadata", metadata)
	mux.HandleFunc("GET /exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, "code: want an integer", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting with status %d\n", code)
		select {
		case exitNow <- code:
		default: // already exiting
		}
	})
	return logRequests(mux)
}

// logRequests prints one line per request on stdout, for log tests.
func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s\n", r.Method, r.URL.RequestURI())
		h.ServeHTTP(w, r)
	})
}

func hello(w http.ResponseWriter, _ *http.Request) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "hello from wharf demo %s\n", host)
}

// unhealthy reports whether the demo should fail its health check.
func unhealthy() bool {
	if os.Getenv("UNHEALTHY") == "1" {
		return true
	}
	_, err := os.Stat(unhealthyFile)
	return err == nil
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	if unhealthy() {
		http.Error(w, "unhealthy", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// whoami asks STS who the default credential chain is.
func whoami(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cfg, err := config.LoadDefaultConfig(ctx, func(o *config.LoadOptions) error {
		if o.Region == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			o.Region = "us-east-1"
		}
		return nil
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"Arn": aws.ToString(out.Arn), "Account": aws.ToString(out.Account), "UserId": aws.ToString(out.UserId),
	})
}

// relay fetches target and copies its status, content type and body.
func relay(w http.ResponseWriter, r *http.Request, target string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxRelay))
}

func relayURL(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		http.Error(w, "url: want an absolute http(s) URL", http.StatusBadRequest)
		return
	}
	relay(w, r, target)
}

func metadata(w http.ResponseWriter, r *http.Request) {
	base := os.Getenv("ECS_CONTAINER_METADATA_URI_V4")
	if base == "" {
		http.Error(w, "ECS_CONTAINER_METADATA_URI_V4 is not set", http.StatusNotFound)
		return
	}
	relay(w, r, base+"/task")
}
