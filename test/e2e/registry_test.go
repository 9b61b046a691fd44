package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const busybox = "/bin/busybox" // Debian's busybox-static, installed by scripts/test

// docker runs the docker CLI with its own config dir (so docker login
// stays inside the test).
func (w *wharf) docker(dockerConfig string, stdin string, args ...string) result {
	w.t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("docker: %v", err)
	}
	return r
}

func (w *wharf) mustDocker(cfg, stdin string, args ...string) string {
	w.t.Helper()
	r := w.docker(cfg, stdin, args...)
	if r.code != 0 {
		w.t.Fatalf("docker %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// buildImage builds a busybox image FROM scratch that prints msg.
func (w *wharf) buildImage(cfg, tag, msg string) {
	w.t.Helper()
	if _, err := os.Stat(busybox); err != nil {
		w.t.Fatalf("%s is missing: run scripts/test, which installs busybox-static", busybox)
	}
	dir := w.t.TempDir()
	data, err := os.ReadFile(busybox)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), data, 0o755); err != nil {
		w.t.Fatal(err)
	}
	df := "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"echo\", \"" + msg + "\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.mustDocker(cfg, "", "build", "-q", "-t", tag, dir)
}

func TestDockerPushPullWithECRLogin(t *testing.T) {
	w := startWharf(t)
	env := w.env()
	dockerCfg := t.TempDir()

	var repo struct {
		Repository struct{ RepositoryUri string }
	}
	w.mustAWS(env, &repo, "ecr", "create-repository", "--repository-name", "e2e/app")
	uri := repo.Repository.RepositoryUri
	if uri != w.addr+"/e2e/app" {
		t.Fatalf("repositoryUri = %q, want %q", uri, w.addr+"/e2e/app")
	}

	// aws ecr get-login-password | docker login --username AWS --password-stdin HOST
	pw := w.aws(env, "ecr", "get-login-password")
	if pw.code != 0 {
		t.Fatalf("get-login-password: %s", pw.stderr)
	}
	password := strings.TrimSpace(pw.stdout)
	w.mustDocker(dockerCfg, password, "login", "--username", "AWS", "--password-stdin", w.addr)

	tag := uri + ":v1"
	w.buildImage(dockerCfg, tag, "hello from wharf")
	t.Cleanup(func() { w.docker(dockerCfg, "", "rmi", "-f", tag) })
	w.mustDocker(dockerCfg, "", "push", tag)

	var imgs struct {
		ImageDetails []struct {
			ImageDigest string
			ImageTags   []string
		}
	}
	w.mustAWS(env, &imgs, "ecr", "describe-images", "--repository-name", "e2e/app")
	if len(imgs.ImageDetails) != 1 || len(imgs.ImageDetails[0].ImageTags) != 1 || imgs.ImageDetails[0].ImageTags[0] != "v1" {
		t.Fatalf("describe-images after docker push: %+v", imgs)
	}
	digest := imgs.ImageDetails[0].ImageDigest
	repoDigests := w.mustDocker(dockerCfg, "", "inspect", "--format", "{{json .RepoDigests}}", tag)
	if !strings.Contains(repoDigests, digest) {
		t.Fatalf("docker's digest %s does not match ECR's %s", repoDigests, digest)
	}

	// Pull it back from the registry and run it.
	w.mustDocker(dockerCfg, "", "rmi", "-f", tag)
	w.mustDocker(dockerCfg, "", "pull", tag)
	out := w.mustDocker(dockerCfg, "", "run", "--rm", tag)
	if strings.TrimSpace(out) != "hello from wharf" {
		t.Fatalf("docker run printed %q", out)
	}

	// skopeo copies between repositories with the same token.
	w.mustAWS(env, nil, "ecr", "create-repository", "--repository-name", "e2e/copy")
	creds := "AWS:" + password
	cp := exec.Command("skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
		"--src-creds", creds, "--dest-creds", creds, "docker://"+tag, "docker://"+w.addr+"/e2e/copy:v1")
	if b, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, b)
	}
	var copied struct {
		ImageIds []struct{ ImageDigest, ImageTag string }
	}
	w.mustAWS(env, &copied, "ecr", "list-images", "--repository-name", "e2e/copy")
	if len(copied.ImageIds) != 1 || copied.ImageIds[0].ImageDigest != digest {
		t.Fatalf("list-images after skopeo copy: %+v (want digest %s)", copied, digest)
	}

	// fsck, beside the live server, re-hashes everything and finds it whole.
	fsck := exec.Command(binary, "registry", "fsck", "--data-dir", w.dataDir, "--verify")
	if b, err := fsck.CombinedOutput(); err != nil || !strings.Contains(string(b), "2 repositories") || !strings.Contains(string(b), "no problems found") {
		t.Fatalf("wharf registry fsck: %v\n%s", err, b)
	}

	// Without login the registry asks for credentials.
	other := t.TempDir()
	r := w.docker(other, "", "pull", w.addr+"/e2e/copy:v1")
	if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "no basic auth credentials") && !strings.Contains(strings.ToLower(r.stderr), "unauthorized") {
		t.Fatalf("anonymous pull of a private repository: exit %d\n%s", r.code, r.stderr)
	}
}

func TestDockerPushRefusesMovingImmutableTag(t *testing.T) {
	w := startWharf(t)
	env := w.env()
	dockerCfg := t.TempDir()
	var repo struct {
		Repository struct{ RepositoryUri string }
	}
	w.mustAWS(env, &repo, "ecr", "create-repository", "--repository-name", "frozen", "--image-tag-mutability", "IMMUTABLE")
	pw := w.aws(env, "ecr", "get-login-password")
	w.mustDocker(dockerCfg, strings.TrimSpace(pw.stdout), "login", "--username", "AWS", "--password-stdin", w.addr)

	tag := repo.Repository.RepositoryUri + ":release"
	t.Cleanup(func() { w.docker(dockerCfg, "", "rmi", "-f", tag) })
	w.buildImage(dockerCfg, tag, "first")
	w.mustDocker(dockerCfg, "", "push", tag)
	w.buildImage(dockerCfg, tag, "second")
	r := w.docker(dockerCfg, "", "push", tag)
	if r.code == 0 {
		t.Fatalf("pushing a different image to an immutable tag succeeded:\n%s", r.stdout)
	}
	if !strings.Contains(strings.ToLower(r.stdout+r.stderr), "tag invalid") {
		t.Fatalf("docker push should report the TAG_INVALID error, got:\n%s%s", r.stdout, r.stderr)
	}
	// ECR's API says the same through PutImage.
	var img struct {
		Images []struct{ ImageManifest string }
	}
	w.mustAWS(env, &img, "ecr", "batch-get-image", "--repository-name", "frozen", "--image-ids", "imageTag=release")
	if len(img.Images) != 1 {
		t.Fatalf("batch-get-image: %+v", img)
	}
	var manifest map[string]any
	if err := json.Unmarshal([]byte(img.Images[0].ImageManifest), &manifest); err != nil {
		t.Fatal(err)
	}
	// Re-tag the same tag with a changed manifest through the ECR API.
	manifest["annotations"] = map[string]any{"changed": "yes"}
	changed, _ := json.Marshal(manifest)
	w.awsFails(env, "ImageTagAlreadyExistsException", "ecr", "put-image", "--repository-name", "frozen", "--image-tag", "release", "--image-manifest", string(changed))
}
