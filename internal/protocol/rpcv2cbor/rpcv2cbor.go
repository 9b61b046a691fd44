// Package rpcv2cbor is the Smithy RPC v2 CBOR protocol: POST
// /service/<Service>/operation/<Operation> with "smithy-protocol:
// rpc-v2-cbor" and a CBOR map body, answered in kind. aws-sdk-go-v2's
// CloudWatch client speaks it.
//
// Members are keyed by their model names; timestamps are tag 1 epoch
// seconds, blobs byte strings.
package rpcv2cbor

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// Codec is the RPC v2 CBOR codec. The zero value is ready to use.
type Codec struct{}

var _ protocol.Codec = Codec{}

// DecodeInput implements protocol.Codec. An empty body is an empty input.
func (Codec) DecodeInput(m *awsmodel.Model, op *awsmodel.Operation, r *http.Request, body []byte) (map[string]any, error) {
	if op.Input == nil {
		return nil, nil
	}
	return decodeBody(op.Input.Shape, body)
}

// EncodeOutput implements protocol.Codec. An operation without output
// answers with an empty body.
func (Codec) EncodeOutput(w http.ResponseWriter, m *awsmodel.Model, op *awsmodel.Operation, out map[string]any, requestID string) {
	if op.Output == nil {
		write(w, http.StatusOK, requestID, nil)
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	if out == nil {
		out = map[string]any{}
	}
	b = appendStruct(b, op.Output.Shape, out)
	*bp = b
	write(w, http.StatusOK, requestID, b)
}

// EncodeError implements protocol.Codec. The body is a CBOR map with
// "__type" (the error shape's name: the SDKs strip any "namespace#" and
// look the shape up by it), the message under the shape's message member
// name, and the shape's other members from e.Fields. For awsQueryCompatible
// services (CloudWatch) the x-amzn-query-error header carries the awsQuery
// code and fault; aws-sdk-go-v2 reports that code from ErrorCode() (e.g.
// "InvalidParameterValue" for InvalidParameterValueException) and boto3
// does the same.
func (Codec) EncodeError(w http.ResponseWriter, m *awsmodel.Model, e *protocol.APIError, requestID string) {
	if m != nil && m.Metadata.AWSQueryCompatible != nil {
		w.Header().Set("X-Amzn-Query-Error", e.QueryCode()+";"+e.Fault())
	}
	bp := getBuf()
	defer putBuf(bp)
	b := appendError(*bp, e)
	*bp = b
	write(w, e.HTTPStatus(), requestID, b)
}

func appendError(b []byte, e *protocol.APIError) []byte {
	msgName := e.MessageMember()
	keys := sortedKeys(e.Fields)
	n := 2
	for _, k := range keys {
		if v := e.Fields[k]; v != nil && k != "__type" && k != msgName && fieldFits(e, k, v) {
			n++
		}
	}
	b = appendHead(b, majMap, uint64(n))
	b = appendText(b, "__type")
	b = appendText(b, e.ShapeCode())
	b = appendText(b, msgName)
	b = appendText(b, e.Message)
	for _, k := range keys {
		v := e.Fields[k]
		if v == nil || k == "__type" || k == msgName || !fieldFits(e, k, v) {
			continue
		}
		b = appendText(b, k)
		if ref := fieldRef(e, k); ref != nil {
			b = appendValue(b, ref.Shape, v)
		} else {
			b = appendAny(b, v)
		}
	}
	return b
}

func fieldRef(e *protocol.APIError, k string) *awsmodel.Ref {
	if e.Shape == nil {
		return nil
	}
	return e.Shape.Members[k]
}

func fieldFits(e *protocol.APIError, k string, v any) bool {
	ref := fieldRef(e, k)
	return ref == nil || fits(ref.Shape, v)
}

func write(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	if len(body) > 0 {
		h.Set("Content-Type", "application/cbor")
	}
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 1<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
