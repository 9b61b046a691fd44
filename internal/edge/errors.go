package edge

import (
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/sigv4"
)

// authCodes names SigV4 failures the way each protocol family does.
var authCodes = map[sigv4.Kind][2]string{ // {JSON/CBOR, query}
	sigv4.MissingAuth:         {"MissingAuthenticationTokenException", "MissingAuthenticationToken"},
	sigv4.IncompleteSignature: {"IncompleteSignatureException", "IncompleteSignature"},
	sigv4.InvalidSignature:    {"InvalidSignatureException", "SignatureDoesNotMatch"},
	sigv4.UnknownClientToken:  {"UnrecognizedClientException", "InvalidClientTokenId"},
	sigv4.ExpiredToken:        {"ExpiredTokenException", "ExpiredToken"},
	// Clock skew is reported as a signature mismatch ("Signature expired: …"),
	// as AWS does, so SDKs correct their clock and retry; an expired
	// presigned URL is RequestExpired on query services (see authError).
	sigv4.RequestExpired: {"InvalidSignatureException", "SignatureDoesNotMatch"},
}

func (e *Edge) authError(r *http.Request, proto string, err error) *protocol.APIError {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		e.cfg.Logger.Error("verify signature", "err", err)
		return internalError()
	}
	codes, ok := authCodes[se.Kind]
	if !ok {
		codes = authCodes[sigv4.InvalidSignature]
	}
	code := codes[0]
	if proto == protoQuery {
		code = codes[1]
	}
	status := http.StatusForbidden
	switch {
	case se.Kind == sigv4.IncompleteSignature:
		status = http.StatusBadRequest
	case se.Kind == sigv4.RequestExpired && proto == protoQuery && r.URL.Query().Has("X-Amz-Signature"):
		code, status = "RequestExpired", http.StatusBadRequest
	case se.Kind == sigv4.MissingAuth && proto != protoQuery:
		return &protocol.APIError{Code: code, Message: "Missing Authentication Token", Status: status, Sender: true}
	}
	return &protocol.APIError{Code: code, Message: se.Message, Status: status, Sender: true}
}

func unknownOperation(proto, msg string) *protocol.APIError {
	if proto == protoQuery {
		return &protocol.APIError{Code: "InvalidAction", Message: msg, Status: http.StatusBadRequest, Sender: true}
	}
	return &protocol.APIError{Code: "UnknownOperationException", Message: msg, Status: http.StatusBadRequest, Sender: true}
}

func serializationError(proto, msg string) *protocol.APIError {
	if proto == protoQuery {
		return &protocol.APIError{Code: "MalformedQueryString", Message: msg, Status: http.StatusBadRequest, Sender: true}
	}
	return &protocol.APIError{Code: "SerializationException", Message: msg, Status: http.StatusBadRequest, Sender: true}
}

func internalError() *protocol.APIError {
	return &protocol.APIError{Code: "InternalFailure", Message: "We encountered an internal error. Please try again.", Status: http.StatusInternalServerError}
}
