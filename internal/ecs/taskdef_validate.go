package ecs

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/placement"
	"github.com/wharfhq/wharf/internal/ptr"
)

// This file is the task-definition validation of RegisterTaskDefinition:
// pure functions of the request, checking what ECS checks beyond the
// model's constraints (which the edge has already enforced) and returning
// the definition as ECS stores it (defaults filled, cpu and memory in
// units and MiB).

var (
	familyRE        = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	volumeNameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
)

const maxContainers = 10

// fargateMemory lists, for each Fargate task cpu value (CPU units), the
// allowed memory values in MiB.
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, by int) []int {
	var out []int
	for v := from; v <= to; v += by {
		out = append(out, v)
	}
	return out
}

// parseTaskCPU reads a task cpu value: CPU units ("1024") or vCPUs
// ("1 vCPU", ".5 vcpu").
func parseTaskCPU(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0
	}
	lower := strings.ToLower(s)
	num, ok := strings.CutSuffix(lower, "vcpu")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f <= 0 {
		return 0, false
	}
	units := f * 1024
	if units != float64(int(units)) {
		return 0, false
	}
	return int(units), true
}

// parseTaskMemory reads a task memory value: MiB ("1024") or GB ("1 GB").
func parseTaskMemory(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0
	}
	lower := strings.ToLower(s)
	num, ok := strings.CutSuffix(lower, "gb")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f <= 0 {
		return 0, false
	}
	mib := f * 1024
	if mib != float64(int(mib)) {
		return 0, false
	}
	return int(mib), true
}

// validRoleARN accepts an IAM role ARN or a role name.
func validRoleARN(s string) bool {
	if !strings.HasPrefix(s, "arn:") {
		return validRoleName(s)
	}
	_, kind, _, _, err := arn.SplitIAM(s)
	return err == nil && kind == "role"
}

func validRoleName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("_+=,.@-", c)
		if !ok {
			return false
		}
	}
	return true
}

// validTaskDefinition checks a RegisterTaskDefinition request and returns
// the definition ECS would store, without its identity (ARN, revision,
// status, registration time), which the caller adds.
func validTaskDefinition(in *ecsapi.RegisterTaskDefinitionRequest) (ecsapi.TaskDefinition, error) {
	var td ecsapi.TaskDefinition
	family := ptr.Value(in.Family)
	if !familyRE.MatchString(family) {
		return td, clientErr("Invalid family name. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return td, clientErr("Container list cannot be empty.")
	}
	if len(in.ContainerDefinitions) > maxContainers {
		return td, clientErr("Too many containers. A task definition can have at most %d containers.", maxContainers)
	}
	fargate := slices.Contains(in.RequiresCompatibilities, "FARGATE")
	mode := ptr.Or(in.NetworkMode, "bridge")
	if fargate && mode != "awsvpc" {
		return td, clientErr("Fargate only supports network mode 'awsvpc'.")
	}

	// Task size.
	taskCPU, taskMem := 0, 0
	if in.Cpu != nil {
		n, ok := parseTaskCPU(*in.Cpu)
		if !ok || !fargate && (n < 128 || n > 196608) {
			return td, clientErr("Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
		}
		taskCPU = n
	}
	if in.Memory != nil {
		n, ok := parseTaskMemory(*in.Memory)
		if !ok || n < 6 {
			return td, clientErr("Invalid 'memory' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
		}
		taskMem = n
	}
	if fargate {
		if in.Cpu == nil {
			return td, clientErr("Fargate requires that 'cpu' be defined at the task level.")
		}
		if in.Memory == nil {
			return td, clientErr("Fargate requires that 'memory' be defined at the task level.")
		}
		mems, ok := fargateMemory[taskCPU]
		if !ok {
			return td, clientErr("Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
		}
		if !slices.Contains(mems, taskMem) {
			return td, clientErr("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", taskCPU, taskMem)
		}
		if len(in.PlacementConstraints) > 0 {
			return td, clientErr("Task definition placement constraints are not supported for the Fargate launch type.")
		}
		if in.IpcMode != nil {
			return td, clientErr("Fargate does not support the 'ipcMode' parameter.")
		}
	}
	if in.EphemeralStorage != nil {
		if !fargate {
			return td, clientErr("Ephemeral storage configuration is only supported for tasks using the Fargate launch type.")
		}
		if n := ptr.Value(in.EphemeralStorage.SizeInGiB); n < 21 || n > 200 {
			return td, clientErr("The ephemeral storage size must be between 21 GiB and 200 GiB.")
		}
	}
	for _, r := range []*string{in.TaskRoleArn, in.ExecutionRoleArn} {
		if r != nil && !validRoleARN(*r) {
			return td, clientErr("Role is not valid")
		}
	}
	if len(in.PlacementConstraints) > 10 {
		return td, clientErr("The number of placement constraints cannot exceed 10.")
	}
	for _, pc := range in.PlacementConstraints {
		if ptr.Value(pc.Type) == "memberOf" && strings.TrimSpace(ptr.Value(pc.Expression)) == "" {
			return td, clientErr("Placement constraint expression is required for the memberOf type.")
		}
		if _, err := placement.NewConstraint(ptr.Value(pc.Type), ptr.Value(pc.Expression)); err != nil {
			return td, clientErr("%s", err.Error())
		}
	}

	// Volumes.
	volumes := map[string]bool{}
	var outVolumes []ecsapi.Volume
	for _, v := range in.Volumes {
		name := ptr.Value(v.Name)
		if !volumeNameRE.MatchString(name) {
			return td, clientErr("Invalid volume name '%s'. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", name)
		}
		if volumes[name] {
			return td, clientErr("Duplicate volume name '%s'.", name)
		}
		volumes[name] = true
		if v.Host != nil && v.Host.SourcePath != nil {
			if fargate {
				return td, clientErr("Fargate compatible task definitions do not support sourcePath")
			}
			if *v.Host.SourcePath == "" {
				return td, clientErr("host.sourcePath should not be blank.")
			}
		}
		if v.DockerVolumeConfiguration != nil && fargate {
			return td, clientErr("Fargate compatible task definitions do not support dockerVolumeConfiguration")
		}
		outVolumes = append(outVolumes, v)
	}

	// Containers.
	names := map[string]int{}
	for i, c := range in.ContainerDefinitions {
		name := ptr.Value(c.Name)
		if name == "" {
			return td, clientErr("Container.name should not be null or empty.")
		}
		if !containerNameRE.MatchString(name) {
			return td, clientErr("Invalid container name '%s'. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", name)
		}
		if _, dup := names[name]; dup {
			return td, clientErr("Duplicate container name '%s'. Container names must be unique within a task definition.", name)
		}
		names[name] = i
	}
	defs := make([]ecsapi.ContainerDefinition, len(in.ContainerDefinitions))
	essential, sumCPU, sumReserve := 0, 0, 0
	type hostPort struct {
		port  int32
		proto string
	}
	usedPorts := map[hostPort]string{}
	for i, c := range in.ContainerDefinitions {
		name := ptr.Value(c.Name)
		if strings.TrimSpace(ptr.Value(c.Image)) == "" {
			return td, clientErr("Container.image should not be null or empty.")
		}
		if c.Essential == nil {
			c.Essential = ptr.To(true)
		}
		if *c.Essential {
			essential++
		}
		if c.Cpu == nil {
			c.Cpu = ptr.To(int32(0))
		}
		if *c.Cpu < 0 {
			return td, clientErr("Invalid 'cpu' setting for container '%s'.", name)
		}
		sumCPU += int(*c.Cpu)
		mem, res := ptr.Value(c.Memory), ptr.Value(c.MemoryReservation)
		if c.Memory == nil && c.MemoryReservation == nil && taskMem == 0 {
			return td, clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", name)
		}
		if c.Memory != nil && mem < 6 {
			return td, clientErr("Invalid 'memory' setting for container '%s'. The minimum is 6 MiB.", name)
		}
		if c.MemoryReservation != nil && res < 6 {
			return td, clientErr("Invalid 'memoryReservation' setting for container '%s'. The minimum is 6 MiB.", name)
		}
		if c.Memory != nil && c.MemoryReservation != nil && res > mem {
			return td, clientErr("Invalid setting for container '%s'. 'memoryReservation' must be less than or equal to 'memory'.", name)
		}
		if taskMem > 0 && c.Memory != nil && int(mem) > taskMem {
			return td, clientErr("Invalid 'memory' setting for container '%s'. The container memory (%d) must not exceed the task memory (%d).", name, mem, taskMem)
		}
		if c.MemoryReservation != nil {
			sumReserve += int(res)
		} else {
			sumReserve += int(mem)
		}

		// Ports.
		if mode == "none" && len(c.PortMappings) > 0 {
			return td, clientErr("Port mappings are not supported for containers in network mode 'none'.")
		}
		if len(c.Links) > 0 && mode != "bridge" {
			return td, clientErr("Links are not supported when networkMode=%s.", mode)
		}
		pms := make([]ecsapi.PortMapping, 0, len(c.PortMappings))
		for _, pm := range c.PortMappings {
			proto := ptr.Or(pm.Protocol, "tcp")
			pm.Protocol = ptr.To(proto)
			if pm.ContainerPortRange != nil {
				if pm.ContainerPort != nil || pm.HostPort != nil {
					return td, clientErr("Invalid port mapping for container '%s'. containerPortRange cannot be set with containerPort or hostPort.", name)
				}
				if !validPortRange(*pm.ContainerPortRange) {
					return td, clientErr("Invalid 'containerPortRange' setting for container '%s'.", name)
				}
				pms = append(pms, pm)
				continue
			}
			cp := ptr.Value(pm.ContainerPort)
			if pm.ContainerPort == nil || cp < 1 || cp > 65535 {
				return td, clientErr("Invalid 'containerPort' setting for container '%s'.", name)
			}
			hp := ptr.Value(pm.HostPort)
			if hp < 0 || hp > 65535 {
				return td, clientErr("Invalid 'hostPort' setting for container '%s'.", name)
			}
			switch mode {
			case "awsvpc", "host":
				if pm.HostPort != nil && hp != cp && !(mode == "awsvpc" && hp == 0) {
					return td, clientErr("When networkMode=%s, the host ports and container ports in port mappings must match.", mode)
				}
				pm.HostPort = ptr.To(cp)
				hp = cp
			default:
				if pm.HostPort == nil {
					pm.HostPort = ptr.To(int32(0))
				}
			}
			if hp != 0 {
				k := hostPort{hp, proto}
				if other, dup := usedPorts[k]; dup {
					return td, clientErr("Invalid 'hostPort' setting for container '%s'. Host port %d/%s is already used by container '%s'.", name, hp, proto, other)
				}
				usedPorts[k] = name
			}
			pms = append(pms, pm)
		}
		c.PortMappings = pms

		// Health check: ECS's limits, and its defaults filled in.
		if hc := c.HealthCheck; hc != nil {
			h := *hc
			if len(h.Command) == 0 {
				return td, clientErr("Invalid 'healthCheck' setting for container '%s'. The command must not be empty.", name)
			}
			switch h.Command[0] {
			case "CMD", "CMD-SHELL", "NONE":
			default:
				return td, clientErr("Invalid 'healthCheck' setting for container '%s'. The command must start with CMD, CMD-SHELL or NONE.", name)
			}
			if err := between(name, "interval", &h.Interval, 30, 5, 300); err != nil {
				return td, err
			}
			if err := between(name, "timeout", &h.Timeout, 5, 2, 120); err != nil {
				return td, err
			}
			if err := between(name, "retries", &h.Retries, 3, 1, 10); err != nil {
				return td, err
			}
			if err := between(name, "startPeriod", &h.StartPeriod, 0, 0, 300); err != nil {
				return td, err
			}
			c.HealthCheck = &h
		}

		// Volumes.
		for _, mp := range c.MountPoints {
			src := ptr.Value(mp.SourceVolume)
			if !volumes[src] {
				return td, clientErr("Unknown volume '%s'.", src)
			}
			if !strings.HasPrefix(ptr.Value(mp.ContainerPath), "/") {
				return td, clientErr("Invalid 'containerPath' setting for container '%s'. It must be an absolute path.", name)
			}
		}
		for _, vf := range c.VolumesFrom {
			src := ptr.Value(vf.SourceContainer)
			if _, ok := names[src]; !ok || src == name {
				return td, clientErr("Invalid 'volumesFrom' setting for container '%s'. Unknown source container '%s'.", name, src)
			}
		}

		// Limits and Linux parameters.
		seen := map[string]bool{}
		for _, u := range c.Ulimits {
			un := ptr.Value(u.Name)
			if seen[un] {
				return td, clientErr("Duplicate ulimit '%s' for container '%s'.", un, name)
			}
			seen[un] = true
			if ptr.Value(u.SoftLimit) > ptr.Value(u.HardLimit) {
				return td, clientErr("Invalid ulimit '%s' for container '%s'. The softLimit must be less than or equal to the hardLimit.", un, name)
			}
			if fargate && un == "nofile" && ptr.Value(u.HardLimit) > 1048576 {
				return td, clientErr("Invalid ulimit 'nofile' for container '%s'. Fargate allows a hardLimit of at most 1048576.", name)
			}
		}
		if lp := c.LinuxParameters; lp != nil {
			if fargate && (lp.MaxSwap != nil || lp.Swappiness != nil) {
				return td, clientErr("Fargate does not support the 'maxSwap' or 'swappiness' parameters.")
			}
			if fargate && len(lp.Devices) > 0 {
				return td, clientErr("Fargate does not support the 'devices' parameter.")
			}
			if fargate && lp.SharedMemorySize != nil {
				return td, clientErr("Fargate does not support the 'sharedMemorySize' parameter.")
			}
			if s := lp.Swappiness; s != nil && (*s < 0 || *s > 100) {
				return td, clientErr("Invalid 'swappiness' setting for container '%s'. It must be between 0 and 100.", name)
			}
			if s := lp.MaxSwap; s != nil && *s < 0 {
				return td, clientErr("Invalid 'maxSwap' setting for container '%s'.", name)
			}
			for _, t := range lp.Tmpfs {
				if ptr.Value(t.Size) <= 0 || !strings.HasPrefix(ptr.Value(t.ContainerPath), "/") {
					return td, clientErr("Invalid 'tmpfs' setting for container '%s'.", name)
				}
			}
		}
		if fargate && ptr.Value(c.Privileged) {
			return td, clientErr("Fargate does not support privileged containers.")
		}
		for _, r := range c.ResourceRequirements {
			if ptr.Value(r.Type) == "GPU" {
				if fargate {
					return td, clientErr("Fargate does not support GPU resource requirements.")
				}
				if n, err := strconv.Atoi(ptr.Value(r.Value)); err != nil || n < 1 {
					return td, clientErr("Invalid GPU resource requirement for container '%s'.", name)
				}
			}
		}
		for _, s := range c.Secrets {
			if strings.TrimSpace(ptr.Value(s.Name)) == "" || strings.TrimSpace(ptr.Value(s.ValueFrom)) == "" {
				return td, clientErr("Invalid 'secrets' setting for container '%s'. Each secret needs a name and a valueFrom.", name)
			}
		}
		for _, e := range c.Environment {
			if ptr.Value(e.Name) == "" {
				return td, clientErr("Invalid 'environment' setting for container '%s'. Each variable needs a name.", name)
			}
		}
		for _, f := range c.EnvironmentFiles {
			if ptr.Value(f.Type) != "s3" || !arn.Valid(ptr.Value(f.Value)) {
				return td, clientErr("Invalid 'environmentFiles' setting for container '%s'. The value must be the ARN of an S3 object.", name)
			}
		}
		if lc := c.LogConfiguration; lc != nil {
			d := ptr.Value(lc.LogDriver)
			if fargate {
				switch d {
				case "awslogs", "splunk", "awsfirelens":
				default:
					return td, clientErr("Log driver %s is not supported on Fargate. Supported log drivers: awslogs, splunk, awsfirelens.", d)
				}
				if d == "awslogs" && ptr.Value(in.ExecutionRoleArn) == "" {
					return td, clientErr("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
				}
			}
			if len(lc.SecretOptions) > 0 && ptr.Value(in.ExecutionRoleArn) == "" {
				return td, clientErr("The secretOptions of a log configuration require an execution role ARN.")
			}
		}
		if fargate && len(c.Secrets) > 0 && ptr.Value(in.ExecutionRoleArn) == "" {
			return td, clientErr("Fargate requires task definition to have execution role ARN to support secrets.")
		}
		if st := c.StopTimeout; st != nil && (*st < 0 || fargate && *st > 120) {
			return td, clientErr("Invalid 'stopTimeout' setting for container '%s'. The maximum for Fargate is 120 seconds.", name)
		}
		if st := c.StartTimeout; st != nil && *st < 0 {
			return td, clientErr("Invalid 'startTimeout' setting for container '%s'.", name)
		}

		if c.Environment == nil {
			c.Environment = []ecsapi.KeyValuePair{}
		}
		if c.MountPoints == nil {
			c.MountPoints = []ecsapi.MountPoint{}
		}
		if c.VolumesFrom == nil {
			c.VolumesFrom = []ecsapi.VolumeFrom{}
		}
		defs[i] = c
	}
	if essential == 0 {
		return td, clientErr("Task definition doesn't have any essential container.")
	}
	if taskCPU > 0 && sumCPU > taskCPU {
		return td, clientErr("Invalid 'cpu' setting for task. The sum of the container cpu values (%d) must not exceed the task cpu (%d).", sumCPU, taskCPU)
	}
	if taskMem > 0 && sumReserve > taskMem {
		return td, clientErr("Invalid 'memory' setting for task. The sum of the container memory reservations (%d) must not exceed the task memory (%d).", sumReserve, taskMem)
	}
	if err := validDependencies(defs, names); err != nil {
		return td, err
	}
	if pc := in.ProxyConfiguration; pc != nil {
		if mode != "awsvpc" {
			return td, clientErr("Proxy configuration requires network mode 'awsvpc'.")
		}
		if _, ok := names[ptr.Value(pc.ContainerName)]; !ok {
			return td, clientErr("Proxy configuration container '%s' is not a container of the task definition.", ptr.Value(pc.ContainerName))
		}
	}

	td = ecsapi.TaskDefinition{
		Family:                  ptr.To(family),
		ContainerDefinitions:    defs,
		NetworkMode:             ptr.To(mode),
		Volumes:                 outVolumes,
		PlacementConstraints:    in.PlacementConstraints,
		RequiresCompatibilities: in.RequiresCompatibilities,
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		RuntimePlatform:         in.RuntimePlatform,
		EphemeralStorage:        in.EphemeralStorage,
		IpcMode:                 in.IpcMode,
		PidMode:                 in.PidMode,
		ProxyConfiguration:      in.ProxyConfiguration,
		InferenceAccelerators:   in.InferenceAccelerators,
		EnableFaultInjection:    in.EnableFaultInjection,
	}
	if td.Volumes == nil {
		td.Volumes = []ecsapi.Volume{}
	}
	if td.PlacementConstraints == nil {
		td.PlacementConstraints = []ecsapi.TaskDefinitionPlacementConstraint{}
	}
	if td.RequiresCompatibilities == nil {
		td.RequiresCompatibilities = []string{}
	}
	if taskCPU > 0 {
		td.Cpu = ptr.To(strconv.Itoa(taskCPU))
	}
	if taskMem > 0 {
		td.Memory = ptr.To(strconv.Itoa(taskMem))
	}
	td.Compatibilities = compatibilities(mode, taskCPU, taskMem, outVolumes)
	td.RequiresAttributes = requiredAttributes(&td)
	return td, nil
}

func validPortRange(s string) bool {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	return ok && err1 == nil && err2 == nil && 1 <= a && a < b && b <= 65535
}

// between checks an optional health-check field against [min, max] and
// fills in the default.
func between(container, field string, v **int32, def, min, max int32) error {
	if *v == nil {
		*v = ptr.To(def)
		return nil
	}
	if **v < min || **v > max {
		return clientErr("Invalid 'healthCheck.%s' setting for container '%s'. It must be between %d and %d.", field, container, min, max)
	}
	return nil
}

// validDependencies checks dependsOn: known containers, the conditions'
// requirements and no cycle.
func validDependencies(defs []ecsapi.ContainerDefinition, names map[string]int) error {
	for _, c := range defs {
		name := ptr.Value(c.Name)
		for _, d := range c.DependsOn {
			dep := ptr.Value(d.ContainerName)
			j, ok := names[dep]
			if !ok {
				return clientErr("Invalid 'dependsOn' setting for container '%s'. Container '%s' does not exist in the task definition.", name, dep)
			}
			if dep == name {
				return clientErr("Invalid 'dependsOn' setting for container '%s'. A container cannot depend on itself.", name)
			}
			switch ptr.Value(d.Condition) {
			case "SUCCESS", "COMPLETE":
				if ptr.Value(defs[j].Essential) {
					return clientErr("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
				}
			case "HEALTHY":
				if defs[j].HealthCheck == nil {
					return clientErr("Invalid 'dependsOn' setting for container '%s'. Container '%s' has no healthCheck, which the HEALTHY condition requires.", name, dep)
				}
			}
		}
	}
	// Depth-first search for a cycle.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(defs))
	var path []string
	var visit func(i int) error
	visit = func(i int) error {
		color[i] = grey
		path = append(path, ptr.Value(defs[i].Name))
		for _, d := range defs[i].DependsOn {
			j := names[ptr.Value(d.ContainerName)]
			switch color[j] {
			case grey:
				return clientErr("Invalid 'dependsOn' setting. The container dependencies form a cycle: %s -> %s.", strings.Join(path, " -> "), ptr.Value(defs[j].Name))
			case white:
				if err := visit(j); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		color[i] = black
		return nil
	}
	for i := range defs {
		if color[i] == white {
			if err := visit(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// compatibilities are the launch types a definition can run on, as ECS
// computes them.
func compatibilities(mode string, cpu, mem int, volumes []ecsapi.Volume) []string {
	out := []string{"EC2"}
	if mode != "awsvpc" {
		out = append(out, "EXTERNAL")
	}
	fargateOK := mode == "awsvpc" && slices.Contains(fargateMemory[cpu], mem)
	for _, v := range volumes {
		if v.Host != nil && v.Host.SourcePath != nil || v.DockerVolumeConfiguration != nil {
			fargateOK = false
		}
	}
	if fargateOK {
		out = append(out, "FARGATE")
	}
	return out
}

// requiredAttributes are the agent capabilities a container instance
// needs to run the definition, as ECS lists them in requiresAttributes.
func requiredAttributes(td *ecsapi.TaskDefinition) []ecsapi.Attribute {
	set := map[string]bool{}
	add := func(name string) { set[name] = true }
	if ptr.Value(td.NetworkMode) == "awsvpc" {
		add("ecs.capability.task-eni")
	}
	if td.TaskRoleArn != nil {
		add("com.amazonaws.ecs.capability.task-iam-role")
	}
	for _, c := range td.ContainerDefinitions {
		if c.HealthCheck != nil {
			add("ecs.capability.container-health-check")
		}
		if len(c.DependsOn) > 0 {
			add("ecs.capability.container-ordering")
		}
		if lc := c.LogConfiguration; lc != nil {
			d := ptr.Value(lc.LogDriver)
			add("com.amazonaws.ecs.capability.logging-driver." + d)
			if d == "awslogs" && td.ExecutionRoleArn != nil {
				add("ecs.capability.execution-role-awslogs")
			}
		}
		if len(c.Secrets) > 0 {
			add("ecs.capability.secrets.asm.environment-variables")
		}
		if len(c.DockerLabels) > 0 {
			add("com.amazonaws.ecs.capability.docker-remote-api.1.18")
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	out := []ecsapi.Attribute{}
	for _, n := range names {
		out = append(out, ecsapi.Attribute{Name: ptr.To(n)})
	}
	return out
}
