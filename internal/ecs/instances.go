package ecs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

const statusDraining = "DRAINING"

func instanceARN(ctx context.Context, cluster, id string) string {
	a, _ := arn.Regional(ctx, "ecs", "container-instance/"+cluster+"/"+id)
	return a
}

// instanceID resolves a container instance identifier (ID, or ARN in the
// long or the old short format) to its ID. ok is false for an ARN of
// another tenant or another cluster.
func instanceID(ctx context.Context, cluster, ident string) (string, bool) {
	return clusterScopedID(ctx, "container-instance/", cluster, ident)
}

// clusterScopedID resolves the identifier of a resource that lives in a
// cluster (an ID, or an ARN whose resource is kind+"CLUSTER/ID" or, in the
// old short format, kind+"ID"). ok is false for an ARN of another kind,
// tenant or cluster.
func clusterScopedID(ctx context.Context, kind, cluster, ident string) (string, bool) {
	if !strings.HasPrefix(ident, "arn:") {
		return ident, ident != "" && !strings.Contains(ident, "/")
	}
	a, err := arn.Parse(ident)
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	rest, ok := strings.CutPrefix(a.Resource, kind)
	if err != nil || a.Service != "ecs" || !ok || a.Account != acct || a.Region != region {
		return "", false
	}
	if c, id, long := strings.Cut(rest, "/"); long {
		return id, c == cluster && id != ""
	}
	return rest, rest != ""
}

// identityDoc is the part of an instance identity document Wharf reads:
// the fields of EC2's document, which `wharf agent` fills with its own
// values.
type identityDoc struct {
	InstanceID       string `json:"instanceId"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	ImageID          string `json:"imageId"`
	Architecture     string `json:"architecture"`
}

// validResources checks the total resources an agent registers; CPU and
// MEMORY are required.
func validResources(rs []ecsapi.Resource) ([]ecsapi.Resource, error) {
	seen := map[string]bool{}
	var out []ecsapi.Resource
	for _, r := range rs {
		name, typ := ptr.Value(r.Name), ptr.Value(r.Type)
		if seen[name] {
			return nil, invalidParam("Duplicate resource %s.", name)
		}
		seen[name] = true
		switch name {
		case "CPU", "MEMORY":
			if typ != "INTEGER" || ptr.Value(r.IntegerValue) < 0 {
				return nil, invalidParam("Resource %s must be an INTEGER greater than or equal to 0.", name)
			}
		case "PORTS", "PORTS_UDP", "GPU":
			if typ != "STRINGSET" {
				return nil, invalidParam("Resource %s must be a STRINGSET.", name)
			}
			if name != "GPU" {
				for _, p := range r.StringSetValue {
					if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
						return nil, invalidParam("Invalid port %q in resource %s.", p, name)
					}
				}
			}
		}
		r.Name, r.Type = ptr.To(name), ptr.To(typ)
		if typ == "INTEGER" {
			r.DoubleValue, r.LongValue = ptr.To(0.0), ptr.To(int64(0))
		}
		out = append(out, r)
	}
	if !seen["CPU"] || !seen["MEMORY"] {
		return nil, invalidParam("totalResources must include CPU and MEMORY.")
	}
	return out, nil
}

// builtinAttributes are the attributes ECS gives every instance, from its
// identity document.
func builtinAttributes(doc identityDoc) []kv {
	arch := "x86_64"
	if doc.Architecture == "arm64" || doc.Architecture == "aarch64" {
		arch = "arm64"
	}
	out := []kv{{"ecs.os-type", "linux"}, {"ecs.cpu-architecture", arch}}
	if doc.AvailabilityZone != "" {
		out = append(out, kv{"ecs.availability-zone", doc.AvailabilityZone})
	}
	if doc.InstanceType != "" {
		out = append(out, kv{"ecs.instance-type", doc.InstanceType})
	}
	if doc.ImageID != "" {
		out = append(out, kv{"ecs.ami-id", doc.ImageID})
	}
	return out
}

func setKV(list []kv, name, value string) []kv {
	for i := range list {
		if list[i].Name == name {
			list[i].Value = value
			return list
		}
	}
	return append(list, kv{name, value})
}

func newEC2InstanceID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("i-%x", b[:])[:19]
}

func apiInstance(ctx context.Context, in *instanceRec, withTags bool) ecsapi.ContainerInstance {
	out := ecsapi.ContainerInstance{
		ContainerInstanceArn: ptr.To(instanceARN(ctx, in.Cluster, in.ID)),
		Ec2InstanceId:        ptr.To(in.EC2InstanceID),
		Status:               ptr.To(in.Status),
		AgentConnected:       ptr.To(in.Connected),
		RegisteredAt:         ptr.To(in.Registered),
		RegisteredResources:  slices.Clone(in.RegRes),
		RemainingResources:   slices.Clone(in.Remaining),
		RunningTasksCount:    ptr.To(in.Running),
		PendingTasksCount:    ptr.To(in.Pending),
		Version:              ptr.To(in.Version),
		VersionInfo:          in.VersionInfo,
		Attributes:           []ecsapi.Attribute{},
		Attachments:          []ecsapi.Attachment{},
	}
	if in.StatusReason != "" {
		out.StatusReason = ptr.To(in.StatusReason)
	}
	for _, a := range append(slices.Clone(in.Attributes), in.Custom...) {
		at := ecsapi.Attribute{Name: ptr.To(a.Name)}
		if a.Value != "" {
			at.Value = ptr.To(a.Value)
		}
		out.Attributes = append(out.Attributes, at)
	}
	if withTags {
		out.Tags = apiTags(in.Tags)
	}
	return out
}

// RegisterContainerInstance registers an agent's host in a cluster (the
// default cluster, created if need be, when none is named). An agent that
// registers again with its containerInstanceArn, or the same instance ID,
// gets its existing registration back, updated.
func (s *Service) RegisterContainerInstance(ctx context.Context, in *ecsapi.RegisterContainerInstanceRequest) (*ecsapi.RegisterContainerInstanceResponse, error) {
	res, err := validResources(in.TotalResources)
	if err != nil {
		return nil, err
	}
	var doc identityDoc
	if d := ptr.Value(in.InstanceIdentityDocument); d != "" {
		if err := json.Unmarshal([]byte(d), &doc); err != nil {
			return nil, invalidParam("The instance identity document is not valid JSON.")
		}
	}
	if doc.InstanceID == "" {
		doc.InstanceID = newEC2InstanceID()
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	attrs := builtinAttributes(doc)
	for _, a := range in.Attributes {
		if err := validAttribute(a); err != nil {
			return nil, err
		}
		attrs = setKV(attrs, ptr.Value(a.Name), ptr.Value(a.Value))
	}
	var out ecsapi.ContainerInstance
	err = s.update(ctx, func(tx store.Tx) error {
		c, _, err := s.ensureCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		var rec instanceRec
		var rev int64
		// Re-registration: by ARN, else by the EC2 instance ID.
		if a := ptr.Value(in.ContainerInstanceArn); a != "" {
			id, ok := instanceID(ctx, c.Name, a)
			if ok {
				rev, err = getJSON(tx, instanceKey(c.Name, id), &rec)
			}
			if !ok || isNotFound(err) || rec.Status == statusInactive {
				return invalidParam("Container instance %s is not registered in cluster %s.", a, c.Name)
			}
			if err != nil {
				return err
			}
		} else {
			var idx ec2IndexRec
			_, err := getJSON(tx, ec2IndexKey(c.Name, doc.InstanceID), &idx)
			if err != nil && !isNotFound(err) {
				return err
			}
			if err == nil {
				var r instanceRec
				irev, err := getJSON(tx, instanceKey(c.Name, idx.ID), &r)
				if err != nil && !isNotFound(err) {
					return err
				}
				if err == nil && r.Status != statusInactive {
					rec, rev = r, irev
				}
			}
		}
		if rec.ID == "" {
			rec = instanceRec{Layout: layoutVersion, ID: newID(), Cluster: c.Name, Status: statusActive,
				Registered: s.stamp(), EC2InstanceID: doc.InstanceID, Tags: tags}
			rec.Remaining = res
		} else if len(in.Tags) > 0 {
			if rec.Tags, err = mergeTags(rec.Tags, in.Tags); err != nil {
				return err
			}
		}
		if rec.Running+rec.Pending == 0 {
			rec.Remaining = res
		}
		rec.RegRes = res
		rec.Attributes = attrs
		rec.VersionInfo = in.VersionInfo
		rec.Connected = true
		rec.Version++
		if err := putJSONIf(tx, instanceKey(c.Name, rec.ID), &rec, rev); err != nil {
			return err
		}
		if err := putJSON(tx, ec2IndexKey(c.Name, rec.EC2InstanceID), &ec2IndexRec{ID: rec.ID}); err != nil {
			return err
		}
		if err := ensureQueue(tx, ec2Queue(ctx, c.Name, rec.ID)); err != nil {
			return err
		}
		out = apiInstance(ctx, &rec, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a, err := arn.Parse(ptr.Value(out.ContainerInstanceArn)); err == nil {
		if c, id, ok := strings.Cut(strings.TrimPrefix(a.Resource, "container-instance/"), "/"); ok {
			s.agentRegistered(ec2Queue(ctx, c, id))
		}
	}
	return &ecsapi.RegisterContainerInstanceResponse{ContainerInstance: &out}, nil
}

// instanceMissingError is an unknown (or INACTIVE) container instance:
// an InvalidParameterException for single-instance operations, a MISSING
// failure for batch ones.
type instanceMissingError struct{ ident, cluster string }

func (e *instanceMissingError) Error() string {
	return fmt.Sprintf("The referenced container instance %s is not active in cluster %s.", e.ident, e.cluster)
}

func (e *instanceMissingError) Unwrap() error { return ErrInvalidParameter }

// missingFailure turns an instanceMissingError into a MISSING failure.
func missingFailure(ctx context.Context, err error) (ecsapi.Failure, bool) {
	var m *instanceMissingError
	if !errors.As(err, &m) {
		return ecsapi.Failure{}, false
	}
	a := m.ident
	if !strings.HasPrefix(a, "arn:") {
		a = instanceARN(ctx, m.cluster, m.ident)
	}
	return ecsapi.Failure{Arn: ptr.To(a), Reason: ptr.To("MISSING")}, true
}

// loadInstance returns a registered (not INACTIVE unless any) instance.
func loadInstance(ctx context.Context, tx store.Tx, cluster, ident string, any bool) (instanceRec, int64, error) {
	id, ok := instanceID(ctx, cluster, ident)
	var rec instanceRec
	if !ok {
		return rec, 0, &instanceMissingError{ident, cluster}
	}
	rev, err := getJSON(tx, instanceKey(cluster, id), &rec)
	if isNotFound(err) || err == nil && !any && rec.Status == statusInactive {
		return rec, 0, &instanceMissingError{ident, cluster}
	}
	return rec, rev, err
}

// DeregisterContainerInstance removes an instance from its cluster; it
// stays describable as INACTIVE. Without force an instance still running
// tasks is refused.
func (s *Service) DeregisterContainerInstance(ctx context.Context, in *ecsapi.DeregisterContainerInstanceRequest) (*ecsapi.DeregisterContainerInstanceResponse, error) {
	var out ecsapi.ContainerInstance
	var q queueID
	err := s.commit(ctx, func(tx store.Tx, w *wakes) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		rec, rev, err := loadInstance(ctx, tx, c.Name, ptr.Value(in.ContainerInstance), false)
		if err != nil {
			return err
		}
		if rec.Running+rec.Pending > 0 && !ptr.Value(in.Force) {
			return invalidParam("Found running tasks on the instance.")
		}
		q = ec2Queue(ctx, c.Name, rec.ID)
		if err := s.orphanTasks(ctx, tx, w, &rec); err != nil {
			return err
		}
		if err := tx.Delete(tblQueues, q.seqKey()); err != nil && !isNotFound(err) {
			return err
		}
		rec.Status, rec.Connected = statusInactive, false
		rec.Version++
		if err := putJSONIf(tx, instanceKey(c.Name, rec.ID), &rec, rev); err != nil {
			return err
		}
		if err := putJSON(tx, ec2IndexKey(c.Name, rec.EC2InstanceID), &ec2IndexRec{ID: rec.ID}); err != nil {
			return err
		}
		out = apiInstance(ctx, &rec, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.agentGone(q)
	return &ecsapi.DeregisterContainerInstanceResponse{ContainerInstance: &out}, nil
}

// DescribeContainerInstances describes instances; unknown ones are
// failures with reason MISSING.
func (s *Service) DescribeContainerInstances(ctx context.Context, in *ecsapi.DescribeContainerInstancesRequest) (*ecsapi.DescribeContainerInstancesResponse, error) {
	if len(in.ContainerInstances) > 100 {
		return nil, invalidParam("The number of container instances cannot exceed 100.")
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := &ecsapi.DescribeContainerInstancesResponse{ContainerInstances: []ecsapi.ContainerInstance{}, Failures: []ecsapi.Failure{}}
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		for _, ident := range in.ContainerInstances {
			rec, _, err := loadInstance(ctx, tx, c.Name, ident, true)
			if f, ok := missingFailure(ctx, err); ok {
				out.Failures = append(out.Failures, f)
				continue
			}
			if err != nil {
				return err
			}
			out.ContainerInstances = append(out.ContainerInstances, apiInstance(ctx, &rec, withTags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// instanceFilter is a compiled ListContainerInstances filter.
type instanceFilter func(*instanceRec) bool

// ListContainerInstances lists the ARNs of a cluster's ACTIVE and DRAINING
// instances, optionally of one status and matching a cluster query
// language filter.
func (s *Service) ListContainerInstances(ctx context.Context, in *ecsapi.ListContainerInstancesRequest) (*ecsapi.ListContainerInstancesResponse, error) {
	status := ptr.Value(in.Status)
	var match instanceFilter
	if f := ptr.Value(in.Filter); f != "" {
		var err error
		if match, err = compileFilter(f); err != nil {
			return nil, err
		}
	}
	var recs []instanceRec
	var cluster string
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		cluster = c.Name
		all, err := scanAll[instanceRec](tx, instancePrefix(c.Name))
		for _, r := range all {
			switch {
			case r.Status == statusInactive && status != statusInactive:
			case status != "" && r.Status != status:
			case match != nil && !match(&r):
			default:
				recs = append(recs, r)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, func(r instanceRec) string { return r.ID }, in.NextToken, maxResults(in.MaxResults, 100, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListContainerInstancesResponse{ContainerInstanceArns: []string{}}
	for _, r := range page {
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, instanceARN(ctx, cluster, r.ID))
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING.
func (s *Service) UpdateContainerInstancesState(ctx context.Context, in *ecsapi.UpdateContainerInstancesStateRequest) (*ecsapi.UpdateContainerInstancesStateResponse, error) {
	status := ptr.Value(in.Status)
	if status != statusActive && status != statusDraining {
		return nil, invalidParam("Container instances can only be set to ACTIVE or DRAINING.")
	}
	if len(in.ContainerInstances) > 10 {
		return nil, invalidParam("The number of container instances cannot exceed 10.")
	}
	out := &ecsapi.UpdateContainerInstancesStateResponse{ContainerInstances: []ecsapi.ContainerInstance{}, Failures: []ecsapi.Failure{}}
	err := s.update(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		for _, ident := range in.ContainerInstances {
			rec, rev, err := loadInstance(ctx, tx, c.Name, ident, false)
			if f, ok := missingFailure(ctx, err); ok {
				out.Failures = append(out.Failures, f)
				continue
			}
			if err != nil {
				return err
			}
			if rec.Status != status {
				rec.Status = status
				rec.Version++
				if err := putJSONIf(tx, instanceKey(c.Name, rec.ID), &rec, rev); err != nil {
					return err
				}
			}
			out.ContainerInstances = append(out.ContainerInstances, apiInstance(ctx, &rec, false))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DiscoverPollEndpoint tells an agent where to connect: Wharf serves the
// agent channel on its one listener.
func (s *Service) DiscoverPollEndpoint(ctx context.Context, in *ecsapi.DiscoverPollEndpointRequest) (*ecsapi.DiscoverPollEndpointResponse, error) {
	return &ecsapi.DiscoverPollEndpointResponse{
		Endpoint:               ptr.To(s.endpoint),
		TelemetryEndpoint:      ptr.To(s.endpoint),
		ServiceConnectEndpoint: ptr.To(s.endpoint),
	}, nil
}

// orphanTasks stops the tasks of an instance deregistered with force:
// Wharf no longer accounts for them, and says why. Their queue is bumped
// (the agent, if still there, is refused as INACTIVE on its next poll and
// drops them).
func (s *Service) orphanTasks(ctx context.Context, tx store.Tx, w *wakes, rec *instanceRec) error {
	items, err := tx.Scan(tblECS, taskPrefix(rec.Cluster), "", 0)
	if err != nil {
		return err
	}
	for _, it := range items {
		t, err := decode[taskRec](it)
		if err != nil {
			return err
		}
		if t.Instance != rec.ID || t.LastStatus == taskStopped {
			continue
		}
		if err := s.stopTaskRec(ctx, tx, w, &t, it.Revision, "", "Container instance deregistration forced by user"); err != nil {
			return err
		}
	}
	rec.Running, rec.Pending, rec.Groups = 0, 0, nil
	rec.Remaining = slices.Clone(rec.RegRes)
	return nil
}
