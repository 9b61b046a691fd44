package sigv4_test

import (
	"context"
	"net/http"
	"testing"
)

// benchRequest is a typical signed awsJson POST as the server sees it.
func benchRequest(b *testing.B) (*http.Request, []byte) {
	body := []byte(`{"cluster":"default","services":["web","worker","scheduler"],"include":["TAGS"]}`)
	req := newRequest(b, http.MethodPost, "http://localhost:4566/", body)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.41.0 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/ecs#1.105.1")
	req.Header.Set("Amz-Sdk-Invocation-Id", "0c9e1b55-6a8c-4a39-9d83-6c2a1c4c3b51")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	signHeader(b, req, body, tempCreds, "ecs", "us-east-1", signTime)
	return overWire(b, req)
}

func BenchmarkVerify(b *testing.B) {
	r, body := benchRequest(b)
	v := verifierAt(signTime)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	r, body := benchRequest(b)
	v := verifierAt(signTime)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, r, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerifyPresigned(b *testing.B) {
	req := newRequest(b, http.MethodGet, "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
	r, body := overWire(b, presign(b, req, emptySHA256, staticCreds, "sts", "us-east-1", signTime))
	v := verifierAt(signTime)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}
