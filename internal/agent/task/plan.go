package task

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/runtime"
)

// HostConfig is what the agent knows about its host that a task's
// containers need. The funcs keep the metadata endpoint's package out of
// this one's dependencies; nil ones inject nothing.
type HostConfig struct {
	// InstanceID labels every object (LabelInstance): the container
	// instance's ID.
	InstanceID string
	// Region fills AWS_REGION and AWS_DEFAULT_REGION.
	Region string
	// PauseImage is the awsvpc pause image (see EnsurePauseImage).
	PauseImage string
	// Metadata returns a container's task metadata endpoint URIs, v3
	// (ECS_CONTAINER_METADATA_URI) and v4 (ECS_CONTAINER_METADATA_URI_V4).
	Metadata func(taskARN, container string) (v3, v4 string)
	// Credentials returns the environment a task with a task role needs
	// to find its credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
	// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN.
	Credentials func(taskARN string) map[string]string
	// Env is added to every container's environment before the
	// definition's own (e.g. AWS_ENDPOINT_URL pointing at Wharf), so the
	// definition can override it.
	Env map[string]string
}

// Dependency conditions of dependsOn.
const (
	CondStart    = "START"
	CondComplete = "COMPLETE"
	CondSuccess  = "SUCCESS"
	CondHealthy  = "HEALTHY"
)

// Dependency is one dependsOn entry.
type Dependency struct {
	Container string
	Condition string
}

// ContainerPlan is one task container, ready to create.
type ContainerPlan struct {
	Name         string // the ECS container name
	ContainerARN string
	Essential    bool
	DependsOn    []Dependency
	// VolumesFrom names the task containers this one mounts volumes from;
	// they must be created first.
	VolumesFrom []string
	// EnvFiles are the container's environmentFiles, in order: the runner
	// downloads them and merges them into Spec.Environment (MergeEnvFiles)
	// before it creates the container.
	EnvFiles []EnvFileRef
	Spec     runtime.ContainerSpec
}

// VolumePlan is a named volume the task needs.
type VolumePlan struct {
	Spec runtime.VolumeSpec
	// TaskScoped volumes are created for the task and removed with it;
	// shared ones (dockerVolumeConfiguration scope shared with
	// autoprovision) are created if missing and kept.
	TaskScoped bool
}

// TaskPlan is a task translated into runtime terms.
type TaskPlan struct {
	TaskARN     string
	Family      string
	Revision    int32
	NetworkMode string // bridge, host, none or awsvpc
	Fargate     bool
	// Network and Pause are set in awsvpc mode: the network to ensure and
	// the pause container that owns the task's namespace on it.
	Network *runtime.NetworkSpec
	Pause   *runtime.ContainerSpec
	Volumes []VolumePlan
	// Containers are in creation order (volumesFrom sources first).
	Containers []ContainerPlan
}

// Container returns the plan of container name.
func (p *TaskPlan) Container(name string) (*ContainerPlan, bool) {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i], true
		}
	}
	return nil, false
}

// ECS defaults.
const (
	DefaultStopTimeout = 30 * time.Second
	minCPUShares       = 2
	awsvpcMode         = "awsvpc"
)

// Suffix is the hex the runtime names of a task's objects end with:
// derived from the task ARN, so the names are stable across agent
// restarts and unique per task.
func Suffix(taskARN string) string {
	sum := sha256.Sum256([]byte(taskARN))
	return hex.EncodeToString(sum[:10])
}

// runtimeName is "ecs-<family>-<revision>-<name>-<suffix>", the ECS
// agent's naming, with characters Docker refuses replaced.
func runtimeName(family string, rev int32, name, suffix string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
				return r
			}
			return -1
		}, s)
	}
	return fmt.Sprintf("ecs-%s-%d-%s-%s", clean(family), rev, clean(name), suffix)
}

// Plan translates a task into runtime specs. It reads no clock and does no
// I/O; an error says why the task cannot run (it becomes the stopped
// reason).
func Plan(t *agentproto.Task, h HostConfig) (*TaskPlan, error) {
	d := &t.Definition
	p := &TaskPlan{TaskARN: t.TaskARN, Family: str(d.Family), Revision: i32(d.Revision), Fargate: t.LaunchType == "FARGATE"}
	if p.Family == "" {
		return nil, fmt.Errorf("task definition has no family")
	}
	if len(d.ContainerDefinitions) == 0 {
		return nil, fmt.Errorf("task definition has no containers")
	}
	p.NetworkMode = str(d.NetworkMode)
	if p.NetworkMode == "" {
		p.NetworkMode = runtime.NetworkBridge
		if p.Fargate {
			p.NetworkMode = awsvpcMode
		}
	}
	suffix := Suffix(t.TaskARN)
	base := map[string]string{
		LabelTaskARN: t.TaskARN, LabelCluster: t.ClusterARN, LabelFamily: p.Family,
		LabelRevision: strconv.Itoa(int(p.Revision)), LabelInstance: h.InstanceID,
	}
	taskCPU, taskMem, err := taskSize(t)
	if err != nil {
		return nil, err
	}
	vols, volPlans, err := planVolumes(d.Volumes, p, suffix, base)
	if err != nil {
		return nil, err
	}
	p.Volumes = volPlans

	names := map[string]string{} // ECS name → runtime name
	for _, cd := range d.ContainerDefinitions {
		n := str(cd.Name)
		if n == "" {
			return nil, fmt.Errorf("a container definition has no name")
		}
		if _, dup := names[n]; dup {
			return nil, fmt.Errorf("two container definitions are named %q", n)
		}
		names[n] = runtimeName(p.Family, p.Revision, n, suffix)
	}
	var pauseName string
	switch p.NetworkMode {
	case runtime.NetworkBridge, runtime.NetworkHost, runtime.NetworkNone:
	case awsvpcMode:
		if t.ENI == nil || t.ENI.Network == "" || t.ENI.PrivateIPv4 == "" {
			return nil, fmt.Errorf("awsvpc task without a network interface assignment")
		}
		if h.PauseImage == "" {
			return nil, fmt.Errorf("awsvpc needs the pause image, which this agent does not have")
		}
		pauseName = runtimeName(p.Family, p.Revision, "internalecspause", suffix)
		p.Network = &runtime.NetworkSpec{
			Name: t.ENI.Network, Subnet: t.ENI.SubnetCIDR, Gateway: t.ENI.Gateway,
			Labels: map[string]string{LabelManaged: "true"},
		}
		labels := clone(base)
		labels[LabelContainerName] = PauseContainerName
		labels[LabelRole] = "pause"
		p.Pause = &runtime.ContainerSpec{
			Name: pauseName, Image: h.PauseImage, Labels: labels,
			NetworkMode: t.ENI.Network, IPv4Address: t.ENI.PrivateIPv4, MACAddress: t.ENI.MACAddress,
			Hostname: awsvpcHostname(t.ENI), CPUShares: minCPUShares, MemoryMiB: 16,
			StopTimeout: time.Second, Sysctls: map[string]string{},
		}
	default:
		return nil, fmt.Errorf("network mode %q is not supported", p.NetworkMode)
	}

	for _, cd := range d.ContainerDefinitions {
		cp, err := planContainer(t, h, p, &cd, containerOverride(t, str(cd.Name)), planCtx{
			base: base, names: names, vols: vols, pause: pauseName, taskCPU: taskCPU, taskMem: taskMem,
		})
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", str(cd.Name), err)
		}
		p.Containers = append(p.Containers, cp)
	}
	if p.Pause != nil && len(p.Containers) == 1 {
		ownNamespace(p)
	}
	if err := checkDependencies(p); err != nil {
		return nil, err
	}
	order, err := volumesFromOrder(p.Containers)
	if err != nil {
		return nil, err
	}
	p.Containers = order
	return p, nil
}

// ownNamespace gives a one-container awsvpc task's container the task's
// network namespace itself — the address, MAC, hostname and names the pause
// container would hold — and drops the pause container. The namespace
// then lives exactly as long as the task: its only container is essential,
// so the task stops when it exits. One container to create and start
// instead of two makes such a task start as fast as `docker run`.
func ownNamespace(p *TaskPlan) {
	pz, c := p.Pause, &p.Containers[0].Spec
	c.NetworkMode, c.IPv4Address, c.MACAddress, c.Hostname = pz.NetworkMode, pz.IPv4Address, pz.MACAddress, pz.Hostname
	c.DNSServers, c.DNSSearch, c.ExtraHosts = pz.DNSServers, pz.DNSSearch, pz.ExtraHosts
	for k, v := range pz.Sysctls {
		if c.Sysctls == nil {
			c.Sysctls = map[string]string{}
		}
		c.Sysctls[k] = v
	}
	p.Pause = nil
}

// planCtx is what every container's translation shares.
type planCtx struct {
	base    map[string]string // labels of every task object
	names   map[string]string // ECS container name → runtime name
	vols    map[string]runtime.Mount
	pause   string // the pause container's runtime name (awsvpc)
	taskCPU int64  // units; 0 = none
	taskMem int64  // MiB; 0 = none
}

func planContainer(t *agentproto.Task, h HostConfig, p *TaskPlan, cd *ecsapi.ContainerDefinition, ov *ecsapi.ContainerOverride, c planCtx) (ContainerPlan, error) {
	name := str(cd.Name)
	cp := ContainerPlan{Name: name, Essential: cd.Essential == nil || *cd.Essential}
	for _, ac := range t.Containers {
		if ac.Name == name {
			cp.ContainerARN = ac.ContainerARN
		}
	}
	files := cd.EnvironmentFiles
	if ov != nil && ov.EnvironmentFiles != nil {
		files = ov.EnvironmentFiles // an override's list replaces the definition's
	}
	if len(files) > MaxEnvFiles {
		return cp, fmt.Errorf("%d environmentFiles; at most %d are allowed", len(files), MaxEnvFiles)
	}
	for _, f := range files {
		ref, err := ParseEnvFileRef(str(f.Type), str(f.Value))
		if err != nil {
			return cp, err
		}
		cp.EnvFiles = append(cp.EnvFiles, ref)
	}
	if len(cd.Secrets) > 0 {
		return cp, fmt.Errorf("secrets are not injected by this agent yet; use environment instead")
	}
	if cd.LinuxParameters != nil && len(cd.LinuxParameters.Devices) > 0 {
		return cp, fmt.Errorf("linuxParameters.devices is not supported by this agent")
	}
	if str(cd.Image) == "" {
		return cp, fmt.Errorf("no image")
	}
	s := runtime.ContainerSpec{
		Name: c.names[name], Image: str(cd.Image), Command: cd.Command, EntryPoint: cd.EntryPoint,
		WorkingDir: str(cd.WorkingDirectory), User: str(cd.User), Hostname: str(cd.Hostname),
		Privileged: ptrBool(cd.Privileged), ReadonlyRootfs: ptrBool(cd.ReadonlyRootFilesystem),
		DNSServers: cd.DnsServers, DNSSearch: cd.DnsSearchDomains, StopTimeout: DefaultStopTimeout,
	}
	if cd.StopTimeout != nil && *cd.StopTimeout > 0 {
		s.StopTimeout = time.Duration(*cd.StopTimeout) * time.Second
	}

	// Labels: the definition's, then ECS's and Wharf's (which win).
	s.Labels = clone(cd.DockerLabels)
	for k, v := range c.base {
		s.Labels[k] = v
	}
	s.Labels[LabelContainerName] = name
	s.Labels[LabelContainerARN] = cp.ContainerARN
	s.Labels[LabelRole] = "task"

	// Environment: the agent's extras, the definition's, the overrides',
	// then what only the agent knows.
	s.Environment = map[string]string{}
	for k, v := range h.Env {
		s.Environment[k] = v
	}
	if h.Region != "" {
		s.Environment["AWS_REGION"] = h.Region
		s.Environment["AWS_DEFAULT_REGION"] = h.Region
	}
	for _, kv := range cd.Environment {
		s.Environment[str(kv.Name)] = str(kv.Value)
	}
	cpu, mem, memRes := int64(i32(cd.Cpu)), int64(i32(cd.Memory)), int64(i32(cd.MemoryReservation))
	if ov != nil {
		for _, kv := range ov.Environment {
			s.Environment[str(kv.Name)] = str(kv.Value)
		}
		if ov.Command != nil {
			s.Command = ov.Command
		}
		if ov.Cpu != nil {
			cpu = int64(*ov.Cpu)
		}
		if ov.Memory != nil {
			mem = int64(*ov.Memory)
		}
		if ov.MemoryReservation != nil {
			memRes = int64(*ov.MemoryReservation)
		}
	}
	s.Environment["AWS_EXECUTION_ENV"] = "AWS_ECS_EC2"
	if p.Fargate {
		s.Environment["AWS_EXECUTION_ENV"] = "AWS_ECS_FARGATE"
	}
	if h.Metadata != nil {
		v3, v4 := h.Metadata(t.TaskARN, name)
		if v3 != "" {
			s.Environment["ECS_CONTAINER_METADATA_URI"] = v3
		}
		if v4 != "" {
			s.Environment["ECS_CONTAINER_METADATA_URI_V4"] = v4
		}
	}
	if t.TaskRole != nil && h.Credentials != nil {
		for k, v := range h.Credentials(t.TaskARN) {
			s.Environment[k] = v
		}
	}

	// GPUs: the ones placement pinned to this container, as the ECS agent
	// hands them to the NVIDIA runtime (NVIDIA_VISIBLE_DEVICES), and as a
	// Docker device request (`docker run --gpus`).
	gpus, err := planGPUs(t, cd, ov)
	if err != nil {
		return cp, err
	}
	if len(gpus) > 0 {
		s.Environment[EnvNvidiaVisibleDevices] = strings.Join(gpus, ",")
		s.DeviceRequests = []runtime.DeviceRequest{{Driver: "nvidia", DeviceIDs: gpus, Capabilities: [][]string{{"gpu"}}}}
	}

	// Resources. ECS gives a container without cpu the minimum shares.
	s.CPUShares = max(cpu, minCPUShares)
	s.MemoryMiB, s.MemoryReservationMiB = mem, memRes
	if p.Fargate {
		if s.MemoryMiB == 0 || (c.taskMem > 0 && s.MemoryMiB > c.taskMem) {
			s.MemoryMiB = c.taskMem
		}
		if c.taskCPU > 0 {
			s.NanoCPUs = c.taskCPU * 1e9 / 1024
		}
	}
	if s.MemoryMiB > 0 && s.MemoryReservationMiB > s.MemoryMiB {
		return cp, fmt.Errorf("memoryReservation %d MiB exceeds memory %d MiB", s.MemoryReservationMiB, s.MemoryMiB)
	}
	for _, u := range cd.Ulimits {
		s.Ulimits = append(s.Ulimits, runtime.Ulimit{Name: str(u.Name), Soft: int64(i32(u.SoftLimit)), Hard: int64(i32(u.HardLimit))})
	}
	for _, e := range cd.ExtraHosts {
		s.ExtraHosts = append(s.ExtraHosts, str(e.Hostname)+":"+str(e.IpAddress))
	}
	for _, sc := range cd.SystemControls {
		if s.Sysctls == nil {
			s.Sysctls = map[string]string{}
		}
		s.Sysctls[str(sc.Namespace)] = str(sc.Value)
	}
	if lp := cd.LinuxParameters; lp != nil {
		if lp.Capabilities != nil {
			s.CapAdd, s.CapDrop = lp.Capabilities.Add, lp.Capabilities.Drop
		}
		s.Init = ptrBool(lp.InitProcessEnabled)
		s.ShmSizeMiB = int64(i32(lp.SharedMemorySize))
		for _, tf := range lp.Tmpfs {
			s.Mounts = append(s.Mounts, runtime.Mount{Type: runtime.MountTmpfs, Target: str(tf.ContainerPath), TmpfsSize: int64(i32(tf.Size)) << 20})
		}
	}
	if hc := cd.HealthCheck; hc != nil && len(hc.Command) > 0 {
		s.HealthCheck = &runtime.HealthCheck{
			Command:     hc.Command,
			Interval:    seconds(hc.Interval, 30),
			Timeout:     seconds(hc.Timeout, 5),
			Retries:     int(orDefault(hc.Retries, 3)),
			StartPeriod: seconds(hc.StartPeriod, 0),
		}
		if s.HealthCheck.Command[0] != "CMD" && s.HealthCheck.Command[0] != "CMD-SHELL" && s.HealthCheck.Command[0] != "NONE" {
			return cp, fmt.Errorf("healthCheck.command must start with CMD or CMD-SHELL, not %q", s.HealthCheck.Command[0])
		}
	}

	// Mounts and volumesFrom.
	for _, mp := range cd.MountPoints {
		m, ok := c.vols[str(mp.SourceVolume)]
		if !ok {
			return cp, fmt.Errorf("mountPoint names volume %q, which the task definition does not declare", str(mp.SourceVolume))
		}
		m.Target, m.ReadOnly = str(mp.ContainerPath), ptrBool(mp.ReadOnly)
		if m.Target == "" {
			return cp, fmt.Errorf("mountPoint of volume %q has no containerPath", str(mp.SourceVolume))
		}
		s.Mounts = append(s.Mounts, m)
	}
	for _, vf := range cd.VolumesFrom {
		src := str(vf.SourceContainer)
		rn, ok := c.names[src]
		if !ok {
			return cp, fmt.Errorf("volumesFrom names container %q, which is not in the task", src)
		}
		if ptrBool(vf.ReadOnly) {
			rn += ":ro"
		}
		s.VolumesFrom = append(s.VolumesFrom, rn)
		cp.VolumesFrom = append(cp.VolumesFrom, src)
	}
	for _, dep := range cd.DependsOn {
		cp.DependsOn = append(cp.DependsOn, Dependency{Container: str(dep.ContainerName), Condition: str(dep.Condition)})
	}

	// Network.
	switch p.NetworkMode {
	case runtime.NetworkBridge:
		s.NetworkMode = runtime.NetworkBridge
		if ptrBool(cd.DisableNetworking) {
			s.NetworkMode = runtime.NetworkNone
			break
		}
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort == nil {
				return cp, fmt.Errorf("containerPortRange is not supported; map each port")
			}
			proto := strings.ToLower(str(pm.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			host := i32(pm.HostPort)
			// A dynamic port (hostPort 0) is left to the runtime, which picks
			// a free ephemeral port and reports it (as the ECS agent does by
			// default): the port placement booked may be taken by a container
			// this control plane does not know of.
			for _, ac := range t.Containers {
				if host == 0 {
					break
				}
				if ac.Name != name {
					continue
				}
				for _, b := range ac.PortBindings {
					if b.ContainerPort == *pm.ContainerPort && strings.EqualFold(orStr(b.Protocol, "tcp"), proto) {
						host = b.HostPort
					}
				}
			}
			if *pm.ContainerPort <= 0 || *pm.ContainerPort > 65535 || host < 0 || host > 65535 {
				return cp, fmt.Errorf("port mapping %d:%d is out of range", host, *pm.ContainerPort)
			}
			s.PortMappings = append(s.PortMappings, runtime.PortMapping{ContainerPort: uint16(*pm.ContainerPort), HostPort: uint16(host), Protocol: proto})
		}
	case runtime.NetworkHost, runtime.NetworkNone:
		s.NetworkMode = p.NetworkMode
	case awsvpcMode:
		// Joining the pause container's namespace: what names the host
		// (hostname, DNS, /etc/hosts, net.* sysctls) belongs to the pause
		// container, which Docker requires.
		s.NetworkMode = runtime.NetworkContainer(c.pause)
		s.Hostname = ""
		p.Pause.DNSServers = appendNew(p.Pause.DNSServers, s.DNSServers...)
		p.Pause.DNSSearch = appendNew(p.Pause.DNSSearch, s.DNSSearch...)
		p.Pause.ExtraHosts = appendNew(p.Pause.ExtraHosts, s.ExtraHosts...)
		s.DNSServers, s.DNSSearch, s.ExtraHosts = nil, nil, nil
		for k, v := range s.Sysctls {
			if strings.HasPrefix(k, "net.") {
				p.Pause.Sysctls[k] = v
				delete(s.Sysctls, k)
			}
		}
	}
	cp.Spec = s
	return cp, nil
}

// EnvNvidiaVisibleDevices names the GPUs a container may use, for the
// NVIDIA container runtime.
const EnvNvidiaVisibleDevices = "NVIDIA_VISIBLE_DEVICES"

// planGPUs returns the GPU IDs the assignment pins to container cd, after
// checking they are as many as its resourceRequirements GPU (overrides'
// first) asks for.
func planGPUs(t *agentproto.Task, cd *ecsapi.ContainerDefinition, ov *ecsapi.ContainerOverride) ([]string, error) {
	reqs := cd.ResourceRequirements
	if ov != nil && ov.ResourceRequirements != nil {
		reqs = ov.ResourceRequirements
	}
	want := 0
	for _, r := range reqs {
		if str(r.Type) != "GPU" {
			continue
		}
		n, err := strconv.Atoi(str(r.Value))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("resourceRequirements GPU %q is not a number of GPUs", str(r.Value))
		}
		want += n
	}
	var ids []string
	for _, ac := range t.Containers {
		if ac.Name == str(cd.Name) {
			ids = ac.GPUIDs
		}
	}
	if len(ids) != want {
		return nil, fmt.Errorf("needs %d GPUs but the assignment pins %d to it", want, len(ids))
	}
	return ids, nil
}

// planVolumes translates the task's volumes into mounts by volume name.
func planVolumes(vs []ecsapi.Volume, p *TaskPlan, suffix string, base map[string]string) (map[string]runtime.Mount, []VolumePlan, error) {
	mounts := map[string]runtime.Mount{}
	var plans []VolumePlan
	taskVolume := func(name string, dvc *ecsapi.DockerVolumeConfiguration) runtime.Mount {
		labels := clone(base)
		labels[LabelRole] = "volume"
		spec := runtime.VolumeSpec{Name: runtimeName(p.Family, p.Revision, name, suffix), Labels: labels}
		if dvc != nil {
			spec.Driver, spec.DriverOpts = str(dvc.Driver), dvc.DriverOpts
			for k, v := range dvc.Labels {
				if _, ours := labels[k]; !ours {
					labels[k] = v
				}
			}
		}
		plans = append(plans, VolumePlan{Spec: spec, TaskScoped: true})
		return runtime.Mount{Type: runtime.MountVolume, Source: spec.Name}
	}
	for _, v := range vs {
		name := str(v.Name)
		if name == "" {
			return nil, nil, fmt.Errorf("a volume has no name")
		}
		switch {
		case v.EfsVolumeConfiguration != nil || v.FsxWindowsFileServerVolumeConfiguration != nil || v.S3filesVolumeConfiguration != nil:
			return nil, nil, fmt.Errorf("volume %q: EFS, FSx and S3 Files volumes are not supported by this agent", name)
		case v.DockerVolumeConfiguration != nil:
			dvc := v.DockerVolumeConfiguration
			if orStr(str(dvc.Scope), "task") == "task" {
				mounts[name] = taskVolume(name, dvc)
				continue
			}
			if ptrBool(dvc.Autoprovision) {
				plans = append(plans, VolumePlan{Spec: runtime.VolumeSpec{
					Name: name, Driver: str(dvc.Driver), DriverOpts: dvc.DriverOpts, Labels: dvc.Labels,
				}})
			}
			mounts[name] = runtime.Mount{Type: runtime.MountVolume, Source: name}
		case v.Host != nil && str(v.Host.SourcePath) != "":
			mounts[name] = runtime.Mount{Type: runtime.MountBind, Source: str(v.Host.SourcePath)}
		default: // host volume without a path: scratch shared by the task's containers
			mounts[name] = taskVolume(name, nil)
		}
	}
	return mounts, plans, nil
}

// checkDependencies refuses dependsOn entries naming unknown containers,
// unknown conditions, or forming a cycle.
func checkDependencies(p *TaskPlan) error {
	known := map[string]bool{}
	for _, c := range p.Containers {
		known[c.Name] = true
	}
	for _, c := range p.Containers {
		for _, d := range c.DependsOn {
			if !known[d.Container] {
				return fmt.Errorf("container %s depends on %q, which is not in the task", c.Name, d.Container)
			}
			switch d.Condition {
			case CondStart, CondComplete, CondSuccess:
			case CondHealthy:
				dep, _ := p.Container(d.Container)
				if dep.Spec.HealthCheck == nil {
					return fmt.Errorf("container %s depends on %s being HEALTHY, but %s has no healthCheck", c.Name, d.Container, d.Container)
				}
			default:
				return fmt.Errorf("container %s: unknown dependsOn condition %q", c.Name, d.Condition)
			}
		}
	}
	// Cycle check: repeatedly remove containers whose dependencies are gone.
	left := map[string][]string{}
	for _, c := range p.Containers {
		for _, d := range c.DependsOn {
			left[c.Name] = append(left[c.Name], d.Container)
		}
		left[c.Name] = append(left[c.Name], c.VolumesFrom...)
	}
	done := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, c := range p.Containers {
			if done[c.Name] {
				continue
			}
			ready := true
			for _, d := range left[c.Name] {
				ready = ready && done[d]
			}
			if ready {
				done[c.Name], progress = true, true
			}
		}
	}
	for _, c := range p.Containers {
		if !done[c.Name] {
			return fmt.Errorf("container %s: dependsOn/volumesFrom form a cycle", c.Name)
		}
	}
	return nil
}

// volumesFromOrder puts volumesFrom sources before the containers that
// mount from them, keeping definition order otherwise.
func volumesFromOrder(cs []ContainerPlan) ([]ContainerPlan, error) {
	var out []ContainerPlan
	placed := map[string]bool{}
	for len(out) < len(cs) {
		n := len(out)
		for _, c := range cs {
			if placed[c.Name] {
				continue
			}
			ok := true
			for _, v := range c.VolumesFrom {
				ok = ok && placed[v]
			}
			if ok {
				out = append(out, c)
				placed[c.Name] = true
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("volumesFrom forms a cycle")
		}
	}
	return out, nil
}

// taskSize is the task's cpu (units) and memory (MiB): the assignment's,
// else the overrides', else the definition's; 0 when none.
func taskSize(t *agentproto.Task) (cpu, mem int64, err error) {
	cpuS, memS := t.CPU, t.Memory
	if o := t.Overrides; o != nil {
		cpuS, memS = orStr(cpuS, str(o.Cpu)), orStr(memS, str(o.Memory))
	}
	cpuS, memS = orStr(cpuS, str(t.Definition.Cpu)), orStr(memS, str(t.Definition.Memory))
	if cpu, err = size(cpuS, "vcpu", 1024); err != nil {
		return 0, 0, fmt.Errorf("task cpu %q: %w", cpuS, err)
	}
	if mem, err = size(memS, "gb", 1024); err != nil {
		return 0, 0, fmt.Errorf("task memory %q: %w", memS, err)
	}
	return cpu, mem, nil
}

// size parses "512" or "0.5 vCPU" / "2 GB" (unit scaled by mul).
func size(s, unit string, mul float64) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	if v, ok := strings.CutSuffix(s, unit); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 {
			return int64(f * mul), nil
		}
	}
	return 0, fmt.Errorf("not a size")
}

func containerOverride(t *agentproto.Task, name string) *ecsapi.ContainerOverride {
	if t.Overrides == nil {
		return nil
	}
	for i := range t.Overrides.ContainerOverrides {
		if str(t.Overrides.ContainerOverrides[i].Name) == name {
			return &t.Overrides.ContainerOverrides[i]
		}
	}
	return nil
}

// awsvpcHostname is the ENI's private DNS name's first label, or the
// "ip-10-0-0-1" form EC2 gives.
func awsvpcHostname(e *agentproto.ENI) string {
	if e.PrivateDNSName != "" {
		h, _, _ := strings.Cut(e.PrivateDNSName, ".")
		return h
	}
	return "ip-" + strings.ReplaceAll(e.PrivateIPv4, ".", "-")
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func ptrBool(p *bool) bool { return p != nil && *p }

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefault(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func seconds(p *int32, def int32) time.Duration {
	return time.Duration(orDefault(p, def)) * time.Second
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+8)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, x := range list {
			found = found || x == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}
