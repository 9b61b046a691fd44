package agentclient

import (
	"errors"
	"net/http"
	"testing"
)

func TestDecodeError(t *testing.T) {
	for _, tc := range []struct {
		header, body string
		status       int
		code, msg    string
	}{
		{"", `{"__type":"com.amazonaws.ecs#ClientException","message":"inactive"}`, 400, "ClientException", "inactive"},
		{"InvalidParameterException:http://internal.amazon.com/", `{"Message":"bad"}`, 400, "InvalidParameterException", "bad"},
		{"", `not json`, 500, "Internal Server Error", ""},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("X-Amzn-ErrorType", tc.header)
		}
		err := decodeError(resp, []byte(tc.body))
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.msg || e.StatusCode != tc.status || !IsCode(err, tc.code) {
			t.Errorf("decodeError(%q, %q) = %#v", tc.header, tc.body, err)
		}
	}
}
