package ecs

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
)

// fargateReq is the ECS tutorial's task definition.
func fargateReq() *ecsapi.RegisterTaskDefinitionRequest {
	return &ecsapi.RegisterTaskDefinitionRequest{
		Family:                  ptr.To("my-nginx-task"),
		NetworkMode:             ptr.To("awsvpc"),
		RequiresCompatibilities: []string{"FARGATE"},
		Cpu:                     ptr.To("512"),
		Memory:                  ptr.To("1024"),
		ExecutionRoleArn:        ptr.To("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{
			Name: ptr.To("nginx"), Image: ptr.To("nginx:latest"), Essential: ptr.To(true),
			PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr.To(int32(80)), HostPort: ptr.To(int32(80)), Protocol: ptr.To("tcp")}},
		}},
	}
}

// ec2Req is a bridge-mode definition with two containers.
func ec2Req() *ecsapi.RegisterTaskDefinitionRequest {
	return &ecsapi.RegisterTaskDefinitionRequest{
		Family: ptr.To("web"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{
			{Name: ptr.To("app"), Image: ptr.To("app:1"), Memory: ptr.To(int32(256)),
				PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr.To(int32(8080))}}},
			{Name: ptr.To("sidecar"), Image: ptr.To("side:1"), MemoryReservation: ptr.To(int32(64)), Essential: ptr.To(false)},
		},
	}
}

func TestValidTaskDefinitionNormalizes(t *testing.T) {
	td, err := validTaskDefinition(fargateReq())
	if err != nil {
		t.Fatal(err)
	}
	if ptr.Value(td.Cpu) != "512" || ptr.Value(td.Memory) != "1024" || ptr.Value(td.NetworkMode) != "awsvpc" {
		t.Fatalf("size/mode = %v %v %v", ptr.Value(td.Cpu), ptr.Value(td.Memory), ptr.Value(td.NetworkMode))
	}
	if got := td.Compatibilities; len(got) != 2 || got[0] != "EC2" || got[1] != "FARGATE" {
		t.Fatalf("compatibilities = %v", got)
	}

	r := fargateReq()
	r.Cpu, r.Memory = ptr.To("1 vCPU"), ptr.To("2 GB")
	r.ContainerDefinitions[0].PortMappings[0].HostPort = nil
	r.ContainerDefinitions[0].HealthCheck = &ecsapi.HealthCheck{Command: []string{"CMD-SHELL", "true"}}
	td, err = validTaskDefinition(r)
	if err != nil {
		t.Fatal(err)
	}
	c := td.ContainerDefinitions[0]
	if ptr.Value(td.Cpu) != "1024" || ptr.Value(td.Memory) != "2048" || ptr.Value(c.PortMappings[0].HostPort) != 80 {
		t.Fatalf("normalized = %v %v %v", ptr.Value(td.Cpu), ptr.Value(td.Memory), ptr.Value(c.PortMappings[0].HostPort))
	}
	if h := c.HealthCheck; ptr.Value(h.Interval) != 30 || ptr.Value(h.Timeout) != 5 || ptr.Value(h.Retries) != 3 || ptr.Value(h.StartPeriod) != 0 {
		t.Fatalf("health check defaults = %+v", h)
	}

	td, err = validTaskDefinition(ec2Req())
	if err != nil {
		t.Fatal(err)
	}
	if ptr.Value(td.NetworkMode) != "bridge" || !ptr.Value(td.ContainerDefinitions[0].Essential) || ptr.Value(td.ContainerDefinitions[0].PortMappings[0].HostPort) != 0 ||
		ptr.Value(td.ContainerDefinitions[0].PortMappings[0].Protocol) != "tcp" {
		t.Fatalf("ec2 normalized = %+v", td)
	}
}

func TestFargateTable(t *testing.T) {
	ok := map[[2]string]bool{
		{"256", "512"}: true, {"256", "2048"}: true, {"512", "4096"}: true, {"1024", "8192"}: true,
		{"2048", "16384"}: true, {"4096", "30720"}: true, {"8192", "20480"}: true, {"16384", "122880"}: true,
		{"256", "4096"}: false, {"512", "512"}: false, {"1024", "1536"}: false, {"8192", "18432"}: false,
		{"16384", "36864"}: false, {"128", "512"}: false, {"3072", "8192"}: false,
	}
	for k, want := range ok {
		r := fargateReq()
		r.Cpu, r.Memory = ptr.To(k[0]), ptr.To(k[1])
		_, err := validTaskDefinition(r)
		if (err == nil) != want {
			t.Errorf("cpu %s memory %s: err = %v, want ok=%v", k[0], k[1], err, want)
		}
	}
}

func TestValidTaskDefinitionErrors(t *testing.T) {
	cases := []struct {
		name   string
		base   func() *ecsapi.RegisterTaskDefinitionRequest
		mutate func(r *ecsapi.RegisterTaskDefinitionRequest)
		kind   error
		msg    string
	}{
		{"bad family", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Family = ptr.To("a b") }, ErrClient, "Invalid family name"},
		{"no containers", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions = nil }, ErrClient, "Container list cannot be empty."},
		{"no image", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[0].Image = nil }, ErrClient, "Container.image should not be null or empty."},
		{"no name", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[0].Name = nil }, ErrClient, "Container.name should not be null or empty."},
		{"duplicate names", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[1].Name = ptr.To("app") }, ErrClient, "Duplicate container name 'app'"},
		{"no essential", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[0].Essential = ptr.To(false) }, ErrClient, "Task definition doesn't have any essential container."},
		{"no memory", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[0].Memory = nil }, ErrClient,
			"Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"reservation over memory", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].MemoryReservation = ptr.To(int32(512))
		}, ErrClient, "'memoryReservation' must be less than or equal to 'memory'"},
		{"tiny memory", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[0].Memory = ptr.To(int32(4)) }, ErrClient, "minimum is 6 MiB"},
		{"container memory over task", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Memory = ptr.To("128") }, ErrClient, "must not exceed the task memory"},
		{"container cpu over task", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.Cpu = ptr.To("256")
			r.ContainerDefinitions[0].Cpu = ptr.To(int32(200))
			r.ContainerDefinitions[1].Cpu = ptr.To(int32(100))
		}, ErrClient, "sum of the container cpu values (300)"},
		{"bad task cpu", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Cpu = ptr.To("lots") }, ErrClient, "Invalid 'cpu' setting for task."},
		{"bad task memory", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Memory = ptr.To("1 TBish") }, ErrClient, "Invalid 'memory' setting for task."},
		{"fargate bridge", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.NetworkMode = ptr.To("bridge") }, ErrClient, "Fargate only supports network mode 'awsvpc'."},
		{"fargate no mode", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.NetworkMode = nil }, ErrClient, "Fargate only supports network mode 'awsvpc'."},
		{"fargate no cpu", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Cpu = nil }, ErrClient, "Fargate requires that 'cpu' be defined at the task level."},
		{"fargate no memory", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Memory = nil }, ErrClient, "Fargate requires that 'memory' be defined at the task level."},
		{"fargate bad cpu", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Cpu = ptr.To("300") }, ErrClient, "Invalid 'cpu' setting for task."},
		{"fargate bad combo", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.Memory = ptr.To("512") }, ErrClient,
			"No Fargate configuration exists for given values: 512 CPU, 512 memory."},
		{"fargate awslogs without role", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ExecutionRoleArn = nil
			r.ContainerDefinitions[0].LogConfiguration = &ecsapi.LogConfiguration{LogDriver: ptr.To("awslogs")}
		}, ErrClient, "Fargate requires task definition to have execution role ARN to support log driver awslogs."},
		{"fargate json-file", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].LogConfiguration = &ecsapi.LogConfiguration{LogDriver: ptr.To("json-file")}
		}, ErrClient, "not supported on Fargate"},
		{"fargate host volume", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.Volumes = []ecsapi.Volume{{Name: ptr.To("v"), Host: &ecsapi.HostVolumeProperties{SourcePath: ptr.To("/data")}}}
		}, ErrClient, "Fargate compatible task definitions do not support sourcePath"},
		{"fargate privileged", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.ContainerDefinitions[0].Privileged = ptr.To(true) }, ErrClient, "privileged"},
		{"fargate stopTimeout", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].StopTimeout = ptr.To(int32(121))
		}, ErrClient, "stopTimeout"},
		{"fargate constraints", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.PlacementConstraints = []ecsapi.TaskDefinitionPlacementConstraint{{Type: ptr.To("memberOf"), Expression: ptr.To("attribute:x == y")}}
		}, ErrClient, "placement constraints"},
		{"awsvpc port mismatch", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].PortMappings[0].HostPort = ptr.To(int32(8080))
		}, ErrClient, "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{"host port mismatch", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.NetworkMode = ptr.To("host")
			r.ContainerDefinitions[0].PortMappings[0].HostPort = ptr.To(int32(80))
		}, ErrClient, "When networkMode=host, the host ports and container ports in port mappings must match."},
		{"no container port", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].PortMappings[0].ContainerPort = nil
		}, ErrClient,
			"Invalid 'containerPort' setting for container 'app'."},
		{"duplicate host port", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr.To(int32(80)), HostPort: ptr.To(int32(80))}}
			r.ContainerDefinitions[1].PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr.To(int32(81)), HostPort: ptr.To(int32(80))}}
		}, ErrClient, "already used by container 'app'"},
		{"ports in none", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) { r.NetworkMode = ptr.To("none") }, ErrClient, "network mode 'none'"},
		{"links outside bridge", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.NetworkMode = ptr.To("awsvpc")
			r.ContainerDefinitions[0].PortMappings = nil
			r.ContainerDefinitions[0].Links = []string{"sidecar"}
		}, ErrClient, "Links are not supported"},
		{"unknown dependency", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("db"), Condition: ptr.To("START")}}
		}, ErrClient, "Container 'db' does not exist"},
		{"self dependency", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("app"), Condition: ptr.To("START")}}
		}, ErrClient, "cannot depend on itself"},
		{"dependency cycle", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("sidecar"), Condition: ptr.To("START")}}
			r.ContainerDefinitions[1].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("app"), Condition: ptr.To("START")}}
		}, ErrClient, "form a cycle: app -> sidecar -> app"},
		{"success on essential", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[1].Essential = ptr.To(true)
			r.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("sidecar"), Condition: ptr.To("SUCCESS")}}
		}, ErrClient, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{"healthy without check", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr.To("sidecar"), Condition: ptr.To("HEALTHY")}}
		}, ErrClient, "has no healthCheck"},
		{"unknown volume", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].MountPoints = []ecsapi.MountPoint{{SourceVolume: ptr.To("data"), ContainerPath: ptr.To("/data")}}
		}, ErrClient, "Unknown volume 'data'."},
		{"relative container path", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.Volumes = []ecsapi.Volume{{Name: ptr.To("data")}}
			r.ContainerDefinitions[0].MountPoints = []ecsapi.MountPoint{{SourceVolume: ptr.To("data"), ContainerPath: ptr.To("data")}}
		}, ErrClient, "absolute path"},
		{"duplicate volume", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.Volumes = []ecsapi.Volume{{Name: ptr.To("data")}, {Name: ptr.To("data")}}
		}, ErrClient, "Duplicate volume name 'data'."},
		{"blank source path", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.Volumes = []ecsapi.Volume{{Name: ptr.To("data"), Host: &ecsapi.HostVolumeProperties{SourcePath: ptr.To("")}}}
		}, ErrClient, "host.sourcePath should not be blank."},
		{"volumesFrom unknown", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].VolumesFrom = []ecsapi.VolumeFrom{{SourceContainer: ptr.To("ghost")}}
		}, ErrClient, "Unknown source container 'ghost'"},
		{"health check interval", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].HealthCheck = &ecsapi.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr.To(int32(1))}
		}, ErrClient, "healthCheck.interval"},
		{"health check retries", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].HealthCheck = &ecsapi.HealthCheck{Command: []string{"CMD", "true"}, Retries: ptr.To(int32(11))}
		}, ErrClient, "healthCheck.retries"},
		{"health check command", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].HealthCheck = &ecsapi.HealthCheck{Command: []string{"curl", "localhost"}}
		}, ErrClient, "CMD, CMD-SHELL or NONE"},
		{"ulimit soft over hard", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].Ulimits = []ecsapi.Ulimit{{Name: ptr.To("nofile"), SoftLimit: ptr.To(int32(10)), HardLimit: ptr.To(int32(5))}}
		}, ErrClient, "softLimit must be less than or equal to the hardLimit"},
		{"duplicate ulimit", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			u := ecsapi.Ulimit{Name: ptr.To("nofile"), SoftLimit: ptr.To(int32(1)), HardLimit: ptr.To(int32(5))}
			r.ContainerDefinitions[0].Ulimits = []ecsapi.Ulimit{u, u}
		}, ErrClient, "Duplicate ulimit"},
		{"swappiness", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].LinuxParameters = &ecsapi.LinuxParameters{Swappiness: ptr.To(int32(101))}
		}, ErrClient, "swappiness"},
		{"fargate swap", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].LinuxParameters = &ecsapi.LinuxParameters{MaxSwap: ptr.To(int32(10))}
		}, ErrClient, "maxSwap"},
		{"bad memberOf expression", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.PlacementConstraints = []ecsapi.TaskDefinitionPlacementConstraint{{Type: ptr.To("memberOf"), Expression: ptr.To("attribute:ecs.instance-type =~")}}
		}, ErrClient, ""},
		{"bad role", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.TaskRoleArn = ptr.To("arn:aws:iam::123456789012:user/bob")
		}, ErrClient, "Role is not valid"},
		{"environment file", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].EnvironmentFiles = []ecsapi.EnvironmentFile{{Type: ptr.To("s3"), Value: ptr.To("bucket/key")}}
		}, ErrClient, "environmentFiles"},
		{"ephemeral storage on ec2", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.EphemeralStorage = &ecsapi.EphemeralStorage{SizeInGiB: ptr.To(int32(30))}
		}, ErrClient, "Ephemeral storage"},
		{"ephemeral storage too big", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.EphemeralStorage = &ecsapi.EphemeralStorage{SizeInGiB: ptr.To(int32(201))}
		}, ErrClient, "between 21 GiB and 200 GiB"},
		{"proxy container", fargateReq, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ProxyConfiguration = &ecsapi.ProxyConfiguration{ContainerName: ptr.To("envoy")}
		}, ErrClient, "Proxy configuration container 'envoy'"},
		{"port range with port", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[0].PortMappings[0].ContainerPortRange = ptr.To("8000-8010")
		}, ErrClient, "containerPortRange cannot be set"},
		{"too many containers", ec2Req, func(r *ecsapi.RegisterTaskDefinitionRequest) {
			for i := range 10 {
				r.ContainerDefinitions = append(r.ContainerDefinitions, ecsapi.ContainerDefinition{Name: ptr.To(strings.Repeat("x", i+1)), Image: ptr.To("i"), Memory: ptr.To(int32(10))})
			}
		}, ErrClient, "Too many containers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.base()
			tc.mutate(r)
			_, err := validTaskDefinition(r)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
			if !strings.Contains(errs.Message(err), tc.msg) {
				t.Fatalf("message = %q, want it to contain %q", errs.Message(err), tc.msg)
			}
		})
	}
}

func TestParseTaskSize(t *testing.T) {
	for in, want := range map[string]int{"1024": 1024, "1 vCPU": 1024, ".25 vCPU": 256, "0.5 vcpu": 512, "16 vCPU": 16384} {
		if got, ok := parseTaskCPU(in); !ok || got != want {
			t.Errorf("cpu %q = %d, %v", in, got, ok)
		}
	}
	for in, want := range map[string]int{"512": 512, "1 GB": 1024, "0.5 GB": 512, "30gb": 30720} {
		if got, ok := parseTaskMemory(in); !ok || got != want {
			t.Errorf("memory %q = %d, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "-1", "0", "1.1 vCPU", "x vCPU", "GB"} {
		if _, ok := parseTaskCPU(bad); ok {
			t.Errorf("cpu %q accepted", bad)
		}
		if _, ok := parseTaskMemory(bad); ok && bad != "1.1 vCPU" {
			t.Errorf("memory %q accepted", bad)
		}
	}
}
