package integration

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wharfhq/wharf/internal/server"
)

// TestRegistryPullTime: DescribeImages reports lastRecordedPullTime from
// manifest GETs (by tag or digest) and BatchGetImage, not from pushes or
// HEADs, rewritten at most once an hour (registry.PullTimeInterval).
//
// The server's clock is frozen at base and moved by hand for /v2/ pulls
// (registry tokens are valid 12 hours). SigV4 checks the request time
// against that clock (5 minutes' skew), so every ECR API call runs with
// the clock back at base.
func TestRegistryPullTime(t *testing.T) {
	const interval = time.Hour // registry.PullTimeInterval
	base := time.Now().UTC().Truncate(time.Second)
	var offset atomic.Int64 // past base
	e := startRegistry(t, func(c *server.Config) {
		c.Now = func() time.Time { return base.Add(time.Duration(offset.Load())) }
	})
	at := func(d time.Duration) { offset.Store(int64(d)) }
	ctx := context.Background()
	repo := aws.String("pulls")
	e.createRepo(t, "pulls")

	// pulledAt is the image's lastRecordedPullTime (nil: none).
	pulledAt := func(t *testing.T, tag string) *time.Time {
		t.Helper()
		at(0)
		out, err := e.ecr.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: repo,
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}}})
		if err != nil || len(out.ImageDetails) != 1 {
			t.Fatalf("DescribeImages %s: %+v %v", tag, out, err)
		}
		return out.ImageDetails[0].LastRecordedPullTime
	}
	want := func(t *testing.T, tag string, w time.Time) {
		t.Helper()
		if got := pulledAt(t, tag); got == nil || !got.Equal(w) {
			t.Fatalf("%s: lastRecordedPullTime %v, want %v", tag, got, w)
		}
	}
	pull := func(t *testing.T, ref string) {
		t.Helper()
		if _, err := remote.Image(e.ref(t, ref), e.opts()...); err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
	}

	img, _ := random.Image(1024, 1)
	if err := remote.Write(e.ref(t, "pulls:v1"), img, e.opts()...); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	if got := pulledAt(t, "v1"); got != nil {
		t.Fatalf("after push: lastRecordedPullTime %v, want none", got)
	}

	// A HEAD is not a pull.
	at(time.Minute)
	if _, err := remote.Head(e.ref(t, "pulls:v1"), e.opts()...); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do(t, "HEAD", "/v2/pulls/manifests/"+dg.String(), nil), 200)
	if got := pulledAt(t, "v1"); got != nil {
		t.Fatalf("after HEAD: lastRecordedPullTime %v, want none", got)
	}

	// A GET by tag is; within the interval further pulls write nothing.
	first := base.Add(2 * time.Minute)
	at(2 * time.Minute)
	pull(t, "pulls:v1")
	want(t, "v1", first)
	at(2*time.Minute + interval - time.Second)
	pull(t, "pulls@"+dg.String())
	pull(t, "pulls:v1")
	want(t, "v1", first)

	// Once the recorded time is an interval old, a pull (by digest) records.
	second := first.Add(interval)
	at(2*time.Minute + interval)
	pull(t, "pulls@"+dg.String())
	want(t, "v1", second)

	// A re-push keeps it.
	at(0)
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	wantStatus(t, e.do(t, "PUT", "/v2/pulls/manifests/v1", raw, "Content-Type", string(mt)), 201)
	want(t, "v1", second)

	// BatchGetImage is a pull. (At base, before the first image's recorded
	// time, it leaves that one alone: the time never moves backwards.)
	img2, _ := random.Image(1024, 1)
	if err := remote.Write(e.ref(t, "pulls:v2"), img2, e.opts()...); err != nil {
		t.Fatal(err)
	}
	if got := pulledAt(t, "v2"); got != nil {
		t.Fatalf("v2 after push: lastRecordedPullTime %v, want none", got)
	}
	bg, err := e.ecr.BatchGetImage(ctx, &awsecr.BatchGetImageInput{RepositoryName: repo,
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v2")}, {ImageTag: aws.String("v1")}}})
	if err != nil || len(bg.Images) != 2 {
		t.Fatalf("BatchGetImage: %+v %v", bg, err)
	}
	want(t, "v2", base)
	want(t, "v1", second)

	// A manifest that is not there records nothing (and fails as before).
	at(0)
	wantError(t, e.do(t, "GET", "/v2/pulls/manifests/nope", nil), 404, "MANIFEST_UNKNOWN")
}
