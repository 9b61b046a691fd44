// Package wharftest starts a Wharf server inside a test, on a free loopback
// port and a temporary data dir, and hands out AWS SDK configurations for it.
package wharftest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/wharfhq/wharf/internal/server"
)

// Env is a running server and the means to call it.
type Env struct {
	Server *server.Server
	Info   server.Info
	// URL is the endpoint, http://127.0.0.1:PORT.
	URL string
}

// Start runs a server for the life of t. mutate may adjust the config.
func Start(t testing.TB, mutate ...func(*server.Config)) *Env {
	t.Helper()
	// FARGATE tasks are accepted but not run unless a test turns managed
	// capacity on: it talks to the Docker Engine, which most tests do not
	// need.
	cfg := server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ManagedCapacity: "external"}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start wharf: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("stop wharf: %v", err)
		}
	})
	info := srv.Info()
	return &Env{Server: srv, Info: info, URL: "http://" + info.Addr}
}

// Config returns an SDK configuration signing with the given key.
func (e *Env) Config(accessKeyID, secret, sessionToken string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(accessKeyID, secret, sessionToken),
		BaseEndpoint:     aws.String(e.URL),
		HTTPClient:       http.DefaultClient,
		RetryMaxAttempts: 1,
	}
}

// Root returns an SDK configuration for the account's administrator key.
func (e *Env) Root() aws.Config {
	return e.Config(e.Info.AccessKeyID, e.Info.SecretAccessKey, "")
}
