package protocol

import (
	"net/http"
	"strings"
)

// HTTPStatus is the status e is answered with: e.Status, else the error
// shape's, else 400 for client faults and 500 for server faults.
func (e *APIError) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Shape != nil:
		return e.Shape.HTTPStatus()
	case e.Sender:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// IsSender reports whether e is the client's fault: e.Sender, or any 4xx
// status (a 4xx is never the server's fault, whatever the caller forgot to
// set).
func (e *APIError) IsSender() bool {
	s := e.HTTPStatus()
	return e.Sender || (s >= 400 && s < 500)
}

// Fault is "Sender" or "Receiver", as awsQuery's <Type> and the
// x-amzn-query-error header spell it.
func (e *APIError) Fault() string {
	if e.IsSender() {
		return "Sender"
	}
	return "Receiver"
}

// ShapeCode is the code JSON and CBOR responses carry in __type: e.Code,
// or the error shape's name when Code is empty.
func (e *APIError) ShapeCode() string {
	if e.Code == "" && e.Shape != nil {
		return e.Shape.Name
	}
	return e.Code
}

// QueryCode is the awsQuery error code of e: the model's error.code when
// the shape is known, else e.Code. JSON and CBOR codecs of awsQueryCompatible
// services send it in the x-amzn-query-error header.
func (e *APIError) QueryCode() string {
	if e.Shape != nil {
		return e.Shape.ErrorCode()
	}
	return e.Code
}

// MessageMember is the name the error shape gives its message member
// ("message", "Message", …), or "message" when there is no shape or the
// shape has no such member.
func (e *APIError) MessageMember() string {
	if e.Shape != nil {
		if _, ok := e.Shape.Members["message"]; ok {
			return "message"
		}
		for _, name := range e.Shape.MemberNames {
			if strings.EqualFold(name, "message") {
				return name
			}
		}
	}
	return "message"
}
