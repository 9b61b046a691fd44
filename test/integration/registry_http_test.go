package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// startUpload opens an upload session and returns its Location.
func (e *regEnv) startUpload(t *testing.T, repo string) string {
	t.Helper()
	resp := e.do(t, "POST", "/v2/"+repo+"/blobs/uploads/", nil)
	wantStatus(t, resp, 202)
	loc := resp.Header.Get("Location")
	if loc == "" || resp.Header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("upload start headers %v", resp.Header)
	}
	return loc
}

func withQuery(loc, q string) string {
	if strings.Contains(loc, "?") {
		return loc + "&" + q
	}
	return loc + "?" + q
}

func TestRegistryChunkedUpload(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "chunks")
	data := randBytes(t, 300_000)
	loc := e.startUpload(t, "chunks")
	cr := func(a, b int) string { return fmt.Sprintf("%d-%d", a, b) }

	resp := e.do(t, "PATCH", loc, data[:100_000], "Content-Type", "application/octet-stream", "Content-Range", cr(0, 99_999))
	wantStatus(t, resp, 202)
	if resp.Header.Get("Range") != "0-99999" {
		t.Fatalf("Range after chunk 1: %q", resp.Header.Get("Range"))
	}
	loc = resp.Header.Get("Location")

	// Out of order: a chunk that does not start where the upload ends.
	resp = e.do(t, "PATCH", loc, data[150_000:200_000], "Content-Range", cr(150_000, 199_999))
	wantStatus(t, resp, http.StatusRequestedRangeNotSatisfiable)
	if resp.Header.Get("Range") != "0-99999" {
		t.Fatalf("416 Range %q", resp.Header.Get("Range"))
	}
	// A repeated chunk is out of order too.
	wantStatus(t, e.do(t, "PATCH", loc, data[:100_000], "Content-Range", cr(0, 99_999)), 416)

	resp = e.do(t, "PATCH", loc, data[100_000:200_000], "Content-Range", cr(100_000, 199_999))
	wantStatus(t, resp, 202)
	// Status.
	resp = e.do(t, "GET", loc, nil)
	wantStatus(t, resp, 204)
	if resp.Header.Get("Range") != "0-199999" {
		t.Fatalf("status Range %q", resp.Header.Get("Range"))
	}
	// Streamed chunk (no Content-Range), then the final PUT with the last bytes.
	wantStatus(t, e.do(t, "PATCH", loc, data[200_000:250_000]), 202)
	d := sha256Digest(data)
	resp = e.do(t, "PUT", withQuery(loc, "digest="+d), data[250_000:], "Content-Range", cr(250_000, 299_999))
	wantStatus(t, resp, 201)
	if resp.Header.Get("Location") != "/v2/chunks/blobs/"+d || resp.Header.Get("Docker-Content-Digest") != d {
		t.Fatalf("commit headers %v", resp.Header)
	}
	got := wantStatus(t, e.do(t, "GET", "/v2/chunks/blobs/"+d, nil), 200)
	if string(got) != string(data) {
		t.Fatal("blob content differs")
	}
	// The finished session is gone.
	wantError(t, e.do(t, "GET", loc, nil), 404, "BLOB_UPLOAD_UNKNOWN")
}

func TestRegistryUploadDigestMismatchAndCancel(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "up")
	loc := e.startUpload(t, "up")
	wantError(t, e.do(t, "PUT", withQuery(loc, "digest="+sha256Digest([]byte("other"))), []byte("content")), 400, "DIGEST_INVALID")
	wantError(t, e.do(t, "PUT", loc, []byte("x")), 400, "DIGEST_INVALID") // no digest
	wantStatus(t, e.do(t, "DELETE", loc, nil), 204)
	wantError(t, e.do(t, "GET", loc, nil), 404, "BLOB_UPLOAD_UNKNOWN")
	wantError(t, e.do(t, "DELETE", loc, nil), 404, "BLOB_UPLOAD_UNKNOWN")
	wantError(t, e.do(t, "PATCH", "/v2/up/blobs/uploads/0123456789abcdef0123456789abcdef", []byte("x")), 404, "BLOB_UPLOAD_UNKNOWN")
	// A session of one repository is unknown in another.
	e.createRepo(t, "up2")
	loc = e.startUpload(t, "up")
	wantError(t, e.do(t, "GET", strings.Replace(loc, "/v2/up/", "/v2/up2/", 1), nil), 404, "BLOB_UPLOAD_UNKNOWN")
}

func TestRegistryMonolithicSHA512AndRange(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "mono")
	data := randBytes(t, 10_000)
	d := sha512Digest(data)
	// Single POST.
	resp := e.do(t, "POST", "/v2/mono/blobs/uploads/?digest="+d, data, "Content-Type", "application/octet-stream")
	wantStatus(t, resp, 201)
	// POST then PUT (monolithic), sha512.
	data2 := randBytes(t, 5000)
	loc := e.startUpload(t, "mono")
	d2 := sha512Digest(data2)
	wantStatus(t, e.do(t, "PUT", withQuery(loc, "digest="+d2), data2), 201)

	resp = e.do(t, "HEAD", "/v2/mono/blobs/"+d, nil)
	wantStatus(t, resp, 200)
	if resp.Header.Get("Content-Length") != "10000" || resp.Header.Get("Docker-Content-Digest") != d {
		t.Fatalf("HEAD headers %v", resp.Header)
	}
	resp = e.do(t, "GET", "/v2/mono/blobs/"+d, nil, "Range", "bytes=100-199")
	got := wantStatus(t, resp, 206)
	if string(got) != string(data[100:200]) || resp.Header.Get("Content-Range") != "bytes 100-199/10000" {
		t.Fatalf("range: %d bytes, Content-Range %q", len(got), resp.Header.Get("Content-Range"))
	}
	wantStatus(t, e.do(t, "GET", "/v2/mono/blobs/"+d, nil, "Range", "bytes=20000-"), 416)
	got = wantStatus(t, e.do(t, "GET", "/v2/mono/blobs/"+d2, nil), 200)
	if string(got) != string(data2) {
		t.Fatal("sha512 blob differs")
	}
	// A manifest addressed by sha512.
	man := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":10000},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":5000}]}`, d, d2)
	md := sha512Digest([]byte(man))
	resp = e.do(t, "PUT", "/v2/mono/manifests/"+md, []byte(man), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	wantStatus(t, resp, 201)
	if resp.Header.Get("Docker-Content-Digest") != md {
		t.Fatalf("manifest digest %q", resp.Header.Get("Docker-Content-Digest"))
	}
	if got := wantStatus(t, e.do(t, "GET", "/v2/mono/manifests/"+md, nil), 200); string(got) != man {
		t.Fatal("manifest bytes differ")
	}
	// Blob delete.
	wantStatus(t, e.do(t, "DELETE", "/v2/mono/blobs/"+d2, nil), 202)
	wantError(t, e.do(t, "GET", "/v2/mono/blobs/"+d2, nil), 404, "BLOB_UNKNOWN")
	wantError(t, e.do(t, "DELETE", "/v2/mono/blobs/"+d2, nil), 404, "BLOB_UNKNOWN")
	wantError(t, e.do(t, "GET", "/v2/mono/blobs/sha256:nothex", nil), 400, "DIGEST_INVALID")
}

func pushBlob(t *testing.T, e *regEnv, repo string, data []byte) string {
	t.Helper()
	d := sha256Digest(data)
	wantStatus(t, e.do(t, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, data), 201)
	return d
}

func TestRegistryManifestsAndTags(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "mm")
	cfg := pushBlob(t, e, "mm", []byte(`{"architecture":"amd64","os":"linux"}`))
	layer := pushBlob(t, e, "mm", randBytes(t, 100))
	// Custom fields and formatting are kept byte for byte.
	man := fmt.Sprintf("{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n  \"config\": {\"mediaType\": \"application/vnd.oci.image.config.v1+json\", \"digest\": \"%s\", \"size\": 37},\n  \"layers\": [{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", \"digest\": \"%s\", \"size\": 100}],\n  \"x-custom\": {\"keep\": [1, 2.50, \"me\"]}\n}", cfg, layer)
	md := sha256Digest([]byte(man))
	ct := "application/vnd.oci.image.manifest.v1+json"

	resp := e.do(t, "PUT", "/v2/mm/manifests/"+md+"?tag=a&tag=b", []byte(man), "Content-Type", ct)
	wantStatus(t, resp, 201)
	for _, tag := range []string{"a", "b", "c", "d", "e"} {
		wantStatus(t, e.do(t, "PUT", "/v2/mm/manifests/"+tag, []byte(man), "Content-Type", ct), 201)
	}
	resp = e.do(t, "GET", "/v2/mm/manifests/a", nil, "Accept", ct)
	if got := wantStatus(t, resp, 200); string(got) != man || resp.Header.Get("Content-Type") != ct || resp.Header.Get("Docker-Content-Digest") != md {
		t.Fatalf("GET by tag: %q %v", got, resp.Header)
	}
	resp = e.do(t, "HEAD", "/v2/mm/manifests/"+md, nil)
	wantStatus(t, resp, 200)
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(man)) {
		t.Fatalf("HEAD Content-Length %q", resp.Header.Get("Content-Length"))
	}

	// Tag listing with n/last pagination.
	resp = e.do(t, "GET", "/v2/mm/tags/list?n=2", nil)
	var tl struct {
		Name string
		Tags []string
	}
	json.Unmarshal(wantStatus(t, resp, 200), &tl)
	if strings.Join(tl.Tags, ",") != "a,b" || !strings.Contains(resp.Header.Get("Link"), "last=b") {
		t.Fatalf("page 1 %v, Link %q", tl.Tags, resp.Header.Get("Link"))
	}
	json.Unmarshal(wantStatus(t, e.do(t, "GET", "/v2/mm/tags/list?n=2&last=b", nil), 200), &tl)
	if strings.Join(tl.Tags, ",") != "c,d" {
		t.Fatalf("page 2 %v", tl.Tags)
	}
	resp = e.do(t, "GET", "/v2/mm/tags/list?last=d", nil)
	json.Unmarshal(wantStatus(t, resp, 200), &tl)
	if strings.Join(tl.Tags, ",") != "e" || resp.Header.Get("Link") != "" {
		t.Fatalf("last page %v, Link %q", tl.Tags, resp.Header.Get("Link"))
	}

	// Errors.
	wantError(t, e.do(t, "GET", "/v2/mm/manifests/nope", nil), 404, "MANIFEST_UNKNOWN")
	wantError(t, e.do(t, "PUT", "/v2/mm/manifests/"+sha256Digest([]byte("x")), []byte(man), "Content-Type", ct), 400, "DIGEST_INVALID")
	wantError(t, e.do(t, "PUT", "/v2/mm/manifests/bad:tag!", []byte(man), "Content-Type", ct), 400, "DIGEST_INVALID")
	wantError(t, e.do(t, "PUT", "/v2/mm/manifests/x?tag=-bad", []byte(man), "Content-Type", ct), 400, "TAG_INVALID")
	wantError(t, e.do(t, "PUT", "/v2/mm/manifests/x", []byte("{not json"), "Content-Type", ct), 400, "MANIFEST_INVALID")
	missing := strings.Replace(man, layer, sha256Digest([]byte("missing")), 1)
	wantError(t, e.do(t, "PUT", "/v2/mm/manifests/x", []byte(missing), "Content-Type", ct), 400, "MANIFEST_BLOB_UNKNOWN")
	wantError(t, e.do(t, "GET", "/v2/nosuchrepo/manifests/latest", nil), 404, "NAME_UNKNOWN")
	wantError(t, e.do(t, "POST", "/v2/nosuchrepo/blobs/uploads/", nil), 404, "NAME_UNKNOWN")
	wantError(t, e.do(t, "GET", "/v2/nosuchrepo/tags/list", nil), 404, "NAME_UNKNOWN")
	wantError(t, e.do(t, "GET", "/v2/Upper/tags/list", nil), 400, "NAME_INVALID")

	// Delete a tag, then the manifest (its other tags go with it).
	wantStatus(t, e.do(t, "DELETE", "/v2/mm/manifests/e", nil), 202)
	wantError(t, e.do(t, "GET", "/v2/mm/manifests/e", nil), 404, "MANIFEST_UNKNOWN")
	wantStatus(t, e.do(t, "DELETE", "/v2/mm/manifests/"+md, nil), 202)
	wantError(t, e.do(t, "GET", "/v2/mm/manifests/a", nil), 404, "MANIFEST_UNKNOWN")
	wantError(t, e.do(t, "DELETE", "/v2/mm/manifests/"+md, nil), 404, "MANIFEST_UNKNOWN")
	json.Unmarshal(wantStatus(t, e.do(t, "GET", "/v2/mm/tags/list", nil), 200), &tl)
	if len(tl.Tags) != 0 {
		t.Fatalf("tags after delete %v", tl.Tags)
	}
}

func TestRegistryImmutableTags(t *testing.T) {
	e := startRegistry(t)
	if _, err := e.ecr.CreateRepository(context.Background(), &awsecr.CreateRepositoryInput{
		RepositoryName: aws.String("frozen"), ImageTagMutability: "IMMUTABLE"}); err != nil {
		t.Fatal(err)
	}
	cfg := pushBlob(t, e, "frozen", []byte("{}"))
	mk := func(ann string) string {
		return fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[],"annotations":{"v":"%s"}}`, cfg, ann)
	}
	ct := "application/vnd.oci.image.manifest.v1+json"
	wantStatus(t, e.do(t, "PUT", "/v2/frozen/manifests/v1", []byte(mk("1")), "Content-Type", ct), 201)
	wantStatus(t, e.do(t, "PUT", "/v2/frozen/manifests/v1", []byte(mk("1")), "Content-Type", ct), 201) // same manifest: fine
	wantError(t, e.do(t, "PUT", "/v2/frozen/manifests/v1", []byte(mk("2")), "Content-Type", ct), 400, "TAG_INVALID")
}

func TestRegistryAuth(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "private")
	// No credentials: 401 with a Basic challenge.
	resp, err := http.Get(e.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
		t.Fatalf("anonymous /v2/: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	wantStatus(t, e.do(t, "GET", "/v2/", nil), 200)
	for _, pass := range []string{"garbage", e.password[:len(e.password)-2] + "AA", strings.Replace(e.password, "wharf1.", "wharf1.x", 1)} {
		req, _ := http.NewRequest("GET", e.URL+"/v2/private/tags/list", nil)
		req.SetBasicAuth("AWS", pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, resp, 401, "UNAUTHORIZED")
	}

	// An IAM user allowed to pull but not push.
	ctx := context.Background()
	iamc := awsiam.NewFromConfig(e.Root())
	if _, err := iamc.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("puller")}); err != nil {
		t.Fatal(err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},
	  {"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:ListImages"],"Resource":"arn:aws:ecr:us-east-1:*:repository/private"}]}`
	if _, err := iamc.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("puller"), PolicyName: aws.String("pull"), PolicyDocument: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	k, err := iamc.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("puller")})
	if err != nil {
		t.Fatal(err)
	}
	puller := &regEnv{Env: e.Env, host: e.host}
	puller.password = ecrPassword(t, awsecr.NewFromConfig(e.Config(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
	wantStatus(t, puller.do(t, "GET", "/v2/private/tags/list", nil), 200)
	wantError(t, puller.do(t, "POST", "/v2/private/blobs/uploads/", nil), 403, "DENIED")
	e.createRepo(t, "elsewhere")
	wantError(t, puller.do(t, "GET", "/v2/elsewhere/tags/list", nil), 403, "DENIED")

	// Deactivating the key revokes its tokens.
	if _, err := iamc.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("puller"), AccessKeyId: k.AccessKey.AccessKeyId, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	wantError(t, puller.do(t, "GET", "/v2/private/tags/list", nil), 401, "UNAUTHORIZED")
}

func TestRegistryTokenExpires(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	var skew atomic.Int64 // seconds past now
	e := startRegistry(t, func(c *server.Config) {
		c.Now = func() time.Time { return now.Add(time.Duration(skew.Load()) * time.Second) }
	})
	out, err := e.ecr.GetAuthorizationToken(context.Background(), &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToTime(out.AuthorizationData[0].ExpiresAt); !got.Equal(now.Add(12 * time.Hour)) {
		t.Fatalf("expiresAt %v, want %v", got, now.Add(12*time.Hour))
	}
	if ep := aws.ToString(out.AuthorizationData[0].ProxyEndpoint); ep != "http://"+e.host {
		t.Fatalf("proxyEndpoint %q", ep)
	}
	wantStatus(t, e.do(t, "GET", "/v2/", nil), 200)
	skew.Store(12*3600 + 1)
	wantError(t, e.do(t, "GET", "/v2/", nil), 401, "UNAUTHORIZED")
}

// An upload session survives a server restart and resumes where it was.
func TestRegistryUploadSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	env := wharftest.Start(t, func(c *server.Config) { c.DataDir = dir })
	e := registryFor(t, env)
	e.createRepo(t, "resume")
	data := randBytes(t, 200_000)
	loc := e.startUpload(t, "resume")
	wantStatus(t, e.do(t, "PATCH", loc, data[:120_000], "Content-Range", "0-119999"), 202)
	if err := env.Server.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	env2 := wharftest.Start(t, func(c *server.Config) { c.DataDir = dir })
	e2 := &regEnv{Env: env2, host: env2.Info.Addr, password: e.password} // the old token still works
	resp := e2.do(t, "GET", loc, nil)
	wantStatus(t, resp, 204)
	if resp.Header.Get("Range") != "0-119999" {
		t.Fatalf("Range after restart %q", resp.Header.Get("Range"))
	}
	wantStatus(t, e2.do(t, "PATCH", loc, data[120_000:], "Content-Range", "120000-199999"), 202)
	d := sha256Digest(data)
	wantStatus(t, e2.do(t, "PUT", withQuery(loc, "digest="+d), nil), 201)
	if got := wantStatus(t, e2.do(t, "GET", "/v2/resume/blobs/"+d, nil), 200); string(got) != string(data) {
		t.Fatal("blob differs after a resumed upload")
	}
}

func TestECRRepositories(t *testing.T) {
	e := startRegistry(t)
	ctx := context.Background()
	out, err := e.ecr.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryUri) != e.host+"/team/web" || !strings.HasSuffix(aws.ToString(r.RepositoryArn), ":repository/team/web") ||
		aws.ToString(r.RegistryId) != e.Info.Account || r.ImageTagMutability != "MUTABLE" {
		t.Fatalf("repository %+v", r)
	}
	_, err = e.ecr.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
	if err == nil || !strings.Contains(err.Error(), "RepositoryAlreadyExistsException") {
		t.Fatalf("duplicate: %v", err)
	}
	_, err = e.ecr.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("Bad_Name")})
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") {
		t.Fatalf("bad name: %v", err)
	}
	for _, n := range []string{"a1", "b2", "c3"} {
		e.createRepo(t, n)
	}
	var names []string
	p := awsecr.NewDescribeRepositoriesPaginator(e.ecr, &awsecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Repositories {
			names = append(names, aws.ToString(r.RepositoryName))
		}
	}
	if strings.Join(names, ",") != "a1,b2,c3,team/web" {
		t.Fatalf("DescribeRepositories %v", names)
	}
	_, err = e.ecr.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), "RepositoryNotFoundException") {
		t.Fatalf("describe missing: %v", err)
	}
	// Not empty → refused without force.
	pushBlob(t, e, "a1", []byte("{}"))
	man := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[]}`, sha256Digest([]byte("{}")))
	wantStatus(t, e.do(t, "PUT", "/v2/a1/manifests/v1", []byte(man), "Content-Type", "application/vnd.oci.image.manifest.v1+json"), 201)
	_, err = e.ecr.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("a1")})
	if err == nil || !strings.Contains(err.Error(), "RepositoryNotEmptyException") {
		t.Fatalf("delete non-empty: %v", err)
	}
	if _, err := e.ecr.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("a1"), Force: true}); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do(t, "GET", "/v2/a1/manifests/v1", nil), 404, "NAME_UNKNOWN")
	// Recreated, it is empty.
	e.createRepo(t, "a1")
	wantError(t, e.do(t, "GET", "/v2/a1/manifests/v1", nil), 404, "MANIFEST_UNKNOWN")
	wantError(t, e.do(t, "GET", "/v2/a1/blobs/"+sha256Digest([]byte("{}")), nil), 404, "BLOB_UNKNOWN")
}

func TestRegistryCatalog(t *testing.T) {
	e := startRegistry(t)
	for _, n := range []string{"c/one", "a/two", "b/three"} {
		e.createRepo(t, n)
	}
	var c struct{ Repositories []string }
	resp := e.do(t, "GET", "/v2/_catalog?n=2", nil)
	json.Unmarshal(wantStatus(t, resp, 200), &c)
	if strings.Join(c.Repositories, ",") != "a/two,b/three" || !strings.Contains(resp.Header.Get("Link"), "last=b%2Fthree") {
		t.Fatalf("catalog page 1 %v, Link %q", c.Repositories, resp.Header.Get("Link"))
	}
	json.Unmarshal(wantStatus(t, e.do(t, "GET", "/v2/_catalog?n=2&last=b/three", nil), 200), &c)
	if strings.Join(c.Repositories, ",") != "c/one" {
		t.Fatalf("catalog page 2 %v", c.Repositories)
	}
}

// A token from temporary credentials expires with them.
func TestRegistryTokenFromSessionCredentials(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "temp")
	ctx := context.Background()
	st, err := awssts.NewFromConfig(e.Root()).GetSessionToken(ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := st.Credentials
	ecrc := awsecr.NewFromConfig(e.Config(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))
	out, err := ecrc.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	exp := aws.ToTime(out.AuthorizationData[0].ExpiresAt)
	if exp.After(aws.ToTime(c.Expiration)) || exp.Before(aws.ToTime(c.Expiration).Add(-time.Minute)) {
		t.Fatalf("token expires %v, credentials %v", exp, aws.ToTime(c.Expiration))
	}
	temp := &regEnv{Env: e.Env, host: e.host, password: ecrPassword(t, ecrc)}
	wantStatus(t, temp.do(t, "GET", "/v2/temp/tags/list", nil), 200)
}
