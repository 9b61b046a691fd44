package server

import (
	"strings"
	"testing"
)

func TestValidateS3Endpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"", true},
		{"http://10.0.0.5:9000", true},
		{"https://s3.example.test", true},
		{"10.0.0.5:9000", false},
		{"ftp://10.0.0.5", false},
		{"http://", false},
		{"http://[::1", false},
	} {
		c := Config{DataDir: "/var/tmp/x", S3Endpoint: tc.endpoint}
		err := c.Validate()
		if tc.ok && err != nil {
			t.Errorf("%q: %v", tc.endpoint, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "--s3-endpoint")) {
			t.Errorf("%q: got %v, want an --s3-endpoint error", tc.endpoint, err)
		}
	}
}
