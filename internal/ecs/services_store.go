package ecs

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// This file holds the persistent records of services: the service with its
// deployments and events (one document, key service/<cluster>/<name>) and
// the System table listing the tenants that have services, which the
// service scheduler walks.

// Service statuses.
const (
	svcActive   = "ACTIVE"
	svcDraining = "DRAINING"
	svcInactive = "INACTIVE"
)

// maxServiceEvents is how many events a service keeps, as ECS.
const maxServiceEvents = 100

// tblSvcTenants lists the tenants that have (or had) services, key
// "<account>/<region>", value {}: the store cannot list tenants.
var tblSvcTenants = store.Table{Name: "ecs.svctenants", Scope: store.System}

type deploymentRec struct {
	ID                 string                                `json:"id"`
	Status             string                                `json:"status"` // PRIMARY or ACTIVE
	TaskDefinition     string                                `json:"taskDefinition"`
	DesiredCount       int32                                 `json:"desiredCount"`
	RolloutState       string                                `json:"rolloutState"`
	RolloutStateReason string                                `json:"rolloutStateReason,omitempty"`
	FailedTasks        int32                                 `json:"failedTasks"`
	Failures           int32                                 `json:"failures"` // the circuit breaker's consecutive count
	Created            time.Time                             `json:"created"`
	Updated            time.Time                             `json:"updated"`
	LaunchType         string                                `json:"launchType,omitempty"`
	Strategy           []ecsapi.CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion    string                                `json:"platformVersion,omitempty"`
	Network            *ecsapi.NetworkConfiguration          `json:"networkConfiguration,omitempty"`
}

type eventRec struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// serviceRec is a service. Request fields are kept as the generated types
// (encoded with their Go field names, as taskDefRec is).
type serviceRec struct {
	Layout         int                                   `json:"layout"`
	Name           string                                `json:"name"`
	Cluster        string                                `json:"cluster"`
	Status         string                                `json:"status"`
	Strategy       string                                `json:"schedulingStrategy"`
	DesiredCount   int32                                 `json:"desiredCount"`
	TaskDefinition string                                `json:"taskDefinition"`
	LaunchType     string                                `json:"launchType,omitempty"`
	CPStrategy     []ecsapi.CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	Platform       string                                `json:"platformVersion,omitempty"`
	Deployment     ecsapi.DeploymentConfiguration        `json:"deploymentConfiguration"`
	Constraints    []ecsapi.PlacementConstraint          `json:"placementConstraints,omitempty"`
	Placement      []ecsapi.PlacementStrategy            `json:"placementStrategy,omitempty"`
	Network        *ecsapi.NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	Grace          int32                                 `json:"healthCheckGracePeriodSeconds"`
	LoadBalancers  []ecsapi.LoadBalancer                 `json:"loadBalancers,omitempty"`
	Registries     []ecsapi.ServiceRegistry              `json:"serviceRegistries,omitempty"`
	PropagateTags  string                                `json:"propagateTags,omitempty"`
	ManagedTags    bool                                  `json:"enableECSManagedTags,omitempty"`
	ExecuteCommand bool                                  `json:"enableExecuteCommand,omitempty"`
	Tags           []tag                                 `json:"tags,omitempty"`
	Role           string                                `json:"roleArn,omitempty"`
	ClientToken    string                                `json:"clientToken,omitempty"`
	Created        time.Time                             `json:"created"`
	CreatedBy      string                                `json:"createdBy,omitempty"`
	Deployments    []deploymentRec                       `json:"deployments"`
	Events         []eventRec                            `json:"events,omitempty"` // newest first
	// The scheduler's state between passes (see internal/ecs/sched).
	StartFailures int       `json:"startFailures,omitempty"`
	RetryAt       time.Time `json:"retryAt,omitzero"`
	Handled       []string  `json:"handled,omitempty"`
	Steady        bool      `json:"steady,omitempty"`
	// LastPlaceEvent is when "unable to place" was last recorded.
	LastPlaceEvent time.Time `json:"lastPlaceEvent,omitzero"`
}

func servicePrefix(cluster string) string    { return "service/" + cluster + "/" }
func serviceKey(cluster, name string) string { return servicePrefix(cluster) + name }

func serviceARN(ctx context.Context, cluster, name string) string {
	a, _ := arn.Regional(ctx, "ecs", "service/"+cluster+"/"+name)
	return a
}

// serviceName resolves a service identifier (name or ARN, long or short
// form) within a cluster.
func serviceName(ctx context.Context, cluster, ident string) (string, bool) {
	if !strings.HasPrefix(ident, "arn:") {
		return ident, ident != "" && !strings.Contains(ident, "/")
	}
	a, err := arn.Parse(ident)
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	if err != nil || a.Service != "ecs" || a.Account != acct || a.Region != region {
		return "", false
	}
	rest, ok := strings.CutPrefix(a.Resource, "service/")
	if !ok {
		return "", false
	}
	if c, n, two := strings.Cut(rest, "/"); two {
		return n, c == cluster && n != ""
	}
	return rest, rest != ""
}

// indexServiceTenant records in tx that the tenant of ctx has services.
func indexServiceTenant(ctx context.Context, tx store.Tx) error {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return err
	}
	region, err := tenancy.Region(ctx)
	if err != nil {
		return err
	}
	key := tenantKey(acct, region)
	if _, err := tx.Get(tblSvcTenants, key); !isNotFound(err) {
		return err
	}
	_, err = tx.Put(tblSvcTenants, key, []byte("{}"))
	return err
}

// newDeploymentID returns "ecs-svc/" and 19 digits, the shape of ECS
// deployment IDs (and of the startedBy of the tasks a deployment starts).
func newDeploymentID() string {
	n, _ := crand.Int(crand.Reader, big.NewInt(8e18))
	return fmt.Sprintf("ecs-svc/%d", n.Int64()+1e18)
}

// newEventID returns an ID of the shape of ECS's service event IDs (a UUID).
func newEventID() string {
	id := newID()
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

// addEvents records messages (oldest first) as events, newest first,
// keeping the newest maxServiceEvents.
func addEvents(r *serviceRec, at time.Time, msgs []string) {
	if len(msgs) == 0 {
		return
	}
	ev := make([]eventRec, 0, len(msgs)+len(r.Events))
	for i := len(msgs) - 1; i >= 0; i-- {
		ev = append(ev, eventRec{ID: newEventID(), At: at, Message: msgs[i]})
	}
	ev = append(ev, r.Events...)
	if len(ev) > maxServiceEvents {
		ev = ev[:maxServiceEvents]
	}
	r.Events = ev
}

// countServices counts a cluster's ACTIVE services (DescribeClusters'
// activeServicesCount; DeleteCluster refuses while there are any) and
// its DRAINING ones.
func countServices(tx store.Tx, cluster string) (active, draining int32, err error) {
	recs, err := scanAll[serviceRec](tx, servicePrefix(cluster))
	for _, r := range recs {
		switch r.Status {
		case svcActive:
			active++
		case svcDraining:
			draining++
		}
	}
	return active, draining, err
}
