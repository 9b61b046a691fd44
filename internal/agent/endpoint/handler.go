package endpoint

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// statsTimeout bounds one stats request to the runtime (the engine takes
// about a second to sample CPU usage).
const statsTimeout = 10 * time.Second

// handler routes the endpoint's paths.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v4/{id}", s.containerMetadata)
	mux.HandleFunc("GET /v4/{id}/task", s.taskMetadata)
	mux.HandleFunc("GET /v4/{id}/stats", s.containerStats)
	mux.HandleFunc("GET /v4/{id}/task/stats", s.taskStats)
	mux.HandleFunc("GET /v2/credentials/{id}", s.credentials)
	mux.HandleFunc("GET /v2/credentials", s.credentials)
	mux.HandleFunc("GET /v2/credentials/", s.credentials)
	return mux
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`"unable to encode the response"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// find resolves the request's container; it answers 404 itself (a JSON
// string, as the ECS agent does) when the id is unknown.
func (s *Server) find(w http.ResponseWriter, r *http.Request) (Task, int, bool) {
	id := r.PathValue("id")
	t, i, ok := s.reg.lookup(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, "V4 metadata handler: unable to find metadata for the id in the request")
		return Task{}, 0, false
	}
	return t, i, true
}

func (s *Server) containerMetadata(w http.ResponseWriter, r *http.Request) {
	t, i, ok := s.find(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, containerResponse(&t.Containers[i]))
}

func (s *Server) taskMetadata(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.find(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, taskResponse(&t, s.clockDrift()))
}

// stats fetches one container's raw stats; nil when it cannot.
func (s *Server) stats(ctx context.Context, dockerID string) json.RawMessage {
	if s.cfg.Stats == nil || dockerID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	b, err := s.cfg.Stats(ctx, dockerID)
	if err != nil || !json.Valid(b) {
		s.log.Debug("container stats unavailable", "container", dockerID, "err", err)
		return nil
	}
	return b
}

func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) {
	t, i, ok := s.find(w, r)
	if !ok {
		return
	}
	b := s.stats(r.Context(), t.Containers[i].DockerID)
	if b == nil {
		writeJSON(w, http.StatusInternalServerError, "V4 stats handler: unable to get stats for the container")
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// taskStats answers a map of Docker ID → stats for every created
// container of the task, null for one whose stats cannot be read.
func (s *Server) taskStats(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.find(w, r)
	if !ok {
		return
	}
	out := map[string]json.RawMessage{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range t.Containers {
		if c.DockerID == "" {
			continue
		}
		wg.Go(func() {
			b := s.stats(r.Context(), c.DockerID)
			if b == nil {
				b = json.RawMessage("null")
			}
			mu.Lock()
			out[c.DockerID] = b
			mu.Unlock()
		})
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
}
