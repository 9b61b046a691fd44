package docker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/internal/runtime"
)

// CreateNetwork creates a user-defined bridge network.
func (c *Client) CreateNetwork(ctx context.Context, spec runtime.NetworkSpec) (runtime.Network, error) {
	type ipamConfig struct {
		Subnet  string `json:",omitempty"`
		Gateway string `json:",omitempty"`
	}
	body := struct {
		Name           string
		Driver         string
		CheckDuplicate bool
		Internal       bool
		Labels         map[string]string              `json:",omitempty"`
		IPAM           *struct{ Config []ipamConfig } `json:",omitempty"`
	}{Name: spec.Name, Driver: "bridge", CheckDuplicate: true, Internal: spec.Internal, Labels: spec.Labels}
	if spec.Subnet != "" || spec.Gateway != "" {
		body.IPAM = &struct{ Config []ipamConfig }{[]ipamConfig{{Subnet: spec.Subnet, Gateway: spec.Gateway}}}
	}
	var out struct {
		ID string `json:"Id"`
	}
	if err := c.call(ctx, http.MethodPost, "/networks/create", nil, body, &out); err != nil {
		return runtime.Network{}, fmt.Errorf("create network %s: %w", spec.Name, err)
	}
	var v networkBody
	if err := c.call(ctx, http.MethodGet, "/networks/"+out.ID, nil, nil, &v); err != nil {
		return runtime.Network{}, fmt.Errorf("inspect network %s: %w", spec.Name, err)
	}
	return v.network(), nil
}

// networkBody is the part of a network's description we read.
type networkBody struct {
	ID     string `json:"Id"`
	Name   string
	Labels map[string]string
	IPAM   struct {
		Config []struct{ Subnet, Gateway string }
	}
}

func (v networkBody) network() runtime.Network {
	n := runtime.Network{ID: v.ID, Name: v.Name, Labels: v.Labels}
	if len(v.IPAM.Config) > 0 {
		n.Subnet, n.Gateway = v.IPAM.Config[0].Subnet, v.IPAM.Config[0].Gateway
	}
	return n
}

// ListNetworks lists the networks carrying labels.
func (c *Client) ListNetworks(ctx context.Context, labels map[string]string) ([]runtime.Network, error) {
	q := url.Values{}
	if len(labels) > 0 {
		q.Set("filters", filters(map[string][]string{"label": labelFilters(labels)}))
	}
	var rows []networkBody
	if err := c.call(ctx, http.MethodGet, "/networks", q, nil, &rows); err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	out := make([]runtime.Network, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.network())
	}
	return out, nil
}

// CreateVolume creates a named volume.
func (c *Client) CreateVolume(ctx context.Context, spec runtime.VolumeSpec) error {
	body := struct {
		Name       string
		Driver     string            `json:",omitempty"`
		DriverOpts map[string]string `json:",omitempty"`
		Labels     map[string]string `json:",omitempty"`
	}{spec.Name, spec.Driver, spec.DriverOpts, spec.Labels}
	if err := c.call(ctx, http.MethodPost, "/volumes/create", nil, body, nil); err != nil {
		return fmt.Errorf("create volume %s: %w", spec.Name, err)
	}
	return nil
}

// RemoveVolume removes a named volume.
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	if err := c.call(ctx, http.MethodDelete, "/volumes/"+name, nil, nil, nil); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// RemoveNetwork removes a network by ID or name.
func (c *Client) RemoveNetwork(ctx context.Context, id string) error {
	if err := c.call(ctx, http.MethodDelete, "/networks/"+id, nil, nil, nil); err != nil {
		return fmt.Errorf("remove network %s: %w", id, err)
	}
	return nil
}

// ListVolumes lists the names of the volumes carrying labels.
func (c *Client) ListVolumes(ctx context.Context, labels map[string]string) ([]string, error) {
	q := url.Values{}
	if len(labels) > 0 {
		q.Set("filters", filters(map[string][]string{"label": labelFilters(labels)}))
	}
	var out struct {
		Volumes []struct{ Name string }
	}
	if err := c.call(ctx, http.MethodGet, "/volumes", q, nil, &out); err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	names := make([]string, 0, len(out.Volumes))
	for _, v := range out.Volumes {
		names = append(names, v.Name)
	}
	return names, nil
}
