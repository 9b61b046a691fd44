// Package protocol holds what the three AWS wire protocols Wharf serves have
// in common. Each protocol is a codec in its own package (awsjson,
// awsquery, rpcv2cbor) that turns request bytes into a value tree (see
// package wire) guided by the model, and value trees and API errors into
// response bytes. Codecs know nothing of services, auth or Go types.
package protocol

import (
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/internal/awsmodel"
)

// ErrSerialization is wrapped by every decode error: the body is not valid
// for the protocol or does not fit the input shape (a string where a list
// belongs, a number out of range, bad base64…). The edge answers it with
// the protocol's SerializationException.
var ErrSerialization = errors.New("protocol: cannot deserialize request")

// APIError is an error as it goes on the wire.
type APIError struct {
	Code    string // wire code: the error shape name (JSON, CBOR) or its error.code (query)
	Message string
	Status  int  // HTTP status
	Sender  bool // client fault (query <Type>Sender</Type>, x-amzn-query-error …;Sender)
	// Shape is the model's error shape when known; codecs use it to name
	// the message member ("message" or "Message") and to encode Fields.
	Shape *awsmodel.Shape
	// Fields are extra members of the error shape, as a value tree.
	Fields map[string]any
}

// Codec is one wire protocol.
type Codec interface {
	// DecodeInput decodes the request for op into a tree of op.Input's
	// shape (nil tree when the operation has no input). Errors wrap
	// ErrSerialization.
	DecodeInput(m *awsmodel.Model, op *awsmodel.Operation, r *http.Request, body []byte) (map[string]any, error)
	// EncodeOutput writes a 200 response carrying out (a tree of
	// op.Output's shape; nil when there is no output).
	EncodeOutput(w http.ResponseWriter, m *awsmodel.Model, op *awsmodel.Operation, out map[string]any, requestID string)
	// EncodeError writes e.
	EncodeError(w http.ResponseWriter, m *awsmodel.Model, e *APIError, requestID string)
}
