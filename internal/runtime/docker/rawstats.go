package docker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxRawStats bounds a stats document (a few KiB in practice).
const maxRawStats = 4 << 20

// RawStats takes one sample of a container's usage and returns it exactly
// as the engine's stats endpoint answers it: the Docker stats JSON the ECS
// task metadata endpoint relays at ${ECS_CONTAINER_METADATA_URI_V4}/stats.
// Like ContainerStats it waits for a second sample so precpu_stats is
// filled in.
func (c *Client) RawStats(ctx context.Context, id string) ([]byte, error) {
	resp, err := c.request(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/stats", url.Values{"stream": {"0"}}, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("stats %s: %w", id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRawStats))
	if err != nil {
		return nil, fmt.Errorf("stats %s: %w", id, err)
	}
	return b, nil
}
