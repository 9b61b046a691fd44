// Package endpoint serves what ECS containers expect to find at
// 169.254.170.2: the task metadata endpoint version 4
// (ECS_CONTAINER_METADATA_URI_V4) and the container credentials endpoint
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or _FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN) from which the AWS SDKs fetch a
// task role's credentials.
//
// The agent fills the server's registry: Register, Update and Unregister a
// task's metadata, SetCredentials and RemoveCredentials a task's role
// credentials. Requests are identified only by the unguessable id in their
// path (NewID), never by source address. EnsureAddress puts the link-local
// address on the host's loopback interface so that containers on Docker
// bridges reach the server through their gateway. See
// docs/task-metadata.md.
package endpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
)

// LinkLocalAddress is the address ECS containers reach the agent at.
const LinkLocalAddress = "169.254.170.2"

// DefaultAddr is the listen address ECS uses.
const DefaultAddr = LinkLocalAddress + ":80"

// Environment variables a container is given.
const (
	EnvMetadataURIV4          = "ECS_CONTAINER_METADATA_URI_V4"
	EnvCredentialsRelativeURI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvCredentialsFullURI     = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvAuthorizationToken     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
)

// StatsFunc returns one sample of a container's usage as the Docker
// Engine's stats endpoint answers it (docker.Client.RawStats).
type StatsFunc func(ctx context.Context, dockerID string) ([]byte, error)

// Config configures a Server.
type Config struct {
	// Addr is the listen address; empty means DefaultAddr. Port 0 picks a
	// free port (tests).
	Addr string
	// URL is the base URL containers use to reach the server; empty means
	// "http://" + the listen address (the port left out when it is 80).
	// When it is http://169.254.170.2, containers get
	// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, as on ECS; otherwise
	// AWS_CONTAINER_CREDENTIALS_FULL_URI and an authorization token.
	URL string
	// Stats fetches a container's stats for the /stats paths; nil answers
	// them with an error.
	Stats StatsFunc
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Now reads the clock for the task's ClockDrift; nil uses time.Now.
	Now func() time.Time
	// Secret, when set, derives each credentials id's authorization token
	// (HMAC-SHA256 of the id), so the tokens containers were given stay
	// valid across an agent restart; nil makes random tokens.
	Secret []byte
}

// Server is the metadata and credentials HTTP server. Its registry methods
// are safe for concurrent use and may be called before Start.
type Server struct {
	cfg Config
	log *slog.Logger
	reg *registry

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	base string
	done chan struct{}
}

// New returns a server that is not yet listening.
func New(cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	reg := newRegistry()
	reg.secret = cfg.Secret
	return &Server{cfg: cfg, log: log, reg: reg}
}

// Start listens and serves in the background until Stop.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("task metadata endpoint: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("task metadata endpoint: listen %s: %w", s.cfg.Addr, err)
	}
	base := s.cfg.URL
	if base == "" {
		base = baseURL(ln.Addr().String())
	}
	if _, err := url.Parse(base); err != nil {
		ln.Close()
		return fmt.Errorf("task metadata endpoint: URL %q: %w", base, err)
	}
	s.ln, s.base, s.done = ln, base, make(chan struct{})
	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv, done := s.srv, s.done
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("task metadata endpoint stopped", "err", err)
		}
	}()
	s.log.Info("task metadata endpoint listening", "addr", ln.Addr().String(), "url", base)
	return nil
}

// Stop stops serving, letting requests in flight finish until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-done
	return err
}

// Addr is the address the server listens on (after Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// baseURL is "http://host:port", without the port when it is 80.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if port == "80" {
		if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
			return "http://[" + host + "]"
		}
		return "http://" + host
	}
	return "http://" + net.JoinHostPort(host, port)
}

// url returns the base URL containers use (after Start, or Config.URL).
func (s *Server) url() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base != "" {
		return s.base
	}
	if s.cfg.URL != "" {
		return s.cfg.URL
	}
	return baseURL(s.cfg.Addr)
}

// Register adds a task; every container needs a unique EndpointID.
func (s *Server) Register(t Task) error { return s.reg.put(t, false) }

// Update replaces a registered task's metadata with t.
func (s *Server) Update(t Task) error { return s.reg.put(t, true) }

// Unregister forgets a task; its containers' metadata URIs answer 404.
func (s *Server) Unregister(taskARN string) error { return s.reg.remove(taskARN) }

// SetCredentials sets (or renews) the credentials served at
// /v2/credentials/<id>.
func (s *Server) SetCredentials(id string, c agentproto.Credentials) { s.reg.setCreds(id, c) }

// SetCredentialsToken sets the authorization token a request for id's
// credentials must carry (an agent restoring a task after its restart);
// an empty token requires none. A server at the link-local address
// ignores it: its containers get the relative URI and no token, as ECS
// gives them, so it must not ask them for one.
func (s *Server) SetCredentialsToken(id, token string) {
	if s.linkLocal() {
		token = ""
	}
	s.reg.setToken(id, token)
}

// linkLocal reports whether the server is at http://169.254.170.2, where
// containers find it by the relative credentials URI.
func (s *Server) linkLocal() bool { return s.url() == "http://"+LinkLocalAddress }

// RemoveCredentials stops serving id's credentials.
func (s *Server) RemoveCredentials(id string) { s.reg.removeCreds(id) }

// MetadataEnv is the environment a container whose EndpointID is id needs
// to find its metadata.
func (s *Server) MetadataEnv(id string) map[string]string {
	return map[string]string{EnvMetadataURIV4: s.url() + "/v4/" + id}
}

// CredentialsEnv is the environment a container needs to fetch the
// credentials served under id: the relative URI when the server is at the
// link-local address, else the full URI with an authorization token
// (made on first use and required from then on).
func (s *Server) CredentialsEnv(id string) map[string]string {
	if s.linkLocal() {
		return map[string]string{EnvCredentialsRelativeURI: credentialsPath + id}
	}
	return map[string]string{
		EnvCredentialsFullURI: s.url() + credentialsPath + id,
		EnvAuthorizationToken: s.reg.tokenFor(id),
	}
}

// clockDrift reads the host clock's state; nil when unknown.
func (s *Server) clockDrift() *ClockDriftResponse {
	unsync, maxErr, ok := readClock()
	if !ok {
		return nil
	}
	return clockDrift(unsync, maxErr, s.cfg.Now())
}
