package ecs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

const (
	defaultClusterName = "default"
	statusActive       = "ACTIVE"
	statusInactive     = "INACTIVE"
)

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// The capacity providers every cluster may use: Wharf manages Fargate
// capacity itself.
var builtinProviders = []string{"FARGATE", "FARGATE_SPOT"}

func clusterARN(ctx context.Context, name string) string {
	a, _ := arn.Regional(ctx, "ecs", "cluster/"+name)
	return a
}

// clusterName resolves a cluster identifier (name or ARN; "" means
// default) to a name. ok is false for an ARN of another account or region,
// or one that does not name a cluster.
func clusterName(ctx context.Context, ident string) (string, bool) {
	if ident == "" {
		return defaultClusterName, true
	}
	if !strings.HasPrefix(ident, "arn:") {
		return ident, true
	}
	a, err := arn.Parse(ident)
	if err != nil || a.Service != "ecs" {
		return "", false
	}
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	name, ok := strings.CutPrefix(a.Resource, "cluster/")
	if !ok || name == "" || a.Account != acct || a.Region != region {
		return "", false
	}
	return name, true
}

// loadCluster returns the ACTIVE cluster ident names.
func loadCluster(ctx context.Context, tx store.Tx, ident string) (clusterRec, int64, error) {
	name, ok := clusterName(ctx, ident)
	if !ok {
		return clusterRec{}, 0, clusterNotFound()
	}
	var c clusterRec
	rev, err := getJSON(tx, clusterKey(name), &c)
	if isNotFound(err) || err == nil && c.Status != statusActive {
		return clusterRec{}, 0, clusterNotFound()
	}
	return c, rev, err
}

// ensureCluster is loadCluster, except that an unnamed cluster is the
// default cluster, created on first use as ECS does.
func (s *Service) ensureCluster(ctx context.Context, tx store.Tx, ident string) (clusterRec, int64, error) {
	if ident != "" {
		return loadCluster(ctx, tx, ident)
	}
	c, rev, err := loadCluster(ctx, tx, "")
	if !errors.Is(err, ErrClusterNotFound) {
		return c, rev, err
	}
	c = clusterRec{Layout: layoutVersion, Name: defaultClusterName, Status: statusActive, Created: s.stamp(),
		Settings: []kv{{Name: "containerInsights", Value: "disabled"}}}
	if err := putJSON(tx, clusterKey(c.Name), &c); err != nil {
		return c, 0, err
	}
	c, rev, err = loadCluster(ctx, tx, "")
	return c, rev, err
}

// clusterCounts are what DescribeClusters reports of a cluster's contents.
type clusterCounts struct {
	instances, running, pending, services int32
}

func countCluster(tx store.Tx, name string) (clusterCounts, error) {
	var n clusterCounts
	insts, err := scanAll[instanceRec](tx, instancePrefix(name))
	if err != nil {
		return n, err
	}
	for _, in := range insts {
		if in.Status != statusInactive {
			n.instances++
		}
	}
	tc, err := countTasks(tx, name)
	if err != nil {
		return n, err
	}
	n.running, n.pending = tc.running, tc.pending
	n.services, _, err = countServices(tx, name)
	return n, err
}

// countTasks counts the cluster's tasks by last status: RUNNING, and not
// yet running (PROVISIONING, PENDING, ACTIVATING).
func countTasks(tx store.Tx, cluster string) (struct{ running, pending int32 }, error) {
	var n struct{ running, pending int32 }
	tasks, err := scanAll[taskRec](tx, taskPrefix(cluster))
	for _, t := range tasks {
		switch r := statusRank(t.LastStatus); {
		case r == statusRank(taskRunning):
			n.running++
		case r < statusRank(taskRunning):
			n.pending++
		}
	}
	return n, err
}

// include says which optional parts of a cluster to return.
type include struct{ settings, tags, configurations, statistics, attachments bool }

func includeAll() include { return include{true, true, true, false, false} }

func apiCluster(ctx context.Context, c *clusterRec, n clusterCounts, inc include) ecsapi.Cluster {
	out := ecsapi.Cluster{
		ClusterArn:                        ptr.To(clusterARN(ctx, c.Name)),
		ClusterName:                       ptr.To(c.Name),
		Status:                            ptr.To(c.Status),
		RegisteredContainerInstancesCount: ptr.To(n.instances),
		RunningTasksCount:                 ptr.To(n.running),
		PendingTasksCount:                 ptr.To(n.pending),
		ActiveServicesCount:               ptr.To(n.services),
		CapacityProviders:                 slices.Clone(c.CapacityProviders),
		DefaultCapacityProviderStrategy:   apiStrategy(c.Strategy),
		Statistics:                        []ecsapi.KeyValuePair{},
	}
	if out.CapacityProviders == nil {
		out.CapacityProviders = []string{}
	}
	if inc.settings {
		for _, st := range c.Settings {
			out.Settings = append(out.Settings, ecsapi.ClusterSetting{Name: ptr.To(st.Name), Value: ptr.To(st.Value)})
		}
	}
	if inc.tags {
		out.Tags = apiTags(c.Tags)
	}
	if inc.configurations && c.Configuration != nil {
		cfg := *c.Configuration
		out.Configuration = &cfg
	}
	if c.Namespace != "" {
		out.ServiceConnectDefaults = &ecsapi.ClusterServiceConnectDefaults{Namespace: ptr.To(c.Namespace)}
	}
	if inc.statistics {
		for _, k := range []string{"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount",
			"pendingFargateTasksCount", "activeEC2ServiceCount", "activeFargateServiceCount",
			"drainingEC2ServiceCount", "drainingFargateServiceCount"} {
			out.Statistics = append(out.Statistics, ecsapi.KeyValuePair{Name: ptr.To(k), Value: ptr.To("0")})
		}
	}
	if inc.attachments {
		out.Attachments = []ecsapi.Attachment{}
	}
	return out
}

func apiStrategy(items []strategyItem) []ecsapi.CapacityProviderStrategyItem {
	out := []ecsapi.CapacityProviderStrategyItem{}
	for _, it := range items {
		out = append(out, ecsapi.CapacityProviderStrategyItem{CapacityProvider: ptr.To(it.Provider),
			Weight: ptr.To(it.Weight), Base: ptr.To(it.Base)})
	}
	return out
}

// Pure validation of cluster inputs.

func validClusterName(name string) error {
	if !clusterNameRE.MatchString(name) {
		return invalidParam("Invalid cluster name. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
	}
	return nil
}

func validSettings(in []ecsapi.ClusterSetting, have []kv) ([]kv, error) {
	out := slices.Clone(have)
	for _, st := range in {
		name, value := ptr.Value(st.Name), ptr.Value(st.Value)
		if name != "containerInsights" {
			return nil, invalidParam("Cluster setting name %q is not valid. Valid names: containerInsights.", name)
		}
		switch value {
		case "enabled", "disabled", "enhanced":
		default:
			return nil, invalidParam("Invalid value for containerInsights setting. Valid values: enabled, disabled, enhanced.")
		}
		found := false
		for i := range out {
			if out[i].Name == name {
				out[i].Value, found = value, true
			}
		}
		if !found {
			out = append(out, kv{Name: name, Value: value})
		}
	}
	return out, nil
}

// validCapacity checks a cluster's capacity providers and default strategy.
func validCapacity(providers []string, strategy []ecsapi.CapacityProviderStrategyItem) ([]string, []strategyItem, error) {
	var ps []string
	for _, p := range providers {
		if !slices.Contains(builtinProviders, p) {
			return nil, nil, invalidParam("The specified capacity provider '%s' is not in an ACTIVE state. Specify a valid capacity provider and try again.", p)
		}
		if slices.Contains(ps, p) {
			return nil, nil, invalidParam("The specified capacity providers contain duplicates. Specify a unique capacity provider and try again.")
		}
		ps = append(ps, p)
	}
	var items []strategyItem
	withBase := 0
	for _, it := range strategy {
		p := ptr.Value(it.CapacityProvider)
		if !slices.Contains(ps, p) {
			return nil, nil, invalidParam("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		for _, have := range items {
			if have.Provider == p {
				return nil, nil, invalidParam("The specified capacity provider strategy contains duplicate capacity providers. Specify a unique capacity provider and try again.")
			}
		}
		w, b := ptr.Value(it.Weight), ptr.Value(it.Base)
		if w < 0 || w > 1000 {
			return nil, nil, invalidParam("The specified capacity provider strategy weight must be between 0 and 1000.")
		}
		if b < 0 || b > 100000 {
			return nil, nil, invalidParam("The specified capacity provider strategy base must be between 0 and 100000.")
		}
		if b > 0 {
			withBase++
		}
		items = append(items, strategyItem{Provider: p, Weight: w, Base: b})
	}
	if withBase > 1 {
		return nil, nil, invalidParam("The specified capacity provider strategy cannot contain more than one capacity provider with a base value greater than zero. Specify only one base value and try again.")
	}
	if len(items) > 0 {
		sum := int32(0)
		for _, it := range items {
			sum += it.Weight
		}
		if sum == 0 {
			return nil, nil, invalidParam("The specified capacity provider strategy must contain at least one capacity provider with a weight greater than zero.")
		}
	}
	return ps, items, nil
}

// CreateCluster creates a cluster, or returns the ACTIVE cluster of that
// name unchanged, as ECS does.
func (s *Service) CreateCluster(ctx context.Context, in *ecsapi.CreateClusterRequest) (*ecsapi.CreateClusterResponse, error) {
	name := ptr.Or(in.ClusterName, defaultClusterName)
	if err := validClusterName(name); err != nil {
		return nil, err
	}
	settings, err := validSettings(in.Settings, []kv{{Name: "containerInsights", Value: "disabled"}})
	if err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	providers, strategy, err := validCapacity(in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	c := clusterRec{Layout: layoutVersion, Name: name, Status: statusActive, Created: s.stamp(), Settings: settings,
		Tags: tags, CapacityProviders: providers, Strategy: strategy, Configuration: in.Configuration}
	if in.ServiceConnectDefaults != nil {
		c.Namespace = ptr.Value(in.ServiceConnectDefaults.Namespace)
	}
	var out ecsapi.Cluster
	err = s.update(ctx, func(tx store.Tx) error {
		var have clusterRec
		_, err := getJSON(tx, clusterKey(name), &have)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err == nil && have.Status == statusActive {
			c = have
		} else if err := putJSON(tx, clusterKey(name), &c); err != nil {
			return err
		}
		n, err := countCluster(tx, name)
		if err != nil {
			return err
		}
		out = apiCluster(ctx, &c, n, includeAll())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.CreateClusterResponse{Cluster: &out}, nil
}

// DescribeClusters describes clusters by name or ARN (default: the default
// cluster); unknown ones are failures with reason MISSING.
func (s *Service) DescribeClusters(ctx context.Context, in *ecsapi.DescribeClustersRequest) (*ecsapi.DescribeClustersResponse, error) {
	idents := in.Clusters
	if len(idents) == 0 {
		idents = []string{defaultClusterName}
	}
	if len(idents) > 100 {
		return nil, invalidParam("The number of clusters cannot exceed 100.")
	}
	var inc include
	for _, f := range in.Include {
		switch f {
		case "SETTINGS":
			inc.settings = true
		case "TAGS":
			inc.tags = true
		case "CONFIGURATIONS":
			inc.configurations = true
		case "STATISTICS":
			inc.statistics = true
		case "ATTACHMENTS":
			inc.attachments = true
		}
	}
	out := &ecsapi.DescribeClustersResponse{Clusters: []ecsapi.Cluster{}, Failures: []ecsapi.Failure{}}
	err := s.view(ctx, func(tx store.Tx) error {
		for _, ident := range idents {
			name, ok := clusterName(ctx, ident)
			var c clusterRec
			if ok {
				_, err := getJSON(tx, clusterKey(name), &c)
				if isNotFound(err) {
					ok = false
				} else if err != nil {
					return err
				}
			}
			if !ok {
				a := ident
				if !strings.HasPrefix(a, "arn:") {
					a = clusterARN(ctx, ident)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr.To(a), Reason: ptr.To("MISSING")})
				continue
			}
			n, err := countCluster(tx, name)
			if err != nil {
				return err
			}
			out.Clusters = append(out.Clusters, apiCluster(ctx, &c, n, inc))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListClusters lists the ARNs of the ACTIVE clusters.
func (s *Service) ListClusters(ctx context.Context, in *ecsapi.ListClustersRequest) (*ecsapi.ListClustersResponse, error) {
	var names []string
	err := s.view(ctx, func(tx store.Tx) error {
		cs, err := scanAll[clusterRec](tx, "cluster/")
		for _, c := range cs {
			if c.Status == statusActive {
				names = append(names, c.Name)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(names, func(n string) string { return n }, in.NextToken, maxResults(in.MaxResults, 100, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListClustersResponse{ClusterArns: []string{}}
	for _, n := range page {
		out.ClusterArns = append(out.ClusterArns, clusterARN(ctx, n))
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}

// modifyCluster applies fn to an ACTIVE cluster and returns it as ECS
// answers updates.
func (s *Service) modifyCluster(ctx context.Context, ident string, fn func(c *clusterRec) error) (*ecsapi.Cluster, error) {
	var out ecsapi.Cluster
	err := s.update(ctx, func(tx store.Tx) error {
		c, rev, err := loadCluster(ctx, tx, ident)
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		if err := putJSONIf(tx, clusterKey(c.Name), &c, rev); err != nil {
			return err
		}
		n, err := countCluster(tx, c.Name)
		if err != nil {
			return err
		}
		out = apiCluster(ctx, &c, n, includeAll())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCluster changes a cluster's settings, configuration and Service
// Connect defaults.
func (s *Service) UpdateCluster(ctx context.Context, in *ecsapi.UpdateClusterRequest) (*ecsapi.UpdateClusterResponse, error) {
	c, err := s.modifyCluster(ctx, ptr.Value(in.Cluster), func(c *clusterRec) error {
		settings, err := validSettings(in.Settings, c.Settings)
		if err != nil {
			return err
		}
		c.Settings = settings
		if in.Configuration != nil {
			c.Configuration = in.Configuration
		}
		if in.ServiceConnectDefaults != nil {
			c.Namespace = ptr.Value(in.ServiceConnectDefaults.Namespace)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateClusterResponse{Cluster: c}, nil
}

// UpdateClusterSettings changes a cluster's settings.
func (s *Service) UpdateClusterSettings(ctx context.Context, in *ecsapi.UpdateClusterSettingsRequest) (*ecsapi.UpdateClusterSettingsResponse, error) {
	c, err := s.modifyCluster(ctx, ptr.Value(in.Cluster), func(c *clusterRec) error {
		settings, err := validSettings(in.Settings, c.Settings)
		c.Settings = settings
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateClusterSettingsResponse{Cluster: c}, nil
}

// PutClusterCapacityProviders replaces a cluster's capacity providers and
// default strategy.
func (s *Service) PutClusterCapacityProviders(ctx context.Context, in *ecsapi.PutClusterCapacityProvidersRequest) (*ecsapi.PutClusterCapacityProvidersResponse, error) {
	providers, strategy, err := validCapacity(in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	c, err := s.modifyCluster(ctx, ptr.Value(in.Cluster), func(c *clusterRec) error {
		c.CapacityProviders, c.Strategy = providers, strategy
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.PutClusterCapacityProvidersResponse{Cluster: c}, nil
}

// DeleteCluster marks an empty cluster INACTIVE; it stays describable.
func (s *Service) DeleteCluster(ctx context.Context, in *ecsapi.DeleteClusterRequest) (*ecsapi.DeleteClusterResponse, error) {
	var out ecsapi.Cluster
	err := s.update(ctx, func(tx store.Tx) error {
		name, ok := clusterName(ctx, ptr.Value(in.Cluster))
		if !ok {
			return clusterNotFound()
		}
		var c clusterRec
		rev, err := getJSON(tx, clusterKey(name), &c)
		if isNotFound(err) {
			return clusterNotFound()
		}
		if err != nil {
			return err
		}
		n, err := countCluster(tx, name)
		if err != nil {
			return err
		}
		switch {
		case n.instances > 0:
			return errsNew(ErrClusterContainsInstances, "The Cluster cannot be deleted while Container Instances are active or draining.")
		case n.services > 0:
			return errsNew(ErrClusterContainsServices, "The Cluster cannot be deleted while Services are active.")
		case n.running+n.pending > 0:
			return errsNew(ErrClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.")
		}
		if c.Status != statusInactive {
			c.Status = statusInactive
			if err := putJSONIf(tx, clusterKey(name), &c, rev); err != nil {
				return err
			}
		}
		out = apiCluster(ctx, &c, n, includeAll())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteClusterResponse{Cluster: &out}, nil
}
