package edge

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/audit"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/sigv4"
	"github.com/wharfhq/wharf/internal/tenancy"
	"github.com/wharfhq/wharf/internal/wire"
)

// MaxBodyBytes bounds a request body, compressed or not.
const MaxBodyBytes = 20 << 20

// authorizer decides whether a principal may perform an action.
type authorizer interface {
	Authorize(ctx context.Context, p *principal.Principal, action, resource string, conditions map[string][]string) error
}

// recorder takes audit events; it must not block.
type recorder interface {
	Record(ev audit.Event)
}

// Config wires an Edge.
type Config struct {
	Services    []*Service
	Credentials sigv4.CredentialSource
	Authorizer  authorizer
	// AccessDenied is the error kind Authorizer returns for a denial; any
	// other error from it is an internal failure.
	AccessDenied error
	Audit        recorder // may be nil
	Metrics      *Metrics // may be nil
	Logger       *slog.Logger
	Now          func() time.Time
}

// Edge is the http.Handler of every AWS API.
type Edge struct {
	cfg      Config
	verifier *sigv4.Verifier
	byTarget map[string]*Service // X-Amz-Target prefix / Smithy service name
	byVer    map[string]*Service // awsQuery Version
	bySign   map[string]*Service // SigV4 signing name, for query disambiguation
	reqSeq   atomic.Uint64
	reqPre   string
}

// New builds an Edge.
func New(cfg Config) (*Edge, error) {
	if cfg.Credentials == nil || cfg.Authorizer == nil {
		return nil, errors.New("edge: Credentials and Authorizer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Edge{
		cfg:      cfg,
		verifier: &sigv4.Verifier{Source: cfg.Credentials, Now: cfg.Now},
		byTarget: map[string]*Service{},
		byVer:    map[string]*Service{},
		bySign:   map[string]*Service{},
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	e.reqPre = hex.EncodeToString(b[:])
	for _, s := range cfg.Services {
		md := s.Model.Metadata
		if md.TargetPrefix != "" {
			e.byTarget[md.TargetPrefix] = s
			// Some SDKs send only the last part of a dotted prefix
			// (aws-sdk-go-v2: "CloudTrail_20131101.LookupEvents" where
			// botocore sends "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101…").
			if i := strings.LastIndexByte(md.TargetPrefix, '.'); i >= 0 {
				e.byTarget[md.TargetPrefix[i+1:]] = s
			}
		}
		if md.HasProtocol("query") {
			e.byVer[md.APIVersion] = s
			e.bySign[md.SigningService()] = s
		}
	}
	return e, nil
}

func (e *Edge) requestID() string {
	n := e.reqSeq.Add(1)
	// 8-4-4-4-12 like AWS request ids: a per-process random prefix and a counter.
	h := fmt.Sprintf("%s%020x", e.reqPre, n)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// call is the state of one request as it moves through the edge.
type call struct {
	svc       *Service
	codec     protocol.Codec
	proto     string
	op        *awsmodel.Operation
	opName    string
	requestID string
	start     time.Time
	principal *principal.Principal
	region    string
	params    map[string]any
}

// ServeHTTP serves one AWS API request.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{requestID: e.requestID(), start: e.cfg.Now()}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		e.fail(w, r, c, &protocol.APIError{Code: "RequestEntityTooLarge", Message: "Request body too large or unreadable: " + err.Error(), Status: http.StatusRequestEntityTooLarge, Sender: true})
		return
	}
	body := raw
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		body, err = gunzip(raw)
		if err != nil {
			c.codec, c.proto = guessCodec(r)
			e.fail(w, r, c, serializationError(c.proto, "Content-Encoding gzip: "+err.Error()))
			return
		}
	}
	if apiErr := e.identify(r, body, c); apiErr != nil {
		e.fail(w, r, c, apiErr)
		return
	}
	if limit, ok := c.svc.MaxBody[c.opName]; ok && len(raw) > limit {
		e.fail(w, r, c, &protocol.APIError{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("Request size %d exceeded %d bytes", len(raw), limit), Status: http.StatusRequestEntityTooLarge, Sender: true})
		return
	}

	// Authenticate: the signature covers the bytes as sent (compressed).
	res, err := e.verifier.Verify(r.Context(), r, raw)
	if err == nil {
		err = res.CheckService(c.svc.Model.Metadata.SigningService())
	}
	if err != nil {
		e.fail(w, r, c, e.authError(r, c.proto, err))
		return
	}
	p, _ := res.Credential.Subject.(*principal.Principal)
	if p == nil {
		e.fail(w, r, c, internalError())
		return
	}
	c.principal, c.region = p, res.Region
	ctx := tenancy.With(r.Context(), p.Account, res.Region)
	ctx = principal.With(ctx, p)

	handler, ok := c.svc.Handlers[c.opName]
	if !ok {
		e.fail(w, r, c, &protocol.APIError{Code: "NotImplementedException", Message: fmt.Sprintf("Wharf does not implement %s:%s yet.", c.svc.actionPrefix(), c.opName), Status: http.StatusNotImplemented, Sender: false})
		return
	}

	var in map[string]any
	if c.op.Input != nil {
		in, err = c.codec.DecodeInput(c.svc.Model, c.op, r, body)
		if err != nil {
			e.fail(w, r, c, serializationError(c.proto, err.Error()))
			return
		}
		if in == nil {
			in = map[string]any{}
		}
		c.params = redact(c.op.Input.Shape, in, c.svc.AuditOmit[c.opName])
		if err := wire.Validate(c.op.Input.Shape, in); err != nil {
			e.fail(w, r, c, &protocol.APIError{Code: c.svc.ValidationCode, Message: err.Error(), Status: http.StatusBadRequest, Sender: true})
			return
		}
	}

	if !c.svc.Public[c.opName] {
		resource := "*"
		if c.svc.Resource != nil {
			if rsc := c.svc.Resource(ctx, c.opName, in); rsc != "" {
				resource = rsc
			}
		}
		action := c.svc.action(c.opName)
		cond := conditions(r, res.Region)
		if c.svc.ResourceTags != nil {
			for k, v := range c.svc.ResourceTags(ctx, c.opName, in) {
				cond["aws:ResourceTag/"+k] = []string{v}
			}
		}
		if err := e.cfg.Authorizer.Authorize(ctx, p, action, resource, cond); err != nil {
			if errors.Is(err, e.cfg.AccessDenied) {
				code, status := "AccessDeniedException", http.StatusBadRequest
				if c.proto == protoQuery {
					code, status = "AccessDenied", http.StatusForbidden
				}
				e.fail(w, r, c, &protocol.APIError{Code: code, Message: errs.Message(err), Status: status, Sender: true})
				return
			}
			e.cfg.Logger.Error("authorize", "err", err, "request_id", c.requestID)
			e.fail(w, r, c, internalError())
			return
		}
	}

	out, err := e.invoke(ctx, handler, in)
	if err != nil {
		e.fail(w, r, c, e.translate(c, err))
		return
	}
	c.codec.EncodeOutput(w, c.svc.Model, c.op, out, c.requestID)
	e.done(r, c, http.StatusOK, "", "")
}

// invoke calls the handler, turning a panic into an internal error so one
// bad request never takes the server down.
func (e *Edge) invoke(ctx context.Context, h wire.Handler, in map[string]any) (out map[string]any, err error) {
	defer func() {
		if v := recover(); v != nil {
			e.cfg.Logger.Error("handler panic", "panic", v)
			err = fmt.Errorf("edge: handler panic: %v", v)
		}
	}()
	return h(ctx, in)
}

// translate turns a service error into its wire form through the service's
// error table.
func (e *Edge) translate(c *call, err error) *protocol.APIError {
	if errors.Is(err, wire.ErrShape) {
		return serializationError(c.proto, err.Error())
	}
	if code, ok := c.svc.Errors.Lookup(err); ok {
		ae := &protocol.APIError{Code: code, Message: errs.Message(err), Status: http.StatusBadRequest, Sender: true}
		if sh, ok := c.svc.Model.Shapes[code]; ok && sh.Exception {
			ae.Shape = sh
			ae.Status = sh.HTTPStatus()
			ae.Sender = !sh.Fault
			if c.proto == protoQuery {
				ae.Code = sh.ErrorCode()
			}
		}
		return ae
	}
	e.cfg.Logger.Error("unmapped service error", "service", c.svc.Model.Metadata.ServiceID, "operation", c.opName, "err", err, "request_id", c.requestID)
	return internalError()
}

func (e *Edge) fail(w http.ResponseWriter, r *http.Request, c *call, ae *protocol.APIError) {
	var m *awsmodel.Model
	if c.svc != nil {
		m = c.svc.Model
	}
	if c.codec == nil {
		c.codec, c.proto = guessCodec(r)
	}
	c.codec.EncodeError(w, m, ae, c.requestID)
	e.done(r, c, ae.Status, ae.Code, ae.Message)
}

// done records metrics and the audit event of a finished call.
func (e *Edge) done(r *http.Request, c *call, status int, code, msg string) {
	svcName, opName := "unknown", c.opName
	if c.svc != nil {
		svcName = c.svc.Model.Metadata.EndpointPrefix
	}
	if opName == "" {
		opName = "unknown"
	}
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.observe(svcName, opName, code, status, e.cfg.Now().Sub(c.start))
	}
	if e.cfg.Audit == nil || c.svc == nil || c.opName == "" {
		return
	}
	ev := audit.Event{
		Time:              c.start,
		Region:            c.region,
		EventSource:       c.svc.Model.Metadata.EndpointPrefix + ".amazonaws.com",
		EventName:         c.opName,
		ReadOnly:          audit.IsReadOnly(c.opName),
		Principal:         c.principal,
		SourceIP:          sourceIP(r),
		UserAgent:         r.UserAgent(),
		RequestID:         c.requestID,
		RequestParameters: c.params,
		ErrorCode:         code,
		ErrorMessage:      msg,
	}
	if c.principal != nil {
		ev.Account = c.principal.Account
		ev.AccessKeyID = c.principal.AccessKeyID
	}
	e.cfg.Audit.Record(ev)
}

func conditions(r *http.Request, region string) map[string][]string {
	secure := "false"
	if r.TLS != nil {
		secure = "true"
	}
	return map[string][]string{
		"aws:SourceIp":        {sourceIP(r)},
		"aws:RequestedRegion": {region},
		"aws:SecureTransport": {secure},
		"aws:UserAgent":       {r.UserAgent()},
	}
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxBodyBytes {
		return nil, fmt.Errorf("decompressed body exceeds %d bytes", MaxBodyBytes)
	}
	return out, nil
}
