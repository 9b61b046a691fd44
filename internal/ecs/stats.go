package ecs

import (
	"context"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// TaskSample is one task's resource usage as its agent measured it: the
// CPU units (1024 = one core) it used on average since the agent's
// previous sample, and the memory it uses (page cache excluded).
type TaskSample struct {
	TaskARN   string
	Time      time.Time
	CPUUnits  float64
	MemoryMiB float64
}

// StatsSink receives the task samples agents submit (internal/ecsmetrics
// turns them into AWS/ECS metrics).
type StatsSink interface {
	// TaskStats takes a batch of one tenant's samples. It must not block.
	TaskStats(account, region string, samples []TaskSample)
	// SampleInterval is how often agents should sample.
	SampleInterval() time.Duration
}

// SetStatsSink sets where SubmitTaskStats hands samples. Call it before the
// service answers requests.
func (s *Service) SetStatsSink(sink StatsSink) { s.stats = sink }

// SubmitTaskStats takes an agent's batch of task samples. The cluster
// must exist; every task must be one of its tasks (by ARN). Samples of
// tasks that have stopped meanwhile are dropped when metrics are computed.
func (s *Service) SubmitTaskStats(ctx context.Context, in *wharfagentapi.SubmitTaskStatsRequest) (*wharfagentapi.SubmitTaskStatsResponse, error) {
	var cluster string
	err := s.st.View(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		cluster = c.Name
		return err
	})
	if err != nil {
		return nil, err
	}
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	samples := make([]TaskSample, 0, len(in.Tasks))
	for _, t := range in.Tasks {
		a := ptr.Value(t.TaskArn)
		if _, ok := taskID(ctx, cluster, a); !ok || !strings.HasPrefix(a, "arn:") {
			return nil, invalidParam("The task %s is not a task ARN of cluster %s.", a, cluster)
		}
		samples = append(samples, TaskSample{TaskARN: a, Time: ptr.Value(t.Timestamp), CPUUnits: ptr.Value(t.CpuUnits),
			MemoryMiB: ptr.Value(t.MemoryMiB)})
	}
	out := &wharfagentapi.SubmitTaskStatsResponse{Acknowledgment: ptr.To("ACK")}
	if s.stats != nil {
		s.stats.TaskStats(acct, region, samples)
		out.SampleIntervalSeconds = ptr.To(int32(s.stats.SampleInterval() / time.Second))
	}
	return out, nil
}

// MetricsTask is what ECS metrics need of a task.
type MetricsTask struct {
	TaskARN    string
	Cluster    string
	Group      string // "service:NAME" for a service's tasks
	LaunchType string // EC2, FARGATE, EXTERNAL
	Instance   string // container instance ID (EC2)
	LastStatus string
	// CPU and MemoryMiB are the task's reservation: the task-level cpu and
	// memory when set, else the sum of its containers' (memoryReservation
	// before memory), as placement reserves them.
	CPU, MemoryMiB int
}

// MetricsInstance is a container instance's registered and remaining
// resources.
type MetricsInstance struct {
	Cluster, ID, Status string
	CPU, MemoryMiB      int // registered
	RemainingCPU        int
	RemainingMemoryMiB  int
}

// MetricsSnapshot reads the tasks named (ARNs of the tenant in ctx; the
// unknown ones are left out) and the container instances of the clusters
// they belong to.
func (s *Service) MetricsSnapshot(ctx context.Context, taskARNs []string) ([]MetricsTask, []MetricsInstance, error) {
	var tasks []MetricsTask
	var insts []MetricsInstance
	err := s.st.View(ctx, func(tx store.Tx) error {
		clusters := map[string]bool{}
		for _, a := range taskARNs {
			p, err := arn.Parse(a)
			if err != nil {
				continue
			}
			cluster, id, ok := strings.Cut(strings.TrimPrefix(p.Resource, "task/"), "/")
			if !ok {
				continue
			}
			var t taskRec
			if _, err := getJSON(tx, taskKey(cluster, id), &t); err != nil {
				if isNotFound(err) {
					continue
				}
				return err
			}
			tasks = append(tasks, MetricsTask{TaskARN: a, Cluster: t.Cluster, Group: t.Group, LaunchType: t.LaunchType,
				Instance: t.Instance, LastStatus: t.LastStatus, CPU: t.ReservedCPU, MemoryMiB: t.ReservedMemory})
			if t.Instance != "" {
				clusters[t.Cluster] = true
			}
		}
		for c := range clusters {
			items, err := tx.Scan(tblECS, instancePrefix(c), "", 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				r, err := s.instances.decode(ctx, it)
				if err != nil {
					return err
				}
				insts = append(insts, MetricsInstance{Cluster: c, ID: r.ID, Status: r.Status,
					CPU: intResource(r.RegRes, "CPU"), MemoryMiB: intResource(r.RegRes, "MEMORY"),
					RemainingCPU: intResource(r.Remaining, "CPU"), RemainingMemoryMiB: intResource(r.Remaining, "MEMORY")})
			}
		}
		return nil
	})
	return tasks, insts, err
}

// intResource is the integer value of the named resource (0 if absent).
func intResource(rs []ecsapi.Resource, name string) int {
	for _, r := range rs {
		if ptr.Value(r.Name) == name {
			return int(ptr.Value(r.IntegerValue))
		}
	}
	return 0
}
