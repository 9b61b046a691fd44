package integration

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/server"
)

// TestRegistryOCIConformance runs the OCI distribution-spec conformance
// tool (github.com/opencontainers/distribution-spec/conformance, pinned in
// docs/registry.md) against an in-process Wharf, authenticated with an ECR
// token, with OCI_VERSION=1.1 and every API and data option on. Set
// WHARF_OCI_CONFORMANCE to the tool's binary to run it (scripts/test builds
// it and does). The tool exits 0
// even when checks fail or setup breaks, so its junit.xml is what counts.
func TestRegistryOCIConformance(t *testing.T) {
	bin := os.Getenv("WHARF_OCI_CONFORMANCE")
	if bin == "" {
		t.Skip("WHARF_OCI_CONFORMANCE is not set to the conformance binary")
	}
	// Every data option is on, sparse manifests included: run the server
	// as an operator who wants them would (wharf up --registry-sparse-manifests).
	e := startRegistry(t, func(c *server.Config) { c.SparseManifests = true })
	e.createRepo(t, "conformance/repo1")
	e.createRepo(t, "conformance/repo2")
	results := t.TempDir()
	t.Cleanup(func() {
		os.Rename(filepath.Join(results, "junit.xml"), filepath.Join(os.TempDir(), "wharf-oci-junit.xml"))
	})
	cmd := exec.Command(bin)
	cmd.Dir = results
	env := []string{
		"OCI_REGISTRY=" + e.host, "OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2",
		"OCI_USERNAME=AWS", "OCI_PASSWORD=" + e.password,
		"OCI_VERSION=1.1", "OCI_RESULTS_DIR=" + results, "OCI_LOG=error",
	}
	for _, opt := range []string{"API_PULL", "API_PUSH", "API_BLOBS_ATOMIC", "API_BLOBS_DELETE", "API_BLOBS_DIGEST_HEADER",
		"API_BLOBS_MOUNT_ANONYMOUS", "API_BLOBS_UPLOAD_CANCEL", "API_MANIFESTS_ATOMIC", "API_MANIFESTS_DELETE",
		"API_MANIFESTS_DIGEST_HEADER", "API_MANIFESTS_TAG_PARAM", "API_TAGS_ATOMIC", "API_TAGS_DELETE", "API_TAGS_LIST",
		"API_REFERRER", "DATA_IMAGE", "DATA_INDEX", "DATA_INDEX_LIST", "DATA_SPARSE", "DATA_ARTIFACT", "DATA_SUBJECT",
		"DATA_SUBJECT_MISSING", "DATA_ARTIFACT_LIST", "DATA_SUBJECT_LIST", "DATA_DATA_FIELD", "DATA_NONDISTRIBUTABLE",
		"DATA_CUSTOM_FIELDS", "DATA_NO_LAYERS", "DATA_EMPTY_BLOB", "DATA_SHA512"} {
		env = append(env, "OCI_"+opt+"=true")
	}
	cmd.Env = append(os.Environ(), env...)
	// It exits non-zero when a check fails, and zero on some setup errors:
	// the verdict is its junit.xml.
	out, runErr := cmd.CombinedOutput()
	os.WriteFile(filepath.Join(os.TempDir(), "wharf-oci-conformance.log"), out, 0o644)
	raw, err := os.ReadFile(filepath.Join(results, "junit.xml"))
	if err != nil {
		t.Fatalf("no junit.xml (setup failed? exit: %v): %v\n%s", runErr, err, tail(out, 4000))
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Status  string    `xml:"status,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	tests, failed, skipped := 0, 0, 0
	var names []string
	for _, s := range suites.Suites {
		tests += s.Tests
		skipped += s.Skipped
		for _, c := range s.Cases {
			if c.Failure != nil || c.Error != nil || c.Status == "failure" || c.Status == "error" {
				failed++
				names = append(names, c.Name)
			}
		}
	}
	t.Logf("OCI conformance: %d checks, %d passed, %d failed, %d skipped", tests, tests-failed-skipped, failed, skipped)
	if failed != suites.Failures+suites.Errors {
		t.Errorf("counted %d failing cases, junit.xml says %d failures and %d errors", failed, suites.Failures, suites.Errors)
	}
	if len(names) > 0 || tests == 0 {
		t.Errorf("failing checks:\n  %s", strings.Join(names, "\n  "))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
