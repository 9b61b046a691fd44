package ecs

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestJudgeAgents(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	views := []agentView{
		{key: "fresh", lastSeen: t0.Add(-5 * time.Second), connected: true},
		{key: "quiet", lastSeen: t0.Add(-20 * time.Second), connected: true},
		{key: "gone", lastSeen: t0.Add(-40 * time.Second), connected: true},
		{key: "judged", lastSeen: t0.Add(-90 * time.Second), connected: false, lost: true},
	}
	got := judgeAgents(views, t0, 15*time.Second, 30*time.Second)
	want := []agentVerdict{{key: "quiet", disconnect: true}, {key: "gone", disconnect: true, lose: true}}
	if len(got) != len(want) {
		t.Fatalf("verdicts = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("verdict %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTaskHealth(t *testing.T) {
	c := func(essential, check bool, status string) containerRec {
		return containerRec{Essential: essential, HealthCheck: check, HealthStatus: status}
	}
	for _, tc := range []struct {
		cs   []containerRec
		want string
	}{
		{nil, "UNKNOWN"},
		{[]containerRec{c(true, false, "")}, "UNKNOWN"},
		{[]containerRec{c(true, true, "HEALTHY"), c(true, false, "")}, "HEALTHY"},
		{[]containerRec{c(true, true, "HEALTHY"), c(true, true, "")}, "UNKNOWN"},
		{[]containerRec{c(true, true, "HEALTHY"), c(true, true, "UNHEALTHY")}, "UNHEALTHY"},
		{[]containerRec{c(true, true, "HEALTHY"), c(false, true, "UNHEALTHY")}, "HEALTHY"},
	} {
		if got := taskHealth(tc.cs); got != tc.want {
			t.Errorf("taskHealth(%+v) = %s, want %s", tc.cs, got, tc.want)
		}
	}
}

func TestAgentStopCode(t *testing.T) {
	for reason, want := range map[string]string{
		"Essential container in task exited": "EssentialContainerExited",
		"":                                   "EssentialContainerExited",
		"CannotPullContainerError: pull access denied":         "TaskFailedToStart",
		"ResourceInitializationError: unable to pull secrets":  "TaskFailedToStart",
		"TaskFailedToStart: container dependency not resolved": "TaskFailedToStart",
	} {
		if got := agentStopCode(reason); got != want {
			t.Errorf("agentStopCode(%q) = %s, want %s", reason, got, want)
		}
	}
}

func TestCredsDue(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &agentproto.Credentials{RoleARN: "arn:aws:iam::1:role/a", Expiration: now.Add(time.Hour)}
	switch {
	case credsDue(nil, "", now):
		t.Error("no role: nothing due")
	case !credsDue(nil, c.RoleARN, now):
		t.Error("none yet: due")
	case credsDue(c, c.RoleARN, now):
		t.Error("an hour left: not due")
	case !credsDue(c, c.RoleARN, now.Add(45*time.Minute)):
		t.Error("15 minutes left: due")
	case !credsDue(c, "arn:aws:iam::1:role/b", now):
		t.Error("another role: due")
	}
}

func TestSubnetPool(t *testing.T) {
	p, err := newSubnetPool(netip.MustParsePrefix("10.213.0.0/16"))
	if err != nil || p.gateway.String() != "10.213.0.1" || u32Addr(p.first).String() != "10.213.0.2" || p.size != 65533 {
		t.Fatalf("pool = %+v, %v", p, err)
	}
	if _, err := newSubnetPool(netip.MustParsePrefix("fd00::/64")); err == nil {
		t.Fatal("IPv6 pool accepted")
	}
	if got := macFor(netip.MustParseAddr("10.213.0.5")); got != "02:77:0a:d5:00:05" {
		t.Fatalf("mac = %s", got)
	}
	if got := privateDNSName(netip.MustParseAddr("10.213.0.5"), "eu-west-1"); got != "ip-10-213-0-5.eu-west-1.compute.internal" {
		t.Fatalf("dns = %s", got)
	}
}

// agentTestService is a Service on a fresh store with opts, its store, and
// a tenant context.
func agentTestService(t testing.TB, opts Options) (*Service, store.Store, context.Context) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, opts)
	t.Cleanup(s.StopAgentMonitor)
	return s, st, tenancy.With(context.Background(), "123456789012", "us-east-1")
}

func fargateDef(t *testing.T, s *Service, ctx context.Context) {
	t.Helper()
	_, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("fg"), Cpu: ptr.To("256"), Memory: ptr.To("512"),
		NetworkMode: ptr.To("awsvpc"), RequiresCompatibilities: []string{"FARGATE"},
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("app"), Image: ptr.To("busybox"), Essential: ptr.To(true)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func runFargate(ctx context.Context, s *Service) (*ecsapi.Task, error) {
	out, err := s.RunTask(ctx, &ecsapi.RunTaskRequest{TaskDefinition: ptr.To("fg"), LaunchType: ptr.To("FARGATE"),
		NetworkConfiguration: &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
	if err != nil {
		return nil, err
	}
	return &out.Tasks[0], nil
}

func taskIP(t *ecsapi.Task) string {
	for _, d := range t.Attachments[0].Details {
		if ptr.Value(d.Name) == "privateIPv4Address" {
			return ptr.Value(d.Value)
		}
	}
	return ""
}

// TestAwsvpcAddressesReleased: a /29 has five task addresses; a sixth task
// is refused until a stopped task gives its address back.
func TestAwsvpcAddressesReleased(t *testing.T) {
	s, _, ctx := agentTestService(t, Options{TaskSubnet: netip.MustParsePrefix("10.9.0.0/29")})
	fargateDef(t, s, ctx)
	seen := map[string]string{}
	var first *ecsapi.Task
	for range 5 {
		tk, err := runFargate(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		ip := taskIP(tk)
		if _, dup := seen[ip]; dup || ip == "10.9.0.1" || ip == "10.9.0.0" || ip == "10.9.0.7" || !strings.HasPrefix(ip, "10.9.0.") {
			t.Fatalf("address %q (have %v)", ip, seen)
		}
		seen[ip] = ptr.Value(tk.TaskArn)
		if first == nil {
			first = tk
		}
	}
	_, err := runFargate(ctx, s)
	if !errors.Is(err, ErrClient) || !strings.Contains(errs.Message(err), "no free address") {
		t.Fatalf("sixth task: %v", err)
	}
	if _, err := s.StopTask(ctx, &ecsapi.StopTaskRequest{Task: first.TaskArn}); err != nil {
		t.Fatal(err)
	}
	tk, err := runFargate(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if taskIP(tk) != taskIP(first) {
		t.Fatalf("reused address = %s, want the released %s", taskIP(tk), taskIP(first))
	}
}

func TestPollManaged(t *testing.T) {
	s, _, ctx := agentTestService(t, Options{})
	fargateDef(t, s, ctx)
	seq0, none, err := s.PollManaged(context.Background(), 0, 0)
	if err != nil || seq0 != 0 || len(none) != 0 {
		t.Fatalf("empty queue: %d %+v %v", seq0, none, err)
	}
	tk, err := runFargate(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ContainerInstanceArn != nil || ptr.Value(tk.LastStatus) != "PROVISIONING" {
		t.Fatalf("FARGATE task = %+v", tk)
	}
	seq1, tasks, err := s.PollManaged(context.Background(), seq0, 20*time.Second)
	if err != nil || seq1 <= seq0 || len(tasks) != 1 {
		t.Fatalf("poll: %d %+v %v", seq1, tasks, err)
	}
	mt := tasks[0]
	if mt.Account != "123456789012" || mt.Region != "us-east-1" || mt.Task.TaskARN != ptr.Value(tk.TaskArn) || mt.Task.LaunchType != "FARGATE" ||
		mt.Task.ENI == nil || mt.Task.ENI.PrivateIPv4 != taskIP(tk) || mt.Task.CPU != "256" || mt.Task.Memory != "512" {
		t.Fatalf("managed task = %+v", mt)
	}

	// The runner reports in-process with only the tenant in its context.
	rctx := TenantContext(context.Background(), mt.Account, mt.Region)
	if _, err := s.SubmitTaskStateChange(rctx, &ecsapi.SubmitTaskStateChangeRequest{Cluster: ptr.To(mt.Task.ClusterARN), Task: ptr.To(mt.Task.TaskARN),
		Status: ptr.To("RUNNING"), Containers: []ecsapi.ContainerStateChange{{ContainerName: ptr.To("app"), Status: ptr.To("RUNNING")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubmitTaskHealth(rctx, &wharfagentapi.SubmitTaskHealthRequest{Cluster: ptr.To(mt.Task.ClusterARN), Task: ptr.To(mt.Task.TaskARN),
		Containers: []wharfagentapi.ContainerHealth{{ContainerName: ptr.To("app"), HealthStatus: ptr.To("HEALTHY")}}}); err != nil {
		t.Fatal(err)
	}

	// A waiting poll wakes on StopTask with the task desired STOPPED.
	type answer struct {
		seq   int64
		tasks []ManagedTask
		err   error
	}
	ch := make(chan answer, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seq, ts, err := s.PollManaged(context.Background(), seq1, 20*time.Second)
		ch <- answer{seq, ts, err}
	}()
	if _, err := s.StopTask(ctx, &ecsapi.StopTaskRequest{Task: tk.TaskArn}); err != nil {
		t.Fatal(err)
	}
	a := <-ch
	wg.Wait()
	if a.err != nil || a.seq <= seq1 || len(a.tasks) != 1 || a.tasks[0].Task.DesiredStatus != "STOPPED" || a.tasks[0].Task.StopCode != "UserInitiated" {
		t.Fatalf("after StopTask: %+v", a)
	}
	if _, err := s.SubmitTaskStateChange(rctx, &ecsapi.SubmitTaskStateChangeRequest{Cluster: ptr.To(mt.Task.ClusterARN), Task: ptr.To(mt.Task.TaskARN),
		Status: ptr.To("STOPPED")}); err != nil {
		t.Fatal(err)
	}
	seq3, left, err := s.PollManaged(context.Background(), 0, 0)
	if err != nil || seq3 != a.seq || len(left) != 0 {
		t.Fatalf("after STOPPED: %d %+v %v", seq3, left, err)
	}
	// A cancelled wait returns.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.PollManaged(cctx, seq3, 20*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled poll: %v", err)
	}
}

func TestManagedCapacityUnavailable(t *testing.T) {
	s, _, ctx := agentTestService(t, Options{ManagedCapacity: func(context.Context) error {
		return errors.New("this Wharf server cannot reach a Docker Engine (dial unix /var/run/docker.sock: connect: no such file or directory); start Docker, or use the EC2 launch type with `wharf agent`")
	}})
	fargateDef(t, s, ctx)
	_, err := runFargate(ctx, s)
	if !errors.Is(err, ErrClient) || !strings.Contains(errs.Message(err), "FARGATE capacity is unavailable") ||
		!strings.Contains(errs.Message(err), "docker.sock") || !strings.Contains(errs.Message(err), "wharf agent") {
		t.Fatalf("RunTask without capacity: %v", err)
	}
}

// TestLostInstanceGraceAfterRestart: a restarted control plane judges an
// instance only one timeout after its own start, then stops its tasks.
func TestLostInstanceGraceAfterRestart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	s, st, ctx := agentTestService(t, Options{Now: clock})
	reg, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{
		InstanceIdentityDocument: ptr.To(`{"instanceId":"i-0123456789abcdef0"}`),
		TotalResources: []ecsapi.Resource{{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))},
			{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("w"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("busybox"), Memory: ptr.To(int32(64)), Essential: ptr.To(true)}}}); err != nil {
		t.Fatal(err)
	}
	run, err := s.RunTask(ctx, &ecsapi.RunTaskRequest{TaskDefinition: ptr.To("w")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("run: %+v %v", run, err)
	}
	taskArn := run.Tasks[0].TaskArn

	// The control plane restarts an hour later.
	set(t0.Add(time.Hour))
	s2 := New(st, Options{Now: clock})
	if err := s2.CheckAgents(context.Background(), t0.Add(time.Hour+20*time.Second)); err != nil {
		t.Fatal(err)
	}
	status := func() (string, string) {
		out, err := s2.DescribeTasks(ctx, &ecsapi.DescribeTasksRequest{Tasks: []string{ptr.Value(taskArn)}})
		if err != nil {
			t.Fatal(err)
		}
		return ptr.Value(out.Tasks[0].LastStatus), ptr.Value(out.Tasks[0].StoppedReason)
	}
	if st, _ := status(); st != "PENDING" {
		t.Fatalf("judged within the grace period: %s", st)
	}
	set(t0.Add(time.Hour + 31*time.Second))
	if err := s2.CheckAgents(context.Background(), t0.Add(time.Hour+31*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st, reason := status(); st != "STOPPED" || reason != "Task stopped because its container instance (i-0123456789abcdef0) lost contact with the control plane." {
		t.Fatalf("after the grace: %s %q", st, reason)
	}
	ins, err := s2.DescribeContainerInstances(ctx, &ecsapi.DescribeContainerInstancesRequest{ContainerInstances: []string{ptr.Value(reg.ContainerInstance.ContainerInstanceArn)}})
	if err != nil || ptr.Value(ins.ContainerInstances[0].AgentConnected) || ptr.Value(ins.ContainerInstances[0].PendingTasksCount) != 0 {
		t.Fatalf("instance after loss: %+v %v", ins, err)
	}
}

// TestCredentialsRenewed: role credentials are minted for the first answer
// that carries the task, kept while fresh, and renewed with a sequence bump
// once less than credsRenewBefore is left.
func TestCredentialsRenewed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now, minted := t0, 0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mint := func(ctx context.Context, role, session string) (*agentproto.Credentials, error) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := tenancy.Account(ctx); err != nil {
			return nil, err
		}
		minted++
		return &agentproto.Credentials{RoleARN: role, AccessKeyID: "ASIA" + session[:4] + string(rune('0'+minted)), Expiration: now.Add(time.Hour)}, nil
	}
	s, _, ctx := agentTestService(t, Options{Now: clock, RoleCredentials: mint})
	reg, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{
		Attributes: []ecsapi.Attribute{{Name: ptr.To("com.amazonaws.ecs.capability.task-iam-role")}},
		TotalResources: []ecsapi.Resource{{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))},
			{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))}}})
	if err != nil {
		t.Fatal(err)
	}
	ci := reg.ContainerInstance.ContainerInstanceArn
	if _, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("r"), TaskRoleArn: ptr.To("arn:aws:iam::123456789012:role/app"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("busybox"), Memory: ptr.To(int32(64)), Essential: ptr.To(true)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunTask(ctx, &ecsapi.RunTaskRequest{TaskDefinition: ptr.To("r")}); err != nil {
		t.Fatal(err)
	}
	poll := func(acked int64) *wharfagentapi.PollAssignmentsResponse {
		t.Helper()
		out, err := s.PollAssignments(ctx, &wharfagentapi.PollAssignmentsRequest{ContainerInstance: ci, AckedSequence: ptr.To(acked), WaitSeconds: ptr.To(int32(0))})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	role := func(out *wharfagentapi.PollAssignmentsResponse) *agentproto.Credentials {
		t.Helper()
		if len(out.Assignments) != 1 {
			t.Fatalf("assignments = %+v", out.Assignments)
		}
		doc, err := agentproto.Decode(ptr.Value(out.Assignments[0].Document))
		if err != nil {
			t.Fatal(err)
		}
		return doc.TaskRole
	}
	first := poll(0)
	c1 := role(first)
	if c1 == nil || minted != 1 || doc0ExecutionRole(t, first) {
		t.Fatalf("first answer: creds %+v, minted %d", c1, minted)
	}
	mu.Lock()
	now = t0.Add(30 * time.Minute)
	mu.Unlock()
	if out := poll(ptr.Value(first.Sequence)); len(out.Assignments) != 0 || minted != 1 {
		t.Fatalf("30 minutes on: %+v, minted %d", out, minted)
	}
	mu.Lock()
	now = t0.Add(45 * time.Minute)
	mu.Unlock()
	renewed := poll(ptr.Value(first.Sequence))
	c2 := role(renewed)
	if ptr.Value(renewed.Sequence) <= ptr.Value(first.Sequence) || minted != 2 || c2.AccessKeyID == c1.AccessKeyID || !c2.Expiration.After(c1.Expiration) {
		t.Fatalf("renewal: seq %d→%d, minted %d, %+v → %+v", ptr.Value(first.Sequence), ptr.Value(renewed.Sequence), minted, c1, c2)
	}
}

// doc0ExecutionRole reports whether the first assignment carries execution
// role credentials (the definition above names none).
func doc0ExecutionRole(t *testing.T, out *wharfagentapi.PollAssignmentsResponse) bool {
	t.Helper()
	doc, err := agentproto.Decode(ptr.Value(out.Assignments[0].Document))
	if err != nil {
		t.Fatal(err)
	}
	return doc.ExecutionRole != nil
}

// TestForcedDeregistrationWakesPoll: deregistering an instance with force
// stops its tasks, frees their addresses and wakes its agent's poll, whose
// answer lists nothing; the next poll is refused.
func TestForcedDeregistrationWakesPoll(t *testing.T) {
	s, _, ctx := agentTestService(t, Options{})
	reg, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{
		Attributes: []ecsapi.Attribute{{Name: ptr.To("ecs.capability.task-eni")}},
		TotalResources: []ecsapi.Resource{{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))},
			{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))}}})
	if err != nil {
		t.Fatal(err)
	}
	ci := reg.ContainerInstance.ContainerInstanceArn
	if _, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("v"), NetworkMode: ptr.To("awsvpc"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("busybox"), Memory: ptr.To(int32(64)), Essential: ptr.To(true)}}}); err != nil {
		t.Fatal(err)
	}
	run, err := s.RunTask(ctx, &ecsapi.RunTaskRequest{TaskDefinition: ptr.To("v"),
		NetworkConfiguration: &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("run: %+v %v", run, err)
	}
	first, err := s.PollAssignments(ctx, &wharfagentapi.PollAssignmentsRequest{ContainerInstance: ci, WaitSeconds: ptr.To(int32(0))})
	if err != nil || len(first.Assignments) != 1 {
		t.Fatalf("poll: %+v %v", first, err)
	}
	ch := make(chan *wharfagentapi.PollAssignmentsResponse, 1)
	go func() {
		out, _ := s.PollAssignments(ctx, &wharfagentapi.PollAssignmentsRequest{ContainerInstance: ci, AckedSequence: first.Sequence, WaitSeconds: ptr.To(int32(30))})
		ch <- out
	}()
	// Wait until the poll is past its instance check (in flight).
	key := ec2Queue(ctx, "default", ptr.Value(ci)[strings.LastIndex(ptr.Value(ci), "/")+1:]).key()
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.agents.mu.Lock()
		waiting := s.agents.m[key] != nil && s.agents.m[key].inflight > 0
		s.agents.mu.Unlock()
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the poll never waited")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.DeregisterContainerInstance(ctx, &ecsapi.DeregisterContainerInstanceRequest{ContainerInstance: ci, Force: ptr.To(true)}); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-ch:
		if out == nil || len(out.Assignments) != 0 || ptr.Value(out.Sequence) == ptr.Value(first.Sequence) {
			t.Fatalf("woken poll = %+v", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deregistration did not wake the poll")
	}
	dt, err := s.DescribeTasks(ctx, &ecsapi.DescribeTasksRequest{Tasks: []string{ptr.Value(run.Tasks[0].TaskArn)}})
	if err != nil || ptr.Value(dt.Tasks[0].LastStatus) != "STOPPED" || ptr.Value(dt.Tasks[0].Attachments[0].Status) != "DELETED" {
		t.Fatalf("orphaned task: %+v %v", dt, err)
	}
	var held int
	if err := s.view(ctx, func(tx store.Tx) error {
		var err error
		held, err = tx.Count(tblIPAM, "addr/")
		return err
	}); err != nil || held != 0 {
		t.Fatalf("addresses held after deregistration: %d %v", held, err)
	}
	_, err = s.PollAssignments(ctx, &wharfagentapi.PollAssignmentsRequest{ContainerInstance: ci})
	if !errors.Is(err, ErrClient) || !strings.Contains(errs.Message(err), "INACTIVE") {
		t.Fatalf("poll of a deregistered instance: %v", err)
	}
}
