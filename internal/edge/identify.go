package edge

import (
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/awsjson"
	"github.com/wharfhq/wharf/internal/protocol/awsquery"
	"github.com/wharfhq/wharf/internal/protocol/rpcv2cbor"
)

const (
	protoJSON  = "json"
	protoQuery = "query"
	protoCBOR  = "smithy-rpc-v2-cbor"
)

var (
	jsonCodec  protocol.Codec = awsjson.Codec{}
	queryCodec protocol.Codec = awsquery.Codec{}
	cborCodec  protocol.Codec = rpcv2cbor.Codec{}
)

// guessCodec picks the codec to answer a request with before (or without)
// knowing its service.
func guessCodec(r *http.Request) (protocol.Codec, string) {
	switch {
	case r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" || strings.HasPrefix(r.URL.Path, "/service/"):
		return cborCodec, protoCBOR
	case r.Header.Get("X-Amz-Target") != "" || strings.Contains(r.Header.Get("Content-Type"), "json"):
		return jsonCodec, protoJSON
	default:
		return queryCodec, protoQuery
	}
}

// identify finds the protocol, service and operation of r. body is the
// decompressed request body.
func (e *Edge) identify(r *http.Request, body []byte, c *call) *protocol.APIError {
	c.codec, c.proto = guessCodec(r)
	switch c.proto {
	case protoCBOR:
		// /service/<ServiceShape>/operation/<Operation>
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 4 || parts[0] != "service" || parts[2] != "operation" {
			return unknownOperation(c.proto, "The requested path "+r.URL.Path+" is not a Smithy RPC v2 operation path.")
		}
		svc := e.byTarget[parts[1]]
		if svc == nil || !svc.Model.Metadata.HasProtocol(protoCBOR) {
			return unknownOperation(c.proto, "Unknown service "+parts[1]+".")
		}
		return e.bindOp(c, svc, parts[3])
	case protoJSON:
		target := r.Header.Get("X-Amz-Target")
		i := strings.LastIndexByte(target, '.')
		if i < 0 {
			return unknownOperation(c.proto, "Missing or malformed X-Amz-Target header.")
		}
		svc := e.byTarget[target[:i]]
		if svc == nil || !svc.Model.Metadata.HasProtocol(protoJSON) {
			return unknownOperation(c.proto, "Unknown service "+target[:i]+".")
		}
		return e.bindOp(c, svc, target[i+1:])
	default:
		form, err := awsquery.Params(r, body)
		if err != nil {
			return serializationError(c.proto, err.Error())
		}
		action, version := form.Get("Action"), form.Get("Version")
		if action == "" {
			if r.Method == http.MethodGet && r.URL.Path == "/" && len(r.URL.RawQuery) == 0 {
				return unknownOperation(c.proto, "This is Wharf's AWS API endpoint. Point an AWS client at it with --endpoint-url.")
			}
			return &protocol.APIError{Code: "MissingAction", Message: "Missing Action", Status: http.StatusBadRequest, Sender: true}
		}
		svc := e.byVer[version]
		if svc == nil {
			svc = e.bySign[signingService(r)]
		}
		if svc == nil {
			return &protocol.APIError{Code: "InvalidAction", Message: "Could not find operation " + action + " for version " + version, Status: http.StatusBadRequest, Sender: true}
		}
		return e.bindOp(c, svc, action)
	}
}

func (e *Edge) bindOp(c *call, svc *Service, name string) *protocol.APIError {
	c.svc = svc
	op, ok := svc.Model.Operations[name]
	if !ok {
		if c.proto == protoQuery {
			return &protocol.APIError{Code: "InvalidAction", Message: "Could not find operation " + name + " for version " + svc.Model.Metadata.APIVersion, Status: http.StatusBadRequest, Sender: true}
		}
		return unknownOperation(c.proto, "")
	}
	c.op, c.opName = op, name
	return nil
}

// signingService reads the service name from the SigV4 credential scope.
func signingService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if cred == "" {
		auth := r.Header.Get("Authorization")
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred = auth[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) == 5 {
		return parts[3]
	}
	return ""
}
