package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// regEnv is a running Wharf with an ECR token for its root key.
type regEnv struct {
	*wharftest.Env
	host     string
	password string
	auth     authn.Authenticator
	ecr      *awsecr.Client
}

func startRegistry(t *testing.T, mutate ...func(*server.Config)) *regEnv {
	t.Helper()
	env := wharftest.Start(t, mutate...)
	return registryFor(t, env)
}

func registryFor(t *testing.T, env *wharftest.Env) *regEnv {
	t.Helper()
	e := &regEnv{Env: env, host: env.Info.Addr, ecr: awsecr.NewFromConfig(env.Root())}
	e.password = ecrPassword(t, e.ecr)
	e.auth = &authn.Basic{Username: "AWS", Password: e.password}
	return e
}

// ecrPassword gets a token the way `aws ecr get-login-password` does.
func ecrPassword(t *testing.T, c *awsecr.Client) string {
	t.Helper()
	out, err := c.GetAuthorizationToken(context.Background(), &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		t.Fatalf("token decodes to %q, want AWS:password", raw)
	}
	return pass
}

func (e *regEnv) createRepo(t *testing.T, name string) {
	t.Helper()
	if _, err := e.ecr.CreateRepository(context.Background(), &awsecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
		t.Fatalf("CreateRepository %s: %v", name, err)
	}
}

func (e *regEnv) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(e.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *regEnv) opts() []remote.Option { return []remote.Option{remote.WithAuth(e.auth)} }

// do sends a raw request to the registry with the token.
func (e *regEnv) do(t *testing.T, method, path string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("AWS", e.password)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func wantStatus(t *testing.T, resp *http.Response, status int) []byte {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, b)
	}
	return b
}

func wantError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	b := wantStatus(t, resp, status)
	if resp.Request.Method == http.MethodHead {
		return
	}
	var eb struct {
		Errors []struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("error body %q is not the spec's format: %v", b, err)
	}
	if eb.Errors[0].Code != code {
		t.Fatalf("error code %s (%s), want %s", eb.Errors[0].Code, eb.Errors[0].Message, code)
	}
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func sha256Digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func sha512Digest(b []byte) string {
	h := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(h[:])
}

func TestRegistryPushPullImage(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "team/app")
	img, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref := e.ref(t, "team/app:v1")
	if err := remote.Write(ref, img, e.opts()...); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Image(ref, e.opts()...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("pulled image invalid: %v", err)
	}
	want, _ := img.Digest()
	have, _ := got.Digest()
	if want != have {
		t.Fatalf("pulled %s, pushed %s", have, want)
	}
	// Docker schema 2 too.
	dimg := mutate.MediaType(img, types.DockerManifestSchema2)
	dimg = mutate.ConfigMediaType(dimg, types.DockerConfigJSON)
	if err := remote.Write(e.ref(t, "team/app:docker"), dimg, e.opts()...); err != nil {
		t.Fatalf("push docker schema2: %v", err)
	}
	desc, err := remote.Head(e.ref(t, "team/app:docker"), e.opts()...)
	if err != nil || desc.MediaType != types.DockerManifestSchema2 {
		t.Fatalf("HEAD docker manifest: %+v %v", desc, err)
	}
	tags, err := remote.List(ref.Context(), e.opts()...)
	if err != nil || strings.Join(tags, ",") != "docker,v1" {
		t.Fatalf("tags %v %v", tags, err)
	}
}

func TestRegistryIndexMultiArch(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "multi")
	idx, err := random.Index(4<<10, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// A nested index: an index whose child is an index.
	img, _ := random.Image(1024, 1)
	outer := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: idx, Descriptor: v1.Descriptor{MediaType: types.OCIImageIndex}},
		mutate.IndexAddendum{Add: img})
	ref := e.ref(t, "multi:latest")
	if err := remote.WriteIndex(ref, outer, e.opts()...); err != nil {
		t.Fatalf("push index: %v", err)
	}
	got, err := remote.Index(ref, e.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("pulled index invalid: %v", err)
	}
	want, _ := outer.Digest()
	if have, _ := got.Digest(); have != want {
		t.Fatalf("pulled %s, pushed %s", have, want)
	}
}

func TestRegistryCrossRepoMount(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "src")
	e.createRepo(t, "dst")
	e.createRepo(t, "other")
	img, _ := random.Image(32<<10, 2)
	if err := remote.Write(e.ref(t, "src:1"), img, e.opts()...); err != nil {
		t.Fatal(err)
	}
	// ggcr mounts layers of an image it pulled from the same registry.
	pulled, err := remote.Image(e.ref(t, "src:1"), e.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(e.ref(t, "dst:1"), pulled, e.opts()...); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()

	// Raw: mount with from → 201; without from where the blob exists → 201;
	// a blob nobody has → 202, a new session.
	resp := e.do(t, "POST", "/v2/other/blobs/uploads/?mount="+ld.String()+"&from=src", nil)
	wantStatus(t, resp, 201)
	if resp.Header.Get("Docker-Content-Digest") != ld.String() {
		t.Fatalf("mount digest header %q", resp.Header.Get("Docker-Content-Digest"))
	}
	wantStatus(t, e.do(t, "HEAD", "/v2/other/blobs/"+ld.String(), nil), 200)
	l1, _ := layers[1].Digest()
	wantStatus(t, e.do(t, "POST", "/v2/other/blobs/uploads/?mount="+l1.String(), nil), 201)
	unknown := sha256Digest([]byte("nobody has this"))
	resp = e.do(t, "POST", "/v2/other/blobs/uploads/?mount="+unknown+"&from=src", nil)
	wantStatus(t, resp, 202)
	if !strings.Contains(resp.Header.Get("Location"), "/v2/other/blobs/uploads/") {
		t.Fatalf("fallback Location %q", resp.Header.Get("Location"))
	}
}

func TestRegistryReferrers(t *testing.T) {
	e := startRegistry(t)
	e.createRepo(t, "signed")
	img, _ := random.Image(1024, 1)
	if err := remote.Write(e.ref(t, "signed:1"), img, e.opts()...); err != nil {
		t.Fatal(err)
	}
	subj, _ := img.Digest()
	sz, _ := img.Size()
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: subj, Size: sz}
	for _, at := range []string{"application/vnd.example.sig", "application/vnd.example.sbom"} {
		art, _ := random.Image(256, 1)
		art = mutate.MediaType(art, types.OCIManifestSchema1)
		art = mutate.ConfigMediaType(art, types.MediaType(at))
		withSubj := mutate.Subject(art, subject).(v1.Image)
		d, _ := withSubj.Digest()
		ref := e.ref(t, "signed@"+d.String())
		if err := remote.Write(ref, withSubj, e.opts()...); err != nil {
			t.Fatalf("push referrer: %v", err)
		}
	}
	idx, err := remote.Referrers(e.ref(t, "signed@"+subj.String()).(name.Digest), e.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 2 {
		t.Fatalf("%d referrers, want 2", len(m.Manifests))
	}
	resp := e.do(t, "GET", "/v2/signed/referrers/"+subj.String()+"?artifactType=application/vnd.example.sbom", nil)
	b := wantStatus(t, resp, 200)
	if resp.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("OCI-Filters-Applied %q", resp.Header.Get("OCI-Filters-Applied"))
	}
	var filtered v1.IndexManifest
	json.Unmarshal(b, &filtered)
	if len(filtered.Manifests) != 1 || filtered.Manifests[0].ArtifactType != "application/vnd.example.sbom" {
		t.Fatalf("filtered referrers %s", b)
	}
	// A referrer pushed raw answers with OCI-Subject.
	cfg := []byte("{}")
	e.do(t, "POST", "/v2/signed/blobs/uploads/?digest="+sha256Digest(cfg), cfg).Body.Close()
	man := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-raw","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d}}`, sha256Digest(cfg), subj, sz)
	resp = e.do(t, "PUT", "/v2/signed/manifests/"+sha256Digest([]byte(man)), []byte(man), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	wantStatus(t, resp, 201)
	if resp.Header.Get("OCI-Subject") != subj.String() {
		t.Fatalf("OCI-Subject %q", resp.Header.Get("OCI-Subject"))
	}
}
