package ecs

import (
	"errors"

	"github.com/wharfhq/wharf/internal/placement"
	"github.com/wharfhq/wharf/internal/ptr"
)

// compileFilter parses a ListContainerInstances filter, an expression of
// the cluster query language, with the placement engine's parser.
func compileFilter(src string) (instanceFilter, error) {
	expr, err := placement.Parse(src)
	if err != nil {
		if errors.Is(err, placement.ErrInvalidParameter) {
			return nil, invalidParam("%s", err.Error())
		}
		return nil, err
	}
	return func(r *instanceRec) bool {
		pi := placementInstance(r)
		return expr.Matches(&pi)
	}, nil
}

// placementInstance is what the placement engine knows of an instance.
func placementInstance(r *instanceRec) placement.Instance {
	pi := placement.Instance{
		ID:                r.ID,
		EC2InstanceID:     r.EC2InstanceID,
		Status:            r.Status,
		AgentConnected:    r.Connected,
		RegisteredAt:      r.Registered,
		Attributes:        make(map[string]string, len(r.Attributes)+len(r.Custom)),
		RunningTasksCount: int(r.Running + r.Pending),
		TaskGroups:        r.Groups,
	}
	if r.VersionInfo != nil {
		pi.AgentVersion = ptr.Value(r.VersionInfo.AgentVersion)
	}
	for _, a := range r.Attributes {
		pi.Attributes[a.Name] = a.Value
	}
	for _, a := range r.Custom {
		pi.Attributes[a.Name] = a.Value
	}
	for _, res := range r.Remaining {
		switch ptr.Value(res.Name) {
		case "CPU":
			pi.RemainingCPU = int(ptr.Value(res.IntegerValue))
		case "MEMORY":
			pi.RemainingMemory = int(ptr.Value(res.IntegerValue))
		case "GPU":
			pi.RemainingGPU = len(res.StringSetValue)
		}
	}
	return pi
}
