package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// ECR's IAM actions, as the registry API asks for them.
const (
	actBatchGetImage    = "ecr:BatchGetImage"
	actGetDownloadURL   = "ecr:GetDownloadUrlForLayer"
	actCheckLayer       = "ecr:BatchCheckLayerAvailability"
	actInitiateUpload   = "ecr:InitiateLayerUpload"
	actUploadPart       = "ecr:UploadLayerPart"
	actCompleteUpload   = "ecr:CompleteLayerUpload"
	actPutImage         = "ecr:PutImage"
	actBatchDeleteImage = "ecr:BatchDeleteImage"
	actListImages       = "ecr:ListImages"
	actDescribeImages   = "ecr:DescribeImages"
)

// Handler returns the /v2/ HTTP API. Mount it at "/v2/".
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// route is what a /v2/ path names.
type route struct {
	kind string // "base", "blob", "upload", "manifest", "tags", "referrers"
	name string
	ref  string // digest, tag, or upload id
}

// parsePath splits /v2/NAME/KIND/REF. Names contain slashes, so the kind is
// found from the end of the path.
func parsePath(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return route{kind: "base"}, p == "/v2"
	}
	if rest == "" {
		return route{kind: "base"}, true
	}
	if rest == "_catalog" {
		return route{kind: "catalog"}, true
	}
	seg := strings.Split(rest, "/")
	n := len(seg)
	name := func(k int) string { return strings.Join(seg[:n-k], "/") }
	switch {
	case n >= 3 && seg[n-2] == "tags" && seg[n-1] == "list":
		return route{kind: "tags", name: name(2)}, true
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads":
		return route{kind: "upload", name: name(3), ref: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "blobs" && seg[n-1] == "uploads":
		return route{kind: "upload", name: name(2)}, true
	case n >= 3 && seg[n-2] == "blobs":
		return route{kind: "blob", name: name(2), ref: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "manifests":
		return route{kind: "manifest", name: name(2), ref: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "referrers":
		return route{kind: "referrers", name: name(2), ref: seg[n-1]}, true
	}
	return route{}, false
}

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt, ok := parsePath(r.URL.Path)
	if !ok {
		s.fail(w, r, errs.New(ErrNameUnknown, "no such registry endpoint: %s", r.URL.Path))
		return
	}
	ctx, err := s.authenticate(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rt.kind == "base" {
		if principal.From(ctx) == nil {
			// Anonymous callers are challenged here even when some
			// repositories are public, so that clients with
			// credentials learn to send them.
			s.fail(w, r, errs.New(ErrUnauthorized, "authentication required: log in with an ECR authorization token (user AWS)"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.fail(w, r, errMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write([]byte("{}"))
		}
		return
	}
	if rt.kind == "catalog" {
		if r.Method != http.MethodGet {
			s.fail(w, r, errMethodNotAllowed)
			return
		}
		s.catalog(w, r.WithContext(ctx))
		return
	}
	if !ValidName(rt.name) {
		s.fail(w, r, errs.New(ErrNameInvalid, "invalid repository name %q", rt.name))
		return
	}
	r = r.WithContext(ctx)
	switch rt.kind {
	case "blob":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.getBlob(w, r, rt)
		case http.MethodDelete:
			s.deleteBlob(w, r, rt)
		default:
			s.fail(w, r, errMethodNotAllowed)
		}
	case "upload":
		switch {
		case r.Method == http.MethodPost && rt.ref == "":
			s.startUpload(w, r, rt)
		case rt.ref == "":
			s.fail(w, r, errMethodNotAllowed)
		case r.Method == http.MethodPatch:
			s.patchUpload(w, r, rt)
		case r.Method == http.MethodPut:
			s.putUpload(w, r, rt)
		case r.Method == http.MethodGet:
			s.uploadStatus(w, r, rt)
		case r.Method == http.MethodDelete:
			s.cancelUpload(w, r, rt)
		default:
			s.fail(w, r, errMethodNotAllowed)
		}
	case "manifest":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.getManifest(w, r, rt)
		case http.MethodPut:
			s.putManifest(w, r, rt)
		case http.MethodDelete:
			s.deleteManifest(w, r, rt)
		default:
			s.fail(w, r, errMethodNotAllowed)
		}
	case "tags":
		if r.Method != http.MethodGet {
			s.fail(w, r, errMethodNotAllowed)
			return
		}
		s.listTags(w, r, rt)
	case "referrers":
		if r.Method != http.MethodGet {
			s.fail(w, r, errMethodNotAllowed)
			return
		}
		s.listReferrers(w, r, rt)
	}
}

// authenticate verifies the ECR token of r (HTTP Basic, user AWS) and
// returns a context carrying the tenant and principal it stands for.
func (s *Service) authenticate(r *http.Request) (context.Context, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		if s.anon.Account != "" && r.Header.Get("Authorization") == "" {
			// Anonymous: only what a repository policy opens to "*".
			return tenancy.With(r.Context(), s.anon.Account, s.anon.Region), nil
		}
		return nil, errs.New(ErrUnauthorized, "authentication required: log in with an ECR authorization token (user AWS)")
	}
	if user != "AWS" {
		return nil, errs.New(ErrUnauthorized, "the user name must be AWS")
	}
	c, err := s.tokens.Verify(r.Context(), pass)
	if errors.Is(err, ErrTokenInvalid) {
		return nil, errs.New(ErrUnauthorized, "your authorization token is invalid or has expired")
	}
	if err != nil {
		return nil, err
	}
	ctx := tenancy.With(r.Context(), c.Account, c.Region)
	cred, err := s.creds.LookupAccessKey(ctx, c.AccessKeyID)
	if err != nil {
		return nil, errs.New(ErrUnauthorized, "your authorization token is no longer valid")
	}
	p, _ := cred.Subject.(*principal.Principal)
	if p == nil || p.Account != c.Account {
		return nil, errs.New(ErrUnauthorized, "your authorization token is no longer valid")
	}
	if !cred.Expiration.IsZero() && !s.now().Before(cred.Expiration) {
		return nil, errs.New(ErrUnauthorized, "your authorization token has expired")
	}
	return principal.With(ctx, p), nil
}

// authorize decides whether the caller may do action on repository name:
// IAM for its identity policies, and the repository's policy (see
// policy.go).
func (s *Service) authorize(ctx context.Context, action, name string) error {
	return s.decide(ctx, action, name)
}

// authzAny asks IAM whether the caller may do action on any resource.
func (s *Service) authzAny(ctx context.Context, action string) error {
	if principal.From(ctx) == nil {
		return errs.New(ErrUnauthorized, "authentication required")
	}
	if err := s.authz.Authorize(ctx, principal.From(ctx), action, "*", nil); err != nil {
		return errs.New(ErrDenied, "%s", errs.Message(err))
	}
	return nil
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// fail answers err in the spec's error format.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, status := lookupCode(err)
	msg := errs.Message(err)
	if status == http.StatusInternalServerError {
		s.log.Error("registry request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	h := w.Header()
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="`+s.realm+`"`)
	}
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: code, Message: msg}}})
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
