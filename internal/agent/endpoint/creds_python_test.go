package endpoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCredentialsWithBotocore fetches the credentials with botocore's own
// container provider (what boto3 and the aws CLI use), found through the
// environment as in a container. It skips without python3 and botocore.
func TestCredentialsWithBotocore(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	if err := exec.Command(py, "-c", "import botocore").Run(); err != nil {
		t.Skip("no botocore (apt-get install python3-boto3)")
	}
	s := start(t, Config{})
	id := NewID()
	s.SetCredentials(id, sampleCreds)
	dir := t.TempDir()
	cmd := exec.Command(py, "-c", `
import botocore.session
c = botocore.session.get_session().get_credentials()
print(c.method, c.access_key, c.secret_key, c.token)
`)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true"}
	for k, v := range s.CredentialsEnv(id) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, out)
	}
	want := "container-role ASIAEXAMPLE0000001 secret/key+1 session-token-1"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("botocore says %q, want %q", got, want)
	}
}
