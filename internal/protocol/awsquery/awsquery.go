// Package awsquery is the awsQuery protocol: form-encoded parameters
// (Action, Version and the input flattened into dotted names) answered with
// XML. IAM, STS and ELBv2 speak it, and so does CloudWatch for the aws CLI.
//
// Parameter names follow the query serialization rules: "Name=x",
// "Parent.Child=x", lists as "Name.member.N" ("Name.N" when flattened),
// maps as "Name.entry.N.key"/"Name.entry.N.value" ("Name.N.key" when
// flattened), each named by the member's queryName or locationName when the
// model sets one. "Name=" is an empty list or map.
package awsquery

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// Codec is the awsQuery codec. The zero value is ready to use.
type Codec struct{}

var _ protocol.Codec = Codec{}

// DecodeInput implements protocol.Codec. It reads the URL query and, for a
// form POST, body; Action and Version are left to the caller.
func (Codec) DecodeInput(m *awsmodel.Model, op *awsmodel.Operation, r *http.Request, body []byte) (map[string]any, error) {
	if op.Input == nil {
		return nil, nil
	}
	vals, err := Params(r, body)
	if err != nil {
		return nil, protocol.NewDecodeError("malformed query string: %v", err)
	}
	tree, derr := decodeStruct(op.Input.Shape, buildTree(vals))
	if derr != nil {
		return nil, derr
	}
	return tree, nil
}

// EncodeOutput implements protocol.Codec:
//
//	<OpResponse xmlns="…"><OpResult>…</OpResult>
//	<ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></OpResponse>
//
// The result element is left out when the operation has no output.
func (Codec) EncodeOutput(w http.ResponseWriter, m *awsmodel.Model, op *awsmodel.Operation, out map[string]any, requestID string) {
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	resp := op.Name + "Response"
	b = appendRootOpen(b, resp, m)
	if op.Output != nil {
		result := op.Output.ResultWrapper
		if result == "" {
			result = op.Name + "Result"
		}
		b = openTag(b, result)
		if out != nil {
			b = appendMembers(b, op.Output.Shape, out)
		}
		b = closeTag(b, result)
	}
	b = append(b, "<ResponseMetadata><RequestId>"...)
	b = appendText(b, requestID)
	b = append(b, "</RequestId></ResponseMetadata>"...)
	b = closeTag(b, resp)
	*bp = b
	write(w, http.StatusOK, requestID, b)
}

// EncodeError implements protocol.Codec:
//
//	<ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>…</Code>
//	<Message>…</Message>…fields…</Error><RequestId>…</RequestId></ErrorResponse>
//
// The code is e.Code, which for awsQuery is the model's error.code
// (NoSuchEntity, not NoSuchEntityException); the SDKs match it against
// that.
func (Codec) EncodeError(w http.ResponseWriter, m *awsmodel.Model, e *protocol.APIError, requestID string) {
	code := e.Code
	if code == "" {
		code = e.QueryCode()
	}
	bp := getBuf()
	defer putBuf(bp)
	b := appendRootOpen(*bp, "ErrorResponse", m)
	b = append(b, "<Error><Type>"...)
	b = append(b, e.Fault()...)
	b = append(b, "</Type><Code>"...)
	b = appendText(b, code)
	b = append(b, "</Code><Message>"...)
	b = appendText(b, e.Message)
	b = append(b, "</Message>"...)
	msgName := e.MessageMember()
	for _, k := range sortedKeys(e.Fields) {
		v := e.Fields[k]
		if v == nil || k == msgName || k == "Message" || k == "Type" || k == "Code" {
			continue
		}
		var ref *awsmodel.Ref
		if e.Shape != nil {
			ref = e.Shape.Members[k]
		}
		if ref == nil {
			b = appendAny(b, k, v)
			continue
		}
		b = appendElem(b, ref, elemName(k, ref), v)
	}
	b = append(b, "</Error><RequestId>"...)
	b = appendText(b, requestID)
	b = append(b, "</RequestId></ErrorResponse>"...)
	*bp = b
	write(w, e.HTTPStatus(), requestID, b)
}

func appendRootOpen(b []byte, name string, m *awsmodel.Model) []byte {
	b = append(b, '<')
	b = append(b, name...)
	if m != nil && m.Metadata.XMLNamespace != "" {
		b = append(b, ` xmlns="`...)
		b = appendText(b, m.Metadata.XMLNamespace)
		b = append(b, '"')
	}
	return append(b, '>')
}

func write(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
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
