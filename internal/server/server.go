package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/api/cloudtrailapi"
	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/api/ecrapi"
	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/api/stsapi"
	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/audit"
	"github.com/wharfhq/wharf/internal/autoscaling"
	blobfs "github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/cloudwatch"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/ecr"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/ecsmetrics"
	"github.com/wharfhq/wharf/internal/edge"
	"github.com/wharfhq/wharf/internal/iam"
	"github.com/wharfhq/wharf/internal/logs"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/sts"
)

// Info is what a running server tells its user.
type Info struct {
	Addr            string // the address the listener is bound to
	Account         string
	AccessKeyID     string
	SecretAccessKey string
	Region          string
	CredentialsFile string
	ConfigFile      string
}

// Server is a running Wharf.
type Server struct {
	cfg      Config
	info     Info
	http     *http.Server
	store    *sqlite.Store
	audit    *audit.Recorder
	sweeper  *sweeper
	gc       *registry.GCLoop
	services *ecs.ServiceScheduler
	ecs      *ecs.Service
	cw       *cloudwatch.Service
	scaling  *autoscaling.Service // Application Auto Scaling
	metrics  *tsdb.DB
	ecsStats *ecsmetrics.Publisher // AWS/ECS metrics from the agents' samples
	events   *logstore.Store       // CloudWatch Logs events
	capacity *capacity             // managed (FARGATE) capacity; nil when off
	serveErr chan error
	stopOnce sync.Once
	stopErr  error
}

// Start validates cfg, opens the state, binds the listener and serves until
// Stop. It returns once the server answers /healthz.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := sqlite.Open(filepath.Join(cfg.DataDir, "wharf.db"))
	if err != nil {
		return nil, fmt.Errorf("open state store: %w", err)
	}
	s := &Server{cfg: cfg, store: st, serveErr: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			if s.events != nil {
				_ = s.events.Close()
			}
			_ = st.Close()
		}
	}()

	acct, created, err := iam.Bootstrap(ctx, st, iam.BootstrapOptions{AccessKeyID: cfg.RootAccessKeyID, SecretAccessKey: cfg.RootSecretAccessKey})
	if err != nil {
		return nil, fmt.Errorf("bootstrap account: %w", err)
	}
	if created {
		log.Info("created account", "account", acct.ID, "access_key_id", acct.RootAccessKeyID)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another wharf running? choose another --listen)", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	credPath, confPath, err := writeSharedFiles(cfg.DataDir, acct.RootAccessKeyID, acct.RootSecretAccessKey, cfg.Region, "http://"+addr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("write credentials: %w", err)
	}
	s.info = Info{Addr: addr, Account: acct.ID, AccessKeyID: acct.RootAccessKeyID, SecretAccessKey: acct.RootSecretAccessKey,
		Region: cfg.Region, CredentialsFile: credPath, ConfigFile: confPath}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.audit = audit.New(st, audit.Options{Retention: cfg.AuditRetention, Now: cfg.Now, Logger: log})
	s.audit.Start(context.WithoutCancel(ctx))

	iamSvc := iam.New(st, iam.Options{Now: cfg.Now})
	stsSvc := sts.New(iamSvc, sts.Options{Now: cfg.Now})
	var managedCap ecs.ManagedCapacityFunc
	switch cfg.ManagedCapacity {
	case "off":
		managedCap = func(context.Context) error {
			return errors.New("this Wharf server runs without managed capacity (--fargate=off); use the EC2 launch type with `wharf agent`")
		}
	case "external":
		// Tasks are queued for a runner outside the server (tests).
	default:
		s.capacity = newCapacity(cfg, reg)
		managedCap = s.capacity.available
	}
	ecsSvc := ecs.New(st, ecs.Options{Now: cfg.Now, Logger: log, Endpoint: "http://" + addr, ManagedCapacity: managedCap,
		StoppedTaskRetention: cfg.StoppedTaskRetention, AgentTimeout: cfg.AgentTimeout,
		InstanceLostTimeout: cfg.InstanceLostTimeout, RoleCredentials: taskRoleCredentials(stsSvc)})
	s.ecs = ecsSvc
	ecsSvc.StartAgentMonitor(context.WithoutCancel(ctx))
	s.events, err = logstore.Open(filepath.Join(cfg.DataDir, "logs"), logstore.Options{Logger: log})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("open log event store: %w", err)
	}
	logsSvc := logs.New(logs.Options{Store: st, Events: s.events, Now: cfg.Now, Logger: log})
	s.sweeper = &sweeper{every: 10 * time.Minute, now: cfg.Now, log: log, tasks: []sweepTask{
		// Expired keys are refused anyway; sweeping them (an hour late, so
		// an ExpiredToken answer stays possible for a while) bounds the table.
		{"expired-sts-keys", func(ctx context.Context, now time.Time) (int, error) {
			return iamSvc.SweepExpiredKeys(ctx, now.Add(-time.Hour))
		}},
		// Stopped tasks are hidden once the retention is over; this deletes them.
		{"stopped-ecs-tasks", ecsSvc.SweepStoppedTasks},
		// Log groups with a retention policy drop whole segments past it.
		{"logs-retention", logsSvc.SweepRetention},
	}}
	s.sweeper.start(context.WithoutCancel(ctx))
	s.services = ecsSvc.NewServiceScheduler(cfg.ServiceSchedulerInterval)
	s.services.Start(context.WithoutCancel(ctx))
	reg.MustRegister(ecs.NewCollector(ecsSvc, s.services))
	auditSvc := audit.NewService(st, audit.ServiceOptions{Now: cfg.Now})
	blobs, err := blobfs.Open(filepath.Join(cfg.DataDir, "blobs"), blobfs.Options{Now: cfg.Now})
	if err != nil {
		ln.Close()
		return nil, err
	}
	publicHost := cfg.PublicHost
	if publicHost == "" {
		publicHost = addr
	}
	registrySvc := registry.New(registry.Options{Store: st, Blobs: blobs, Authorizer: iamSvc, Credentials: iamSvc,
		Realm: publicHost, Now: cfg.Now, Logger: log, Anonymous: registry.Tenant{Account: acct.ID, Region: cfg.Region},
		SparseManifests: cfg.SparseManifests})
	s.gc = &registry.GCLoop{Service: registrySvc, Now: cfg.Now, Logger: log}
	s.gc.Start(context.WithoutCancel(ctx))
	ecrSvc := ecr.New(ecr.Options{Registry: registrySvc, Credentials: iamSvc, PublicHost: publicHost})
	s.metrics, err = tsdb.Open(filepath.Join(cfg.DataDir, "cloudwatch"), tsdb.Options{Now: cfg.Now})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("open metrics store: %w", err)
	}
	s.cw = cloudwatch.New(cloudwatch.Options{Store: st, Metrics: s.metrics, Now: cfg.Now, Logger: log, Tick: cfg.AlarmTick})
	s.cw.Start(context.WithoutCancel(ctx))
	registerMetrics(reg, cfg.DataDir, logsSvc, s.cw, registrySvc)
	s.scaling = newAutoScaling(cfg, st, ecsSvc, s.cw)
	s.scaling.Start(context.WithoutCancel(ctx))
	s.ecsStats = ecsmetrics.New(ecsmetrics.Options{ECS: ecsSvc, Metrics: s.metrics, Period: cfg.ECSMetricsPeriod,
		Registerer: reg, Now: cfg.Now, Logger: log})
	ecsSvc.SetStatsSink(s.ecsStats)
	s.ecsStats.Start(context.WithoutCancel(ctx))

	api, err := edge.New(edge.Config{
		Services: []*edge.Service{
			{Model: models.MustLoad(iamapi.ModelName), Handlers: iamapi.Handlers(iamSvc), Errors: iam.ErrorTable,
				ValidationCode: "ValidationError", Resource: iamSvc.ResourceARN, ResourceTags: iamSvc.ResourceTags},
			{Model: models.MustLoad(stsapi.ModelName), Handlers: stsapi.Handlers(stsSvc), Errors: sts.ErrorTable,
				ValidationCode: "ValidationError", Resource: sts.ResourceARN, Public: map[string]bool{"GetCallerIdentity": true}},
			{Model: models.MustLoad(cloudtrailapi.ModelName), Handlers: cloudtrailapi.Handlers(auditSvc), Errors: audit.ErrorTable,
				ValidationCode: "ValidationException"},
			{Model: models.MustLoad(ecsapi.ModelName), Handlers: ecsapi.Handlers(ecsSvc), Errors: ecs.ErrorTable,
				ValidationCode: "InvalidParameterException", Resource: ecs.ResourceARN},
			{Model: models.MustLoad(wharfagentapi.ModelName), Handlers: wharfagentapi.Handlers(ecsSvc), Errors: ecs.ErrorTable,
				ValidationCode: "InvalidParameterException", ActionPrefix: "ecs", Actions: ecs.AgentActions, Resource: ecs.ResourceARN},
			{Model: models.MustLoad(ecrapi.ModelName), Handlers: ecrapi.Handlers(ecrSvc), Errors: ecr.ErrorTable,
				ValidationCode: "InvalidParameterException", Resource: ecr.ResourceARN},
			{Model: models.MustLoad(logsapi.ModelName), Handlers: logsapi.Handlers(logsSvc), Errors: logs.ErrorTable,
				ValidationCode: "InvalidParameterException", Resource: logs.ResourceARN,
				AuditOmit: map[string][]string{"PutLogEvents": {"logEvents"}}},
			{Model: models.MustLoad(cloudwatchapi.ModelName), Handlers: cloudwatchapi.Handlers(s.cw), Errors: cloudwatch.ErrorTable,
				ValidationCode: cloudwatch.ValidationCode, ActionPrefix: "cloudwatch", Resource: s.cw.ResourceARN,
				AuditOmit: map[string][]string{"PutMetricData": {"MetricData", "EntityMetricData"}},
				MaxBody:   map[string]int{"PutMetricData": 1 << 20}},
			{Model: models.MustLoad(applicationautoscalingapi.ModelName), Handlers: applicationautoscalingapi.Handlers(s.scaling),
				Errors: autoscaling.ErrorTable, ValidationCode: "ValidationException", ActionPrefix: "application-autoscaling",
				Resource: s.scaling.ResourceARN},
		},
		Credentials:  iamSvc,
		Authorizer:   iamSvc,
		AccessDenied: iam.ErrAccessDenied,
		Audit:        s.audit,
		Metrics:      edge.NewMetrics(reg),
		Logger:       log,
		Now:          cfg.Now,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", api)
	mux.Handle("/v2/", registrySvc.Handler())

	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { s.serveErr <- s.http.Serve(ln) }()
	if s.capacity != nil {
		s.capacity.start(context.WithoutCancel(ctx), cfg, ecsSvc, registrySvc.Tokens(), "http://"+addr, []string{publicHost, addr})
	}
	log.Info("wharf is up", "addr", addr, "account", acct.ID, "data_dir", cfg.DataDir, "version", cfg.Version)
	ok = true
	return s, nil
}

// Info describes the running server.
func (s *Server) Info() Info { return s.info }

// Sweep runs every maintenance task once, now, at the server's clock, as
// the maintenance loop does every ten minutes (tests call it instead of
// waiting for the loop).
func (s *Server) Sweep(ctx context.Context) error {
	var errsList []error
	for _, task := range s.sweeper.tasks {
		if _, err := task.run(ctx, s.cfg.Now()); err != nil {
			errsList = append(errsList, fmt.Errorf("%s: %w", task.name, err))
		}
	}
	return errors.Join(errsList...)
}

// Stop shuts the listener down gracefully (in-flight requests finish), stops
// the background loops and closes the state store.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		var errsList []error
		if s.capacity != nil {
			if err := s.capacity.stop(ctx); err != nil {
				errsList = append(errsList, err)
			}
		}
		s.ecs.StopAgentMonitor() // ends the agents' long polls, so Shutdown need not wait for them
		if err := s.http.Shutdown(ctx); err != nil {
			errsList = append(errsList, err)
		}
		if err := <-s.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errsList = append(errsList, err)
		}
		s.sweeper.stop()
		s.services.Stop()
		s.gc.Stop()
		s.scaling.Stop()
		s.cw.Stop()
		s.ecsStats.Stop()
		if err := s.metrics.Close(); err != nil {
			errsList = append(errsList, err)
		}
		s.audit.Stop()
		if err := s.events.Close(); err != nil {
			errsList = append(errsList, err)
		}
		if err := s.store.Close(); err != nil {
			errsList = append(errsList, err)
		}
		s.stopErr = errors.Join(errsList...)
	})
	return s.stopErr
}
