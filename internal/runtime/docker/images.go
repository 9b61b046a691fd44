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
	"time"

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

// LoadImage loads images from a docker-archive tar stream (the format of
// `docker save`: manifest.json, image configs and layer tars), as POST
// /images/load does. The agent loads its pause image this way.
func (c *Client) LoadImage(ctx context.Context, archive io.Reader) error {
	q := url.Values{"quiet": {"1"}}
	resp, err := c.request(ctx, http.MethodPost, "/images/load", q, archive, nil)
	if err != nil {
		return fmt.Errorf("load image: %w", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("load image: %w", err)
		}
		if m.ErrorDetail != nil || m.Error != "" {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			return fmt.Errorf("load image: %s", msg)
		}
	}
}

// ImageInfo is what the agent needs to know about a local image.
type ImageInfo struct {
	ID          string    // "sha256:…" of the image configuration
	RepoTags    []string  // "name:tag"
	RepoDigests []string  // "name@sha256:…", for images pulled from a registry
	Created     time.Time // when the image was built
}

// Digest is the image's manifest digest from a registry ("sha256:…"),
// preferring the one of repository repo; an image never pulled (loaded
// or built locally) has none, and its ID is returned instead.
func (i ImageInfo) Digest(repo string) string {
	for _, d := range i.RepoDigests {
		if name, dg, ok := strings.Cut(d, "@"); ok && name == repo {
			return dg
		}
	}
	if len(i.RepoDigests) > 0 {
		if _, dg, ok := strings.Cut(i.RepoDigests[0], "@"); ok {
			return dg
		}
	}
	return i.ID
}

type imageBody struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
	Created     json.RawMessage // a string in inspect, a number in list
}

func (b imageBody) info() ImageInfo {
	i := ImageInfo{ID: b.ID, RepoTags: b.RepoTags, RepoDigests: b.RepoDigests}
	var s string
	var n int64
	if json.Unmarshal(b.Created, &s) == nil {
		i.Created = engineTime(s)
	} else if json.Unmarshal(b.Created, &n) == nil && n > 0 {
		i.Created = time.Unix(n, 0)
	}
	return i
}

// InspectImage describes a local image; a missing one gives
// runtime.ErrNotFound.
func (c *Client) InspectImage(ctx context.Context, ref string) (ImageInfo, error) {
	var b imageBody
	if err := c.call(ctx, http.MethodGet, "/images/"+ref+"/json", nil, nil, &b); err != nil {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return b.info(), nil
}

// ListImages lists the local images (without intermediate layers).
func (c *Client) ListImages(ctx context.Context) ([]ImageInfo, error) {
	var rows []imageBody
	if err := c.call(ctx, http.MethodGet, "/images/json", nil, nil, &rows); err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]ImageInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.info())
	}
	return out, nil
}

// ImageDigest is the digest a task's container reports as imageDigest:
// the registry manifest digest of ref's repository, or the image ID for
// an image never pulled.
func (c *Client) ImageDigest(ctx context.Context, ref string) (string, error) {
	info, err := c.InspectImage(ctx, ref)
	if err != nil {
		return "", err
	}
	name, _ := splitRef(ref)
	return info.Digest(name), nil
}
