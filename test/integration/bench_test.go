package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// BenchmarkEdgeGetCallerIdentity measures signed sts:GetCallerIdentity
// calls through the whole edge (HTTP, SigV4, query codec, audit, metrics)
// with 32 concurrent clients, each signing every request with the SDK's
// signer over keep-alive connections. Client and server share the machine.
func BenchmarkEdgeGetCallerIdentity(b *testing.B) {
	env := wharftest.Start(b)
	benchSignedCalls(b, env.URL, env.Root())
}

// BenchmarkBareHTTPBaseline is the floor: the same signing client against a
// net/http server that answers a constant GetCallerIdentity response without
// verifying, decoding or recording anything. The gap to
// BenchmarkEdgeGetCallerIdentity is the edge's own cost.
func BenchmarkBareHTTPBaseline(b *testing.B) {
	const resp = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, resp)
	}))
	defer srv.Close()
	env := wharftest.Start(b) // only for a credential to sign with
	benchSignedCalls(b, srv.URL, env.Root())
}

func benchSignedCalls(b *testing.B, url string, cfg aws.Config) {
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	const bodyHash = "ab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	signer := v4.NewSigner()
	b.SetParallelism(16) // × GOMAXPROCS (2 here) = 32 clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			if err := signer.SignHTTP(context.Background(), creds, req, bodyHash, "sts", "us-east-1", time.Now()); err != nil {
				b.Error(err)
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// BenchmarkSDKGetCallerIdentity is the same call made through the full
// aws-sdk-go-v2 STS client, for comparison: what an SDK user sees.
func BenchmarkSDKGetCallerIdentity(b *testing.B) {
	env := wharftest.Start(b)
	cfg := env.Root()
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	client := sts.NewFromConfig(cfg)
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
