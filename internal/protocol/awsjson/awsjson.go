// Package awsjson is the awsJson 1.0 and 1.1 protocol: a JSON object body
// POSTed with X-Amz-Target naming the operation, answered with a JSON
// object. ECS, ECR, CloudWatch Logs, CloudTrail, Secrets Manager, SSM, KMS
// and more speak it; so does CloudWatch (awsJson 1.0, query-compatible) for
// boto3.
//
// Members are named by their model names (awsJson ignores locationName),
// timestamps are epoch seconds, blobs base64 strings.
package awsjson

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// Codec is the awsJson codec. The zero value is ready to use; the JSON
// version (1.0 or 1.1) comes from the model's metadata.
type Codec struct{}

var _ protocol.Codec = Codec{}

// DecodeInput implements protocol.Codec. An empty body or {} is an empty
// input; anything but a JSON object is refused.
func (Codec) DecodeInput(m *awsmodel.Model, op *awsmodel.Operation, r *http.Request, body []byte) (map[string]any, error) {
	if op.Input == nil {
		return nil, nil
	}
	tree, err := decodeBody(op.Input.Shape, body)
	if err != nil {
		return nil, err
	}
	return tree, nil
}

// EncodeOutput implements protocol.Codec.
func (Codec) EncodeOutput(w http.ResponseWriter, m *awsmodel.Model, op *awsmodel.Operation, out map[string]any, requestID string) {
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	if op.Output != nil && out != nil {
		b = appendStruct(b, op.Output.Shape, out)
	} else {
		b = append(b, '{', '}')
	}
	*bp = b
	write(w, m, http.StatusOK, requestID, b)
}

// EncodeError implements protocol.Codec: X-Amzn-ErrorType carries the code
// (the Go SDK reads it first), the body {"__type": code, "message": …}
// (boto3 reads only the body), plus the error shape's other members. For
// awsQueryCompatible services x-amzn-query-error carries the awsQuery code
// and fault, which the SDKs surface as the error code.
func (Codec) EncodeError(w http.ResponseWriter, m *awsmodel.Model, e *protocol.APIError, requestID string) {
	code := e.ShapeCode()
	h := w.Header()
	h.Set("X-Amzn-Errortype", code)
	if m != nil && m.Metadata.AWSQueryCompatible != nil {
		h.Set("X-Amzn-Query-Error", e.QueryCode()+";"+e.Fault())
	}
	bp := getBuf()
	defer putBuf(bp)
	b := appendError(*bp, e, code)
	*bp = b
	write(w, m, e.HTTPStatus(), requestID, b)
}

func appendError(b []byte, e *protocol.APIError, code string) []byte {
	msgName := e.MessageMember()
	b = append(b, `{"__type":`...)
	b = appendString(b, code)
	b = append(b, ',')
	b = appendString(b, msgName)
	b = append(b, ':')
	b = appendString(b, e.Message)
	for _, k := range sortedKeys(e.Fields) {
		v := e.Fields[k]
		if v == nil || k == "__type" || k == msgName {
			continue
		}
		mark := len(b)
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		var ref *awsmodel.Ref
		if e.Shape != nil {
			ref = e.Shape.Members[k]
		}
		if ref == nil {
			b = appendAny(b, v)
			continue
		}
		var ok bool
		if b, ok = appendValue(b, ref, v); !ok {
			b = b[:mark]
		}
	}
	return append(b, '}')
}

func write(w http.ResponseWriter, m *awsmodel.Model, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType(m))
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// contentType is application/x-amz-json-1.0 or -1.1 per the model; 1.1
// when the service is unknown (an error before the service was found).
func contentType(m *awsmodel.Model) string {
	if m != nil && m.Metadata.JSONVersion == "1.0" {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 1<<20 {
		return // let huge buffers go
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
