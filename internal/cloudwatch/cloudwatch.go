// Package cloudwatch is Wharf's Amazon CloudWatch metrics and alarms API
// (served over Smithy RPC v2 CBOR, awsJson 1.0 and awsQuery by the edge):
// PutMetricData, GetMetricStatistics, GetMetricData with metric math,
// ListMetrics, and metric alarms evaluated by an owned loop with a pure
// evaluator. Datapoints live in the time-series store of package tsdb;
// alarms and their history in the state store. See docs/cloudwatch.md.
package cloudwatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Domain errors, mapped to CloudWatch's error shapes by ErrorTable.
var (
	// ErrInvalidParameterValue: a value CloudWatch refuses (InvalidParameterValue).
	ErrInvalidParameterValue = errors.New("cloudwatch: invalid parameter value")
	// ErrInvalidParameterCombination: parameters that cannot go together.
	ErrInvalidParameterCombination = errors.New("cloudwatch: invalid parameter combination")
	// ErrMissingParameter: a parameter the operation needs in this form.
	ErrMissingParameter = errors.New("cloudwatch: missing parameter")
	// ErrResourceNotFound: no such alarm (ResourceNotFound).
	ErrResourceNotFound = errors.New("cloudwatch: resource not found")
	// ErrResourceNotFoundException: no such resource for the tagging API.
	ErrResourceNotFoundException = errors.New("cloudwatch: resource not found (tagging)")
	// ErrInvalidNextToken: a pagination token this server did not issue.
	ErrInvalidNextToken = errors.New("cloudwatch: invalid next token")
	// ErrLimitExceeded: too many alarms or tags.
	ErrLimitExceeded = errors.New("cloudwatch: limit exceeded")
)

// ErrorTable maps domain errors to CloudWatch's error shapes.
var ErrorTable = errs.Table{
	{Kind: ErrInvalidParameterValue, Code: "InvalidParameterValueException"},
	{Kind: ErrInvalidParameterCombination, Code: "InvalidParameterCombinationException"},
	{Kind: ErrMissingParameter, Code: "MissingRequiredParameterException"},
	{Kind: ErrResourceNotFound, Code: "ResourceNotFound"},
	{Kind: ErrResourceNotFoundException, Code: "ResourceNotFoundException"},
	{Kind: ErrInvalidNextToken, Code: "InvalidNextToken"},
	{Kind: ErrLimitExceeded, Code: "LimitExceededFault"},
	{Kind: ErrInvalidFormat, Code: "InvalidFormatFault"},
}

// ValidationCode is the code the edge answers model-constraint failures
// with, as CloudWatch does.
const ValidationCode = "InvalidParameterValue"

// ActionHook is called for each alarm action whose target Wharf serves
// (Application Auto Scaling policy ARNs), with the state the alarm entered.
type ActionHook func(ctx context.Context, alarmARN, actionARN, state string)

// Options configure a Service.
type Options struct {
	Store store.Store
	// Metrics is the time-series store (tsdb.Open or tsdb.NewMemory).
	Metrics *tsdb.DB
	Now     func() time.Time
	Logger  *slog.Logger
	// Tick is how often the alarm loop looks for alarms due for evaluation
	// (default 10 s). Each alarm is evaluated once per period (at most once
	// a minute for periods of a minute or more).
	Tick time.Duration
	// OnAlarmAction, when set, receives the actions of Application Auto
	// Scaling policy ARNs (arn:aws:autoscaling:…:scalingPolicy:…).
	OnAlarmAction ActionHook
}

// Service implements the CloudWatch operations.
type Service struct {
	st   store.Store
	db   *tsdb.DB
	now  func() time.Time
	log  *slog.Logger
	tick time.Duration

	hookMu sync.RWMutex
	hook   ActionHook

	evalMu   sync.Mutex
	lastEval map[string]time.Time // alarm ARN → last evaluation

	ingest ingestCounts // for Prometheus (prom.go)

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
	if o.Tick <= 0 {
		o.Tick = 10 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = tsdb.NewMemory(o.Now)
	}
	return &Service{st: o.Store, db: o.Metrics, now: o.Now, log: o.Logger, tick: o.Tick, hook: o.OnAlarmAction,
		lastEval: map[string]time.Time{}}
}

// SetOnAlarmAction installs the hook for Application Auto Scaling actions
// (the auto scaling service is built after this one).
func (s *Service) SetOnAlarmAction(h ActionHook) {
	s.hookMu.Lock()
	s.hook = h
	s.hookMu.Unlock()
}

func (s *Service) actionHook() ActionHook {
	s.hookMu.RLock()
	defer s.hookMu.RUnlock()
	return s.hook
}

func tenantOf(ctx context.Context) (tsdb.Tenant, error) {
	a, err := tenancy.Account(ctx)
	if err != nil {
		return tsdb.Tenant{}, err
	}
	r, err := tenancy.Region(ctx)
	if err != nil {
		return tsdb.Tenant{}, err
	}
	return tsdb.Tenant{Account: a, Region: r}, nil
}

func invalid(format string, args ...any) error {
	return errs.New(ErrInvalidParameterValue, format, args...)
}
