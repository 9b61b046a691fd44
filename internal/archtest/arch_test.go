// Package archtest checks the architecture's boundaries, so they are kept by
// a test rather than by memory (see docs/architecture.md).
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/wharfhq/wharf"

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(path, module+"/") }

// httpAllowed are the packages that may speak HTTP. Services implement
// plain Go methods; only the edge, the codecs, the signature verifier, the
// registry and the server assembly see requests (and the agent and its
// Docker Engine client speak HTTP to their peers, as the registry
// benchmark client does to the registry it measures).
var httpAllowed = []string{
	"cmd/", "internal/cli", "internal/server", "internal/edge", "internal/protocol",
	"internal/sigv4", "internal/registry", "internal/wharftest", "internal/agent", "internal/agentclient", "internal/runtime/docker", "internal/regbench", "test/",
}

// pure packages make decisions only: no I/O, no store, no HTTP.
var pure = []string{"internal/policy", "internal/placement", "internal/awsmodel", "internal/wire", "internal/ecs/sched", "internal/logs/filter", "internal/autoscaling/decide"}

// hasPrefixAny reports whether package path s is one of dirs or below one.
func hasPrefixAny(s string, dirs []string) bool {
	for _, d := range dirs {
		d = strings.TrimSuffix(d, "/")
		if s == d || strings.HasPrefix(s, d+"/") {
			return true
		}
	}
	return false
}

func TestBoundaries(t *testing.T) {
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		for _, imp := range p.Imports {
			switch {
			case imp == "net/http" && !hasPrefixAny(name, httpAllowed):
				t.Errorf("%s imports net/http: service code must not touch HTTP (only %v may)", name, httpAllowed)
			case imp == module+"/internal/server" && !hasPrefixAny(name, []string{"internal/cli", "internal/wharftest", "cmd/", "test/"}):
				t.Errorf("%s imports internal/server: only the command line and tests assemble the server", name)
			case imp == module+"/internal/edge" && !hasPrefixAny(name, []string{"internal/server", "test/"}):
				t.Errorf("%s imports internal/edge: domain packages must not depend on the HTTP edge", name)
			}
			if hasPrefixAny(name, pure) {
				for _, banned := range []string{"net/http", "os", module + "/internal/store", "database/sql"} {
					if imp == banned {
						t.Errorf("%s is pure decision code but imports %s", name, imp)
					}
				}
			}
		}
	}
}
