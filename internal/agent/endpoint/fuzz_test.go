package endpoint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPaths sends arbitrary paths to the server: it never panics, and
// answers only the statuses its contract names.
func FuzzPaths(f *testing.F) {
	s := New(Config{Addr: "127.0.0.1:0"})
	if err := s.Register(sampleTask()); err != nil {
		f.Fatal(err)
	}
	s.SetCredentials("cred", sampleCreds)
	h := s.handler()
	for _, p := range []string{"/v4/web-id", "/v4/web-id/task", "/v4/side-id/task/stats", "/v2/credentials/cred",
		"/v2/credentials/", "/v4/../v2/credentials/cred", "/v4/%2e%2e/task", "/v4/web-id/stats"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := http.NewRequest(http.MethodGet, "http://169.254.170.2/", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.Path = path
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 301, 307, 308, 400, 401, 404, 405:
		case 500: // only for stats, which this server cannot read
			if !strings.HasSuffix(path, "stats") {
				t.Errorf("GET %q: status 500", path)
			}
		default:
			t.Errorf("GET %q: status %d", path, w.Code)
		}
	})
}
