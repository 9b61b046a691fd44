// Package autoscaling is Wharf's Application Auto Scaling API (awsJson 1.1)
// for the one scalable dimension Wharf serves, ecs:service:DesiredCount:
// scalable targets, target tracking and step scaling policies driven by
// CloudWatch alarms, scheduled actions run by an owned loop, scaling
// activities and tags. The decisions (arithmetic, cooldowns, schedules)
// are pure code in package decide; this package keeps the state, talks to
// CloudWatch and to ECS through small interfaces, and records what it did.
// See docs/autoscaling.md.
package autoscaling

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// Domain errors, mapped to the model's error shapes by ErrorTable.
var (
	ErrValidation          = errors.New("autoscaling: validation")
	ErrObjectNotFound      = errors.New("autoscaling: object not found")
	ErrResourceNotFound    = errors.New("autoscaling: resource not found")
	ErrInvalidNextToken    = errors.New("autoscaling: invalid next token")
	ErrLimitExceeded       = errors.New("autoscaling: limit exceeded")
	ErrTooManyTags         = errors.New("autoscaling: too many tags")
	ErrConcurrentUpdate    = errors.New("autoscaling: concurrent update")
	ErrFailedResourceAcess = errors.New("autoscaling: failed resource access")
)

// ErrorTable maps domain errors to Application Auto Scaling's error shapes.
var ErrorTable = errs.Table{
	{Kind: ErrValidation, Code: "ValidationException"},
	{Kind: ErrObjectNotFound, Code: "ObjectNotFoundException"},
	{Kind: ErrResourceNotFound, Code: "ResourceNotFoundException"},
	{Kind: ErrInvalidNextToken, Code: "InvalidNextTokenException"},
	{Kind: ErrLimitExceeded, Code: "LimitExceededException"},
	{Kind: ErrTooManyTags, Code: "TooManyTagsException"},
	{Kind: ErrConcurrentUpdate, Code: "ConcurrentUpdateException"},
	{Kind: ErrFailedResourceAcess, Code: "FailedResourceAccessException"},
	{Kind: store.ErrConflict, Code: "ConcurrentUpdateException"},
}

// ErrServiceNotFound is what a Scaler returns for an ECS service that does
// not exist (or is no longer ACTIVE).
var ErrServiceNotFound = errors.New("autoscaling: ECS service not found")

// Scaler reads and sets an ECS service's desired count. The context carries
// the tenant.
type Scaler interface {
	// Capacity returns the service's desiredCount and whether a
	// deployment is in progress (scale-in waits for it, as ECS does).
	Capacity(ctx context.Context, cluster, service string) (desired int, deploying bool, err error)
	// SetCapacity sets the service's desiredCount.
	SetCapacity(ctx context.Context, cluster, service string, desired int) error
}

// CloudWatch is the part of the in-process CloudWatch service auto scaling
// uses: the alarms of target tracking policies, and the metrics policies
// read when an alarm invokes them.
type CloudWatch interface {
	PutMetricAlarm(context.Context, *cloudwatchapi.PutMetricAlarmInput) (*wire.Empty, error)
	DeleteAlarms(context.Context, *cloudwatchapi.DeleteAlarmsInput) (*wire.Empty, error)
	DescribeAlarms(context.Context, *cloudwatchapi.DescribeAlarmsInput) (*cloudwatchapi.DescribeAlarmsOutput, error)
	GetMetricData(context.Context, *cloudwatchapi.GetMetricDataInput) (*cloudwatchapi.GetMetricDataOutput, error)
}

// Options configure a Service.
type Options struct {
	Store      store.Store
	CloudWatch CloudWatch
	Scaler     Scaler
	Now        func() time.Time
	Logger     *slog.Logger
	// TargetTrackingPeriod is the period of the alarms target tracking
	// policies create (default 60 s, as AWS for ECS).
	TargetTrackingPeriod time.Duration
	// Tick is how often the loop looks for scheduled actions that are due
	// (default 10 s).
	Tick time.Duration
}

// Service implements the Application Auto Scaling operations.
type Service struct {
	st       store.Store
	cw       CloudWatch
	scaler   Scaler
	now      func() time.Time
	log      *slog.Logger
	ttPeriod time.Duration
	tick     time.Duration

	// scaleMu serialises every change of capacity, so two alarms or an
	// alarm and a scheduled action never act on a stale capacity.
	scaleMu sync.Mutex

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TargetTrackingPeriod <= 0 {
		o.TargetTrackingPeriod = time.Minute
	}
	if o.Tick <= 0 {
		o.Tick = 10 * time.Second
	}
	return &Service{st: o.Store, cw: o.CloudWatch, scaler: o.Scaler, now: o.Now, log: o.Logger,
		ttPeriod: o.TargetTrackingPeriod, tick: o.Tick}
}

const (
	nsECS        = applicationautoscalingapi.ServiceNamespaceEcs
	dimECS       = applicationautoscalingapi.ScalableDimensionEcsServiceDesiredCount
	defaultPage  = 50
	maxPage      = 50
	ecsCooldown  = 300 // seconds: the default cooldowns for ECS services
	maxPolicies  = 50  // per scalable target
	maxScheduled = 200 // per scalable target
	maxTags      = 50
)

func invalid(format string, args ...any) error { return errs.New(ErrValidation, format, args...) }

// targetID is a scalable target's identity.
type targetID struct {
	ns, dim, rid     string
	cluster, service string
}

func (t targetID) key() string { return t.ns + "|" + t.dim + "|" + t.rid }

func (t targetID) describe() string {
	return fmt.Sprintf("service namespace: %s, resource ID: %s, scalable dimension: %s", t.ns, t.rid, t.dim)
}

// checkNamespace refuses namespaces other than ecs.
func checkNamespace(ns string) error {
	if ns != nsECS {
		return invalid("Unsupported service namespace %s: Wharf's Application Auto Scaling scales only ECS services (service namespace ecs, scalable dimension %s).", ns, dimECS)
	}
	return nil
}

// parseTarget validates the three identifiers of a scalable target.
func parseTarget(ns, dim, rid *string) (targetID, error) {
	t := targetID{ns: deref(ns), dim: deref(dim), rid: deref(rid)}
	if err := checkNamespace(t.ns); err != nil {
		return t, err
	}
	if t.dim != dimECS {
		return t, invalid("Unsupported scalable dimension %s for service namespace ecs: Wharf supports only %s.", t.dim, dimECS)
	}
	parts := strings.Split(t.rid, "/")
	if len(parts) != 3 || parts[0] != "service" || parts[1] == "" || parts[2] == "" {
		return t, invalid("Unsupported resource ID %s: an ECS service's resource ID is service/<cluster-name>/<service-name>.", t.rid)
	}
	t.cluster, t.service = parts[1], parts[2]
	return t, nil
}

func noTarget(t targetID) error {
	return errs.New(ErrObjectNotFound, "No scalable target registered for %s", t.describe())
}

// deref returns *p, or the default (the zero value unless given).
func deref[T any](p *T, def ...T) T {
	if p == nil {
		var z T
		if len(def) > 0 {
			z = def[0]
		}
		return z
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newHexID(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
