// Package edge is the one place where HTTP meets the AWS APIs. It
// recognises the protocol of a request (awsJson, awsQuery, Smithy RPC v2
// CBOR), finds the service and operation in the models, verifies the SigV4
// signature, decodes and validates the input against the model, asks IAM
// whether the caller may do it, calls the service's Go method, and encodes
// the answer — or translates the error, once, through the service's error
// table. Every call is counted, timed and recorded in the audit log.
package edge

import (
	"context"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/wire"
)

// Service is one AWS service as the edge serves it.
type Service struct {
	// Model is the service's API model.
	Model *awsmodel.Model
	// Handlers maps operation names to handlers (from <svc>api.Handlers).
	Handlers map[string]wire.Handler
	// Errors maps the service's domain errors to error shapes of the model.
	Errors errs.Table
	// ValidationCode is the error code answered when a request breaks the
	// model's constraints (ValidationError for IAM and STS,
	// ValidationException, InvalidParameterException, … as the service does).
	ValidationCode string
	// ActionPrefix is the IAM action prefix ("iam", "ecs", "cloudwatch"…).
	// Empty means the model's signing name.
	ActionPrefix string
	// Resource names the resource ARN an operation acts on, for IAM
	// authorization. Nil, or "" returned, means "*".
	Resource func(ctx context.Context, op string, in map[string]any) string
	// ResourceTags returns the tags of the resource an operation acts on,
	// offered to policies as aws:ResourceTag/<key>. Nil means none.
	ResourceTags func(ctx context.Context, op string, in map[string]any) map[string]string
	// Actions renames the IAM action of some operations (operation name →
	// action without prefix), for APIs whose operations AWS authorizes
	// under another name: the agent channel's PollAssignments is ecs:Poll.
	// Operations not listed are authorized as "<prefix>:<Operation>".
	Actions map[string]string
	// Public lists operations any authenticated caller may call without a
	// policy allowing it (sts:GetCallerIdentity).
	Public map[string]bool
	// AuditOmit lists, per operation, top-level input members the audit
	// log leaves out of requestParameters: bulk data (log events, metric
	// datapoints) that CloudTrail does not keep either and that would cost
	// more to record than to serve.
	AuditOmit map[string][]string
	// MaxBody bounds, per operation, the request body as sent (compressed
	// or not) where AWS documents a limit below the edge's MaxBodyBytes:
	// CloudWatch PutMetricData's 1 MB. A larger body is refused with
	// RequestEntityTooLarge (413), as AWS does.
	MaxBody map[string]int
}

func (s *Service) actionPrefix() string {
	if s.ActionPrefix != "" {
		return s.ActionPrefix
	}
	return s.Model.Metadata.SigningService()
}

// action is the IAM action an operation is authorized as.
func (s *Service) action(op string) string {
	if a, ok := s.Actions[op]; ok {
		return s.actionPrefix() + ":" + a
	}
	return s.actionPrefix() + ":" + op
}
