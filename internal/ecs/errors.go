package ecs

import (
	"errors"

	"github.com/wharfhq/wharf/internal/errs"
)

// Error kinds. Every error a Service method returns for a caller mistake
// wraps one of them (errors.Is), built with errs.New so that its message is
// the one ECS gives.
var (
	ErrClusterNotFound          = errors.New("ecs: cluster not found")
	ErrInvalidParameter         = errors.New("ecs: invalid parameter")
	ErrClient                   = errors.New("ecs: client error")
	ErrClusterContainsInstances = errors.New("ecs: cluster contains container instances")
	ErrClusterContainsServices  = errors.New("ecs: cluster contains services")
	ErrClusterContainsTasks     = errors.New("ecs: cluster contains tasks")
	ErrResourceNotFound         = errors.New("ecs: resource not found")
	ErrTargetNotFound           = errors.New("ecs: target not found")
	ErrAttributeLimitExceeded   = errors.New("ecs: attribute limit exceeded")
	ErrLimitExceeded            = errors.New("ecs: limit exceeded")
	ErrUnsupportedFeature       = errors.New("ecs: unsupported feature")
	ErrAccessDenied             = errors.New("ecs: access denied")
	ErrServer                   = errors.New("ecs: server error")
	ErrServiceNotFound          = errors.New("ecs: service not found")
	ErrServiceNotActive         = errors.New("ecs: service not active")
	ErrPlatformUnknown          = errors.New("ecs: platform unknown")
)

// ErrorTable maps the ECS domain errors to the error shapes of the ECS model.
var ErrorTable = errs.Table{
	{Kind: ErrClusterNotFound, Code: "ClusterNotFoundException"},
	{Kind: ErrInvalidParameter, Code: "InvalidParameterException"},
	{Kind: ErrClient, Code: "ClientException"},
	{Kind: ErrClusterContainsInstances, Code: "ClusterContainsContainerInstancesException"},
	{Kind: ErrClusterContainsServices, Code: "ClusterContainsServicesException"},
	{Kind: ErrClusterContainsTasks, Code: "ClusterContainsTasksException"},
	{Kind: ErrResourceNotFound, Code: "ResourceNotFoundException"},
	{Kind: ErrTargetNotFound, Code: "TargetNotFoundException"},
	{Kind: ErrAttributeLimitExceeded, Code: "AttributeLimitExceededException"},
	{Kind: ErrLimitExceeded, Code: "LimitExceededException"},
	{Kind: ErrUnsupportedFeature, Code: "UnsupportedFeatureException"},
	{Kind: ErrAccessDenied, Code: "AccessDeniedException"},
	{Kind: ErrServer, Code: "ServerException"},
	{Kind: ErrServiceNotFound, Code: "ServiceNotFoundException"},
	{Kind: ErrServiceNotActive, Code: "ServiceNotActiveException"},
	{Kind: ErrPlatformUnknown, Code: "PlatformUnknownException"},
}

func clusterNotFound() error { return errs.New(ErrClusterNotFound, "Cluster not found.") }

func invalidParam(format string, args ...any) error {
	return errs.New(ErrInvalidParameter, format, args...)
}

func clientErr(format string, args ...any) error { return errs.New(ErrClient, format, args...) }

func errsNew(kind error, msg string) error { return errs.New(kind, "%s", msg) }
