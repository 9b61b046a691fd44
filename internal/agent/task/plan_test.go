package task

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/runtime"
)

const testTaskARN = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef"

func testHost() HostConfig {
	return HostConfig{
		InstanceID: "i-0abc", Region: "eu-west-1", PauseImage: "wharf/pause:x",
		Metadata: func(task, c string) (string, string) {
			return "http://169.254.170.2/v3/" + c, "http://169.254.170.2/v4/" + c
		},
		Credentials: func(task string) map[string]string {
			return map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/" + task[len(task)-4:]}
		},
		Env: map[string]string{"AWS_ENDPOINT_URL": "http://wharf:4566", "KEEP": "agent"},
	}
}

func bridgeTask() *agentproto.Task {
	return &agentproto.Task{
		TaskARN: testTaskARN, ClusterARN: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
		DesiredStatus: "RUNNING", LaunchType: "EC2",
		Definition: ecsapi.TaskDefinition{
			Family: ptr.To("web"), Revision: ptr.To[int32](3),
			Volumes: []ecsapi.Volume{
				{Name: ptr.To("data"), Host: &ecsapi.HostVolumeProperties{SourcePath: ptr.To("/srv/data")}},
				{Name: ptr.To("scratch"), Host: &ecsapi.HostVolumeProperties{}},
				{Name: ptr.To("cache"), DockerVolumeConfiguration: &ecsapi.DockerVolumeConfiguration{Scope: ptr.To("task"), Driver: ptr.To("local")}},
				{Name: ptr.To("shared"), DockerVolumeConfiguration: &ecsapi.DockerVolumeConfiguration{Scope: ptr.To("shared"), Autoprovision: ptr.To(true)}},
			},
			ContainerDefinitions: []ecsapi.ContainerDefinition{
				{
					Name: ptr.To("app"), Image: ptr.To("repo/app:1"), Cpu: ptr.To[int32](256), Memory: ptr.To[int32](512), MemoryReservation: ptr.To[int32](128),
					Command: []string{"serve"}, EntryPoint: []string{"/app"}, WorkingDirectory: ptr.To("/w"), User: ptr.To("1000:1000"),
					Environment:  []ecsapi.KeyValuePair{{Name: ptr.To("KEEP"), Value: ptr.To("def")}, {Name: ptr.To("MODE"), Value: ptr.To("def")}},
					DockerLabels: map[string]string{"team": "x", LabelCluster: "spoofed"},
					PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr.To[int32](80)}, {ContainerPort: ptr.To[int32](53), Protocol: ptr.To("udp"), HostPort: ptr.To[int32](5353)}},
					Ulimits:      []ecsapi.Ulimit{{Name: ptr.To("nofile"), SoftLimit: ptr.To[int32](1024), HardLimit: ptr.To[int32](4096)}},
					LinuxParameters: &ecsapi.LinuxParameters{
						Capabilities:       &ecsapi.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
						InitProcessEnabled: ptr.To(true), SharedMemorySize: ptr.To[int32](64),
						Tmpfs: []ecsapi.Tmpfs{{ContainerPath: ptr.To("/run"), Size: ptr.To[int32](16)}},
					},
					Privileged: ptr.To(true), ReadonlyRootFilesystem: ptr.To(true),
					DnsServers: []string{"10.0.0.2"}, DnsSearchDomains: []string{"corp"},
					ExtraHosts:     []ecsapi.HostEntry{{Hostname: ptr.To("db"), IpAddress: ptr.To("10.0.0.9")}},
					SystemControls: []ecsapi.SystemControl{{Namespace: ptr.To("net.core.somaxconn"), Value: ptr.To("1024")}},
					HealthCheck:    &ecsapi.HealthCheck{Command: []string{"CMD-SHELL", "true"}},
					StopTimeout:    ptr.To[int32](5),
					MountPoints: []ecsapi.MountPoint{
						{SourceVolume: ptr.To("data"), ContainerPath: ptr.To("/data"), ReadOnly: ptr.To(true)},
						{SourceVolume: ptr.To("scratch"), ContainerPath: ptr.To("/scratch")},
						{SourceVolume: ptr.To("cache"), ContainerPath: ptr.To("/cache")},
						{SourceVolume: ptr.To("shared"), ContainerPath: ptr.To("/shared")},
					},
					VolumesFrom: []ecsapi.VolumeFrom{{SourceContainer: ptr.To("sidecar"), ReadOnly: ptr.To(true)}},
					DependsOn:   []ecsapi.ContainerDependency{{ContainerName: ptr.To("sidecar"), Condition: ptr.To("START")}},
				},
				{Name: ptr.To("sidecar"), Image: ptr.To("repo/side:1"), Essential: ptr.To(false)},
			},
		},
		Overrides: &ecsapi.TaskOverride{ContainerOverrides: []ecsapi.ContainerOverride{
			{Name: ptr.To("app"), Command: []string{"serve", "--fast"}, Environment: []ecsapi.KeyValuePair{{Name: ptr.To("MODE"), Value: ptr.To("override")}}},
		}},
		Containers: []agentproto.Container{
			{Name: "app", ContainerARN: "arn:c/app", PortBindings: []agentproto.PortBinding{{ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}}},
			{Name: "sidecar", ContainerARN: "arn:c/side"},
		},
		TaskRole: &agentproto.Credentials{RoleARN: "arn:aws:iam::000000000000:role/r"},
	}
}

func TestPlanBridge(t *testing.T) {
	p, err := Plan(bridgeTask(), testHost())
	if err != nil {
		t.Fatal(err)
	}
	if p.NetworkMode != "bridge" || p.Pause != nil || p.Network != nil || len(p.Containers) != 2 {
		t.Fatalf("plan = %+v", p)
	}
	// volumesFrom source first.
	if p.Containers[0].Name != "sidecar" || p.Containers[1].Name != "app" {
		t.Errorf("order = %s, %s; want sidecar before app", p.Containers[0].Name, p.Containers[1].Name)
	}
	suffix := Suffix(testTaskARN)
	if len(suffix) != 20 {
		t.Errorf("suffix %q", suffix)
	}
	app, _ := p.Container("app")
	s := app.Spec
	if s.Name != "ecs-web-3-app-"+suffix || !app.Essential || app.ContainerARN != "arn:c/app" {
		t.Errorf("name %q essential %v arn %q", s.Name, app.Essential, app.ContainerARN)
	}
	if side, _ := p.Container("sidecar"); side.Essential || side.Spec.CPUShares != 2 || side.Spec.StopTimeout != 30*time.Second {
		t.Errorf("sidecar: essential %v shares %d stopTimeout %v; want false, 2 (ECS minimum), 30s", side.Essential, side.Spec.CPUShares, side.Spec.StopTimeout)
	}
	if !slices.Equal(s.Command, []string{"serve", "--fast"}) || !slices.Equal(s.EntryPoint, []string{"/app"}) || s.WorkingDir != "/w" || s.User != "1000:1000" {
		t.Errorf("command %v entrypoint %v workdir %q user %q", s.Command, s.EntryPoint, s.WorkingDir, s.User)
	}
	wantEnv := map[string]string{
		"AWS_ENDPOINT_URL": "http://wharf:4566", "KEEP": "def", "MODE": "override",
		"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_EXECUTION_ENV": "AWS_ECS_EC2",
		"ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/app", "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/app",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/cdef",
	}
	if !reflect.DeepEqual(s.Environment, wantEnv) {
		t.Errorf("env = %v\nwant %v", s.Environment, wantEnv)
	}
	for k, v := range map[string]string{
		"team": "x", LabelCluster: "arn:aws:ecs:us-east-1:000000000000:cluster/default", LabelTaskARN: testTaskARN,
		LabelContainerName: "app", LabelFamily: "web", LabelRevision: "3", LabelInstance: "i-0abc", LabelContainerARN: "arn:c/app",
	} {
		if s.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, s.Labels[k], v)
		}
	}
	if s.CPUShares != 256 || s.MemoryMiB != 512 || s.MemoryReservationMiB != 128 || s.NanoCPUs != 0 {
		t.Errorf("resources: shares %d mem %d res %d nano %d", s.CPUShares, s.MemoryMiB, s.MemoryReservationMiB, s.NanoCPUs)
	}
	wantPorts := []runtime.PortMapping{{ContainerPort: 80, HostPort: 0, Protocol: "tcp"}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}}
	if s.NetworkMode != "bridge" || !reflect.DeepEqual(s.PortMappings, wantPorts) {
		t.Errorf("network %q ports %+v", s.NetworkMode, s.PortMappings)
	}
	if !reflect.DeepEqual(s.Ulimits, []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}}) ||
		!slices.Equal(s.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(s.CapDrop, []string{"MKNOD"}) ||
		!s.Init || s.ShmSizeMiB != 64 || !s.Privileged || !s.ReadonlyRootfs {
		t.Errorf("linux parameters: %+v", s)
	}
	if !slices.Equal(s.DNSServers, []string{"10.0.0.2"}) || !slices.Equal(s.DNSSearch, []string{"corp"}) ||
		!slices.Equal(s.ExtraHosts, []string{"db:10.0.0.9"}) || s.Sysctls["net.core.somaxconn"] != "1024" {
		t.Errorf("dns %v search %v hosts %v sysctls %v", s.DNSServers, s.DNSSearch, s.ExtraHosts, s.Sysctls)
	}
	if hc := s.HealthCheck; hc == nil || hc.Interval != 30*time.Second || hc.Timeout != 5*time.Second || hc.Retries != 3 || hc.StartPeriod != 0 {
		t.Errorf("health check (ECS defaults) = %+v", s.HealthCheck)
	}
	if s.StopTimeout != 5*time.Second {
		t.Errorf("stopTimeout %v", s.StopTimeout)
	}
	wantMounts := []runtime.Mount{
		{Type: runtime.MountTmpfs, Target: "/run", TmpfsSize: 16 << 20},
		{Type: runtime.MountBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
		{Type: runtime.MountVolume, Source: "ecs-web-3-scratch-" + suffix, Target: "/scratch"},
		{Type: runtime.MountVolume, Source: "ecs-web-3-cache-" + suffix, Target: "/cache"},
		{Type: runtime.MountVolume, Source: "shared", Target: "/shared"},
	}
	if !reflect.DeepEqual(s.Mounts, wantMounts) {
		t.Errorf("mounts = %+v\nwant %+v", s.Mounts, wantMounts)
	}
	if !slices.Equal(s.VolumesFrom, []string{"ecs-web-3-sidecar-" + suffix + ":ro"}) {
		t.Errorf("volumesFrom %v", s.VolumesFrom)
	}
	var vols []string
	for _, v := range p.Volumes {
		vols = append(vols, v.Spec.Name+map[bool]string{true: "(task)", false: "(shared)"}[v.TaskScoped])
		if v.TaskScoped && (v.Spec.Labels[LabelTaskARN] != testTaskARN || v.Spec.Labels[LabelInstance] != "i-0abc") {
			t.Errorf("task volume %s labels %v", v.Spec.Name, v.Spec.Labels)
		}
	}
	if want := []string{"ecs-web-3-scratch-" + suffix + "(task)", "ecs-web-3-cache-" + suffix + "(task)", "shared(shared)"}; !slices.Equal(vols, want) {
		t.Errorf("volumes %v, want %v", vols, want)
	}
}

func TestPlanAwsvpcAndFargate(t *testing.T) {
	task := bridgeTask()
	task.LaunchType = "FARGATE"
	task.CPU, task.Memory = "512", "1024"
	task.Definition.NetworkMode = ptr.To("awsvpc")
	task.Definition.Volumes = nil
	task.Definition.ContainerDefinitions[0].MountPoints = nil
	task.Definition.ContainerDefinitions[0].Memory = nil
	task.ENI = &agentproto.ENI{Network: "wharf-awsvpc", SubnetCIDR: "10.213.0.0/16", Gateway: "10.213.0.1", PrivateIPv4: "10.213.0.5", MACAddress: "02:00:0a:d5:00:05"}
	p, err := Plan(task, testHost())
	if err != nil {
		t.Fatal(err)
	}
	if p.Network == nil || p.Network.Name != "wharf-awsvpc" || p.Network.Subnet != "10.213.0.0/16" || p.Network.Labels[LabelManaged] != "true" {
		t.Errorf("network %+v", p.Network)
	}
	pz := p.Pause
	if pz == nil || pz.Image != "wharf/pause:x" || pz.NetworkMode != "wharf-awsvpc" || pz.IPv4Address != "10.213.0.5" || pz.MACAddress != "02:00:0a:d5:00:05" ||
		pz.Labels[LabelContainerName] != PauseContainerName || pz.Labels[LabelInstance] != "i-0abc" || pz.Hostname != "ip-10-213-0-5" {
		t.Fatalf("pause %+v", pz)
	}
	// Names of the host move to the pause container.
	if !slices.Equal(pz.DNSServers, []string{"10.0.0.2"}) || !slices.Equal(pz.ExtraHosts, []string{"db:10.0.0.9"}) || pz.Sysctls["net.core.somaxconn"] != "1024" {
		t.Errorf("pause dns %v hosts %v sysctls %v", pz.DNSServers, pz.ExtraHosts, pz.Sysctls)
	}
	app, _ := p.Container("app")
	s := app.Spec
	if s.NetworkMode != runtime.NetworkContainer(pz.Name) || len(s.PortMappings) != 0 || s.DNSServers != nil || s.ExtraHosts != nil || len(s.Sysctls) != 0 {
		t.Errorf("app network %q ports %v dns %v hosts %v sysctls %v", s.NetworkMode, s.PortMappings, s.DNSServers, s.ExtraHosts, s.Sysctls)
	}
	if s.Environment["AWS_EXECUTION_ENV"] != "AWS_ECS_FARGATE" || s.MemoryMiB != 1024 || s.NanoCPUs != 500_000_000 {
		t.Errorf("fargate: env %q mem %d nano %d", s.Environment["AWS_EXECUTION_ENV"], s.MemoryMiB, s.NanoCPUs)
	}
}

func TestPlanRefuses(t *testing.T) {
	cases := map[string]func(*agentproto.Task){
		"the only type is s3": func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[1].EnvironmentFiles = []ecsapi.EnvironmentFile{{Type: ptr.To("http"), Value: ptr.To("arn:aws:s3:::b/k.env")}}
		},
		"want the ARN of an S3 object": func(t *agentproto.Task) {
			t.Overrides.ContainerOverrides[0].EnvironmentFiles = []ecsapi.EnvironmentFile{{Type: ptr.To("s3"), Value: ptr.To("s3://b/k.env")}}
		},
		"at most 10": func(t *agentproto.Task) {
			for range 11 {
				t.Definition.ContainerDefinitions[1].EnvironmentFiles = append(t.Definition.ContainerDefinitions[1].EnvironmentFiles,
					ecsapi.EnvironmentFile{Type: ptr.To("s3"), Value: ptr.To("arn:aws:s3:::b/k.env")})
			}
		},
		"needs 2 GPUs but the assignment pins 1": func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[1].ResourceRequirements = []ecsapi.ResourceRequirement{{Type: ptr.To("GPU"), Value: ptr.To("2")}}
			t.Containers[1].GPUIDs = []string{"GPU-1"}
		},
		"needs 0 GPUs but the assignment pins 1": func(t *agentproto.Task) { t.Containers[1].GPUIDs = []string{"GPU-1"} },
		"not in the task": func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[1].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("nope"), Condition: ptr.To("START")}}
		},
		"cycle": func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[1].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("app"), Condition: ptr.To("START")}}
		},
		"has no healthCheck": func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[0].DependsOn[0].Condition = ptr.To("HEALTHY")
		},
		"does not declare":  func(t *agentproto.Task) { t.Definition.Volumes = t.Definition.Volumes[:1] },
		"network interface": func(t *agentproto.Task) { t.Definition.NetworkMode = ptr.To("awsvpc") },
		"EFS": func(t *agentproto.Task) {
			t.Definition.Volumes[0].EfsVolumeConfiguration = &ecsapi.EFSVolumeConfiguration{}
		},
		"network mode \"nat\"": func(t *agentproto.Task) { t.Definition.NetworkMode = ptr.To("nat") },
		"unknown dependsOn":    func(t *agentproto.Task) { t.Definition.ContainerDefinitions[0].DependsOn[0].Condition = ptr.To("SOON") },
		"task memory \"lots\"": func(t *agentproto.Task) { t.Memory = "lots" },
		"exceeds memory":       func(t *agentproto.Task) { t.Definition.ContainerDefinitions[0].MemoryReservation = ptr.To[int32](1024) },
	}
	for want, mutate := range cases {
		task := bridgeTask()
		mutate(task)
		if _, err := Plan(task, testHost()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Plan = %v; want an error mentioning %q", err, want)
		}
	}
}

// TestPlanAwsvpcOneContainer: a one-container awsvpc task needs no pause
// container; its container holds the task's address, MAC and names.
func TestPlanAwsvpcOneContainer(t *testing.T) {
	task := bridgeTask()
	task.LaunchType = "FARGATE"
	task.CPU, task.Memory = "512", "1024"
	task.Definition.NetworkMode = ptr.To("awsvpc")
	task.Definition.Volumes = nil
	task.Definition.ContainerDefinitions = task.Definition.ContainerDefinitions[:1]
	task.Definition.ContainerDefinitions[0].MountPoints = nil
	task.Definition.ContainerDefinitions[0].VolumesFrom = nil
	task.Definition.ContainerDefinitions[0].DependsOn = nil
	task.ENI = &agentproto.ENI{Network: "wharf-awsvpc", SubnetCIDR: "10.213.0.0/16", Gateway: "10.213.0.1", PrivateIPv4: "10.213.0.5", MACAddress: "02:00:0a:d5:00:05"}
	p, err := Plan(task, testHost())
	if err != nil {
		t.Fatal(err)
	}
	if p.Pause != nil || p.Network == nil || p.Network.Name != "wharf-awsvpc" || len(p.Containers) != 1 {
		t.Fatalf("pause %+v network %+v containers %d", p.Pause, p.Network, len(p.Containers))
	}
	s := p.Containers[0].Spec
	if s.NetworkMode != "wharf-awsvpc" || s.IPv4Address != "10.213.0.5" || s.MACAddress != "02:00:0a:d5:00:05" || s.Hostname != "ip-10-213-0-5" ||
		len(s.PortMappings) != 0 {
		t.Errorf("container network %q ip %q mac %q host %q ports %v", s.NetworkMode, s.IPv4Address, s.MACAddress, s.Hostname, s.PortMappings)
	}
}

// TestPlanGPUs: the GPUs the assignment pins to a container become its
// NVIDIA_VISIBLE_DEVICES and a Docker device request; containers without
// GPUs get neither; an override's resourceRequirements replace the
// definition's.
func TestPlanGPUs(t *testing.T) {
	gpu := func(n string) []ecsapi.ResourceRequirement {
		return []ecsapi.ResourceRequirement{{Type: ptr.To("InferenceAccelerator"), Value: ptr.To("x")}, {Type: ptr.To("GPU"), Value: ptr.To(n)}}
	}
	cases := []struct {
		name     string
		mutate   func(*agentproto.Task)
		app, car []string // GPUs expected on app and sidecar
	}{
		{"none", func(*agentproto.Task) {}, nil, nil},
		{"two on app", func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[0].ResourceRequirements = gpu("2")
			t.Containers[0].GPUIDs = []string{"GPU-aaaa", "GPU-bbbb"}
		}, []string{"GPU-aaaa", "GPU-bbbb"}, nil},
		{"one each", func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[0].ResourceRequirements = gpu("1")
			t.Definition.ContainerDefinitions[1].ResourceRequirements = gpu("1")
			t.Containers[0].GPUIDs, t.Containers[1].GPUIDs = []string{"GPU-aaaa"}, []string{"GPU-bbbb"}
		}, []string{"GPU-aaaa"}, []string{"GPU-bbbb"}},
		{"override asks for one", func(t *agentproto.Task) {
			t.Definition.ContainerDefinitions[0].ResourceRequirements = gpu("3")
			t.Overrides.ContainerOverrides[0].ResourceRequirements = gpu("1")
			t.Containers[0].GPUIDs = []string{"0"}
		}, []string{"0"}, nil},
	}
	for _, c := range cases {
		task := bridgeTask()
		c.mutate(task)
		p, err := Plan(task, testHost())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for name, want := range map[string][]string{"app": c.app, "sidecar": c.car} {
			cp, _ := p.Container(name)
			s := cp.Spec
			if len(want) == 0 {
				if _, ok := s.Environment[EnvNvidiaVisibleDevices]; ok || s.DeviceRequests != nil {
					t.Errorf("%s: %s gets GPUs: env %q devices %+v", c.name, name, s.Environment[EnvNvidiaVisibleDevices], s.DeviceRequests)
				}
				continue
			}
			wantReq := []runtime.DeviceRequest{{Driver: "nvidia", DeviceIDs: want, Capabilities: [][]string{{"gpu"}}}}
			if got := s.Environment[EnvNvidiaVisibleDevices]; got != strings.Join(want, ",") || !reflect.DeepEqual(s.DeviceRequests, wantReq) {
				t.Errorf("%s: %s NVIDIA_VISIBLE_DEVICES %q devices %+v; want %v", c.name, name, got, s.DeviceRequests, want)
			}
		}
	}
}

// TestPlanEnvFiles: the definition's environmentFiles are parsed into
// references in order; an override's list replaces them.
func TestPlanEnvFiles(t *testing.T) {
	files := func(arns ...string) []ecsapi.EnvironmentFile {
		var out []ecsapi.EnvironmentFile
		for _, a := range arns {
			out = append(out, ecsapi.EnvironmentFile{Type: ptr.To("s3"), Value: ptr.To(a)})
		}
		return out
	}
	task := bridgeTask()
	task.Definition.ContainerDefinitions[0].EnvironmentFiles = files("arn:aws:s3:::cfg/base.env", "arn:aws:s3:::cfg/dir/app.env")
	task.Definition.ContainerDefinitions[1].EnvironmentFiles = files("arn:aws-cn:s3:::side/x.env")
	task.Overrides.ContainerOverrides[0].EnvironmentFiles = files("arn:aws:s3:::over/o.env")
	p, err := Plan(task, testHost())
	if err != nil {
		t.Fatal(err)
	}
	app, _ := p.Container("app")
	side, _ := p.Container("sidecar")
	if want := []EnvFileRef{{ARN: "arn:aws:s3:::over/o.env", Bucket: "over", Key: "o.env"}}; !reflect.DeepEqual(app.EnvFiles, want) {
		t.Errorf("app env files %+v; want %+v", app.EnvFiles, want)
	}
	if want := []EnvFileRef{{ARN: "arn:aws-cn:s3:::side/x.env", Bucket: "side", Key: "x.env"}}; !reflect.DeepEqual(side.EnvFiles, want) {
		t.Errorf("sidecar env files %+v; want %+v", side.EnvFiles, want)
	}
	task.Overrides.ContainerOverrides[0].EnvironmentFiles = nil
	p, _ = Plan(task, testHost())
	app, _ = p.Container("app")
	if len(app.EnvFiles) != 2 || app.EnvFiles[1].Key != "dir/app.env" || app.EnvFiles[1].Bucket != "cfg" {
		t.Errorf("app env files without override %+v", app.EnvFiles)
	}
}
