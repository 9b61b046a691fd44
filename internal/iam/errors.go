package iam

import (
	"errors"

	"github.com/wharfhq/wharf/internal/errs"
)

// Error kinds. Every error a Service method returns for a caller mistake
// wraps one of them (errors.Is), built with errs.New so its message is the
// one IAM gives.
var (
	ErrNoSuchEntity            = errors.New("iam: no such entity")
	ErrEntityAlreadyExists     = errors.New("iam: entity already exists")
	ErrDeleteConflict          = errors.New("iam: delete conflict")
	ErrLimitExceeded           = errors.New("iam: limit exceeded")
	ErrMalformedPolicyDocument = errors.New("iam: malformed policy document")
	ErrInvalidInput            = errors.New("iam: invalid input")
	ErrUnmodifiableEntity      = errors.New("iam: unmodifiable entity")
	// ErrValidation is a request IAM refuses with the generic
	// ValidationError (not an error shape of the model).
	ErrValidation = errors.New("iam: validation error")
	// ErrAccessDenied is returned (wrapped) by Authorize for a denial; its
	// message is AWS's "User: … is not authorized to perform: …".
	ErrAccessDenied = errors.New("iam: access denied")
)

// ErrorTable maps IAM's domain errors to the error shapes of the IAM model.
// ValidationError and AccessDenied are not shapes of the model: the edge
// sends them as they are, with status 400.
var ErrorTable = errs.Table{
	{Kind: ErrNoSuchEntity, Code: "NoSuchEntityException"},
	{Kind: ErrEntityAlreadyExists, Code: "EntityAlreadyExistsException"},
	{Kind: ErrDeleteConflict, Code: "DeleteConflictException"},
	{Kind: ErrLimitExceeded, Code: "LimitExceededException"},
	{Kind: ErrMalformedPolicyDocument, Code: "MalformedPolicyDocumentException"},
	{Kind: ErrInvalidInput, Code: "InvalidInputException"},
	{Kind: ErrUnmodifiableEntity, Code: "UnmodifiableEntityException"},
	{Kind: ErrValidation, Code: "ValidationError"},
	{Kind: ErrAccessDenied, Code: "AccessDenied"},
}

func noSuchUser(name string) error {
	return errs.New(ErrNoSuchEntity, "The user with name %s cannot be found.", name)
}

func noSuchGroup(name string) error {
	return errs.New(ErrNoSuchEntity, "The group with name %s cannot be found.", name)
}

func noSuchRole(name string) error {
	return errs.New(ErrNoSuchEntity, "The role with name %s cannot be found.", name)
}

func noSuchPolicy(arn string) error {
	return errs.New(ErrNoSuchEntity, "Policy %s was not found.", arn)
}

func notAttachable(arn string) error {
	return errs.New(ErrNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

func noSuchAccessKey(id string) error {
	return errs.New(ErrNoSuchEntity, "The Access Key with id %s cannot be found.", id)
}

func quota(name string, n int) error {
	return errs.New(ErrLimitExceeded, "Cannot exceed quota for %s: %d", name, n)
}
