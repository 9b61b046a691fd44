package registry

import (
	"errors"
	"net/http"
)

// Error kinds. Every error the registry answers with wraps one of them;
// codeTable turns them into the distribution spec's codes, once, at the
// HTTP edge of this package.
var (
	ErrBlobUnknown         = errors.New("blob unknown to registry")
	ErrBlobUploadInvalid   = errors.New("blob upload invalid")
	ErrBlobUploadUnknown   = errors.New("blob upload unknown to registry")
	ErrRangeInvalid        = errors.New("requested range not satisfiable")
	ErrDigestInvalid       = errors.New("provided digest did not match uploaded content")
	ErrManifestBlobUnknown = errors.New("manifest references a manifest or blob unknown to registry")
	ErrManifestInvalid     = errors.New("manifest invalid")
	ErrManifestUnknown     = errors.New("manifest unknown to registry")
	ErrNameInvalid         = errors.New("invalid repository name")
	ErrNameUnknown         = errors.New("repository name not known to registry")
	ErrSizeInvalid         = errors.New("provided length did not match content length")
	ErrTagInvalid          = errors.New("manifest tag did not match URI")
	ErrTagImmutable        = errors.New("tag exists in an immutable repository")
	ErrUnauthorized        = errors.New("authentication required")
	ErrDenied              = errors.New("requested access to the resource is denied")
	ErrUnsupported         = errors.New("the operation is unsupported")
	ErrRepositoryExists    = errors.New("repository already exists")
	ErrRepositoryNotEmpty  = errors.New("repository not empty")
	ErrTooLarge            = errors.New("content too large")
	errMethodNotAllowed    = errors.New("method not allowed")
)

type codeStatus struct {
	kind   error
	code   string
	status int
}

// codeTable: domain error kind → distribution spec error code and status.
var codeTable = []codeStatus{
	{ErrBlobUnknown, "BLOB_UNKNOWN", http.StatusNotFound},
	{ErrBlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", http.StatusNotFound},
	{ErrRangeInvalid, "BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable},
	{ErrBlobUploadInvalid, "BLOB_UPLOAD_INVALID", http.StatusBadRequest},
	{ErrDigestInvalid, "DIGEST_INVALID", http.StatusBadRequest},
	{ErrManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest},
	{ErrManifestInvalid, "MANIFEST_INVALID", http.StatusBadRequest},
	{ErrManifestUnknown, "MANIFEST_UNKNOWN", http.StatusNotFound},
	{ErrNameInvalid, "NAME_INVALID", http.StatusBadRequest},
	{ErrNameUnknown, "NAME_UNKNOWN", http.StatusNotFound},
	{ErrSizeInvalid, "SIZE_INVALID", http.StatusBadRequest},
	{ErrTagInvalid, "TAG_INVALID", http.StatusBadRequest},
	{ErrTagImmutable, "TAG_INVALID", http.StatusBadRequest},
	{ErrUnauthorized, "UNAUTHORIZED", http.StatusUnauthorized},
	{ErrDenied, "DENIED", http.StatusForbidden},
	{ErrUnsupported, "UNSUPPORTED", http.StatusBadRequest},
	{errMethodNotAllowed, "UNSUPPORTED", http.StatusMethodNotAllowed},
	{ErrTooLarge, "SIZE_INVALID", http.StatusRequestEntityTooLarge},
	{ErrRepositoryExists, "DENIED", http.StatusConflict},
	{ErrRepositoryNotEmpty, "DENIED", http.StatusConflict},
}

func lookupCode(err error) (string, int) {
	for _, c := range codeTable {
		if errors.Is(err, c.kind) {
			return c.code, c.status
		}
	}
	return "UNKNOWN", http.StatusInternalServerError
}
