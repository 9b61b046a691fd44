package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/internal/runtime"
)

// splitRef splits an image reference into the name and the tag or digest
// the engine's pull takes separately. A reference without either gets
// "latest" (without it the engine would pull every tag).
func splitRef(ref string) (name, tag string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// registryHost is the registry part of a reference ("docker.io" if none).
func registryHost(name string) string {
	first, _, ok := strings.Cut(name, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// jsonMessage is one line of the engine's progress stream.
type jsonMessage struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	ProgressDetail struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// PullImage pulls ref with auth (nil for anonymous), reporting progress.
func (c *Client) PullImage(ctx context.Context, ref string, auth *runtime.Auth, progress func(runtime.PullProgress)) error {
	name, tag := splitRef(ref)
	q := url.Values{"fromImage": {name}, "tag": {tag}}
	h := http.Header{}
	if auth != nil {
		b, _ := json.Marshal(map[string]string{
			"username": auth.Username, "password": auth.Password, "serveraddress": registryHost(name),
		})
		h.Set("X-Registry-Auth", base64.URLEncoding.EncodeToString(b))
	}
	resp, err := c.request(ctx, http.MethodPost, "/images/create", q, nil, h)
	if err != nil {
		var ee *engineError
		if errors.As(err, &ee) {
			return &runtime.PullError{Ref: ref, Message: ee.message}
		}
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("pull %s: %w", ref, ctx.Err())
			}
			return fmt.Errorf("pull %s: reading progress: %w", ref, err)
		}
		if m.ErrorDetail != nil || m.Error != "" {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			return &runtime.PullError{Ref: ref, Message: msg}
		}
		if progress != nil {
			progress(runtime.PullProgress{Layer: m.ID, Status: m.Status, Current: m.ProgressDetail.Current, Total: m.ProgressDetail.Total})
		}
	}
}

// ImageExists reports whether ref is present in the engine's image store.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	err := c.call(ctx, http.MethodGet, "/images/"+ref+"/json", nil, nil, nil)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, runtime.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("inspect image %s: %w", ref, err)
}

// RemoveImage removes an image by reference or ID (force: even if tagged
// several times). For the agent's image cleanup.
func (c *Client) RemoveImage(ctx context.Context, ref string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "1")
	}
	if err := c.call(ctx, http.MethodDelete, "/images/"+ref, q, nil, nil); err != nil {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return nil
}

// ImportImage creates image ref (name:tag) from a tar of a root
// filesystem, with no configuration: tests use it to make images without
// a registry.
func (c *Client) ImportImage(ctx context.Context, ref string, rootfs io.Reader) error {
	name, tag := splitRef(ref)
	q := url.Values{"fromSrc": {"-"}, "repo": {name}, "tag": {tag}}
	resp, err := c.request(ctx, http.MethodPost, "/images/create", q, rootfs, nil)
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("import %s: %w", ref, err)
		}
		if m.ErrorDetail != nil || m.Error != "" {
			return fmt.Errorf("import %s: %s", ref, m.Error)
		}
	}
}
