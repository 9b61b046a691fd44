package ecs

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/placement"
	"github.com/wharfhq/wharf/internal/ptr"
)

// This file holds the task records and the pure parts of the task
// lifecycle: what a task needs from an instance, how placing and stopping
// one changes the instance, and which status transitions are forward.

// Task statuses in lifecycle order.
var taskStatuses = []string{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}

func statusRank(s string) int { return slices.Index(taskStatuses, s) }

const (
	taskRunning = "RUNNING"
	taskStopped = "STOPPED"
	taskPending = "PENDING"
)

type containerRec struct {
	ID              string                  `json:"id"`
	Name            string                  `json:"name"`
	Image           string                  `json:"image"`
	LastStatus      string                  `json:"lastStatus"`
	ExitCode        *int32                  `json:"exitCode,omitempty"`
	Reason          string                  `json:"reason,omitempty"`
	RuntimeID       string                  `json:"runtimeId,omitempty"`
	ImageDigest     string                  `json:"imageDigest,omitempty"`
	CPU             int32                   `json:"cpu"`
	Memory          *int32                  `json:"memory,omitempty"`
	Reservation     *int32                  `json:"memoryReservation,omitempty"`
	NetworkBindings []ecsapi.NetworkBinding `json:"networkBindings,omitempty"`
	Essential       bool                    `json:"essential"`
	HealthStatus    string                  `json:"healthStatus,omitempty"`
	// HealthCheck says the container's definition has a health check (the
	// task's health is computed from those).
	HealthCheck bool `json:"healthCheck,omitempty"`
	// GPUIDs are the instance's GPUs pinned to the container.
	GPUIDs []string `json:"gpuIds,omitempty"`
}

type taskRec struct {
	Layout           int                      `json:"layout"`
	ID               string                   `json:"id"`
	Cluster          string                   `json:"cluster"`
	TaskDefARN       string                   `json:"taskDefinitionArn"`
	Family           string                   `json:"family"`
	Instance         string                   `json:"instance,omitempty"` // container instance ID (EC2)
	AZ               string                   `json:"az,omitempty"`
	LaunchType       string                   `json:"launchType"`
	CapacityProvider string                   `json:"capacityProvider,omitempty"`
	LastStatus       string                   `json:"lastStatus"`
	DesiredStatus    string                   `json:"desiredStatus"`
	Group            string                   `json:"group"`
	StartedBy        string                   `json:"startedBy,omitempty"`
	CPU              string                   `json:"cpu"`
	Memory           string                   `json:"memory"`
	ReservedCPU      int                      `json:"reservedCpu"`
	ReservedMemory   int                      `json:"reservedMemory"`
	TCPPorts         []int                    `json:"tcpPorts,omitempty"`
	UDPPorts         []int                    `json:"udpPorts,omitempty"`
	Containers       []containerRec           `json:"containers"`
	Overrides        *ecsapi.TaskOverride     `json:"overrides,omitempty"`
	Attachments      []ecsapi.Attachment      `json:"attachments,omitempty"`
	Tags             []tag                    `json:"tags,omitempty"`
	Created          time.Time                `json:"created"`
	PullStarted      *time.Time               `json:"pullStarted,omitempty"`
	PullStopped      *time.Time               `json:"pullStopped,omitempty"`
	Started          *time.Time               `json:"started,omitempty"`
	Stopping         *time.Time               `json:"stopping,omitempty"`
	Stopped          *time.Time               `json:"stopped,omitempty"`
	ExecStopped      *time.Time               `json:"execStopped,omitempty"`
	Connected        *time.Time               `json:"connected,omitempty"`
	StopCode         string                   `json:"stopCode,omitempty"`
	StoppedReason    string                   `json:"stoppedReason,omitempty"`
	Version          int64                    `json:"version"`
	EnableExec       bool                     `json:"enableExecuteCommand,omitempty"`
	EphemeralStorage *ecsapi.EphemeralStorage `json:"ephemeralStorage,omitempty"`
	// ClientToken is the RunTask client token that started the task, so
	// the retention sweep can drop the token with its last task.
	ClientToken string `json:"clientToken,omitempty"`
}

type tokenRec struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}

// demand is what one task of a definition (with overrides) needs.
type demand struct {
	cpu, memory int
	// gpu is the task's GPU count; gpus the containers asking for some.
	gpu   int
	gpus  []gpuNeed
	ports []placement.Port
	// mappings[i] is the container and port mapping ports[i] came from.
	mappings []portRef
}

type gpuNeed struct {
	container string
	count     int
}

type portRef struct {
	container     string
	containerPort int32
	protocol      string
}

// taskDemand computes a task's resources: the task-level size if set,
// else the sum of its containers'; host ports in bridge and host mode.
func taskDemand(td *ecsapi.TaskDefinition, ov *ecsapi.TaskOverride) demand {
	var d demand
	over := map[string]ecsapi.ContainerOverride{}
	if ov != nil {
		for _, co := range ov.ContainerOverrides {
			over[ptr.Value(co.Name)] = co
		}
	}
	sumCPU, sumMem := 0, 0
	for _, c := range td.ContainerDefinitions {
		co := over[ptr.Value(c.Name)]
		cpu := ptr.Value(c.Cpu)
		if co.Cpu != nil {
			cpu = *co.Cpu
		}
		sumCPU += int(cpu)
		reqs := c.ResourceRequirements
		if co.ResourceRequirements != nil {
			reqs = co.ResourceRequirements
		}
		for _, r := range reqs {
			if ptr.Value(r.Type) != "GPU" {
				continue
			}
			if n, err := strconv.Atoi(ptr.Value(r.Value)); err == nil && n > 0 {
				d.gpu += n
				d.gpus = append(d.gpus, gpuNeed{ptr.Value(c.Name), n})
			}
		}
		mem, res := c.Memory, c.MemoryReservation
		if co.Memory != nil {
			mem = co.Memory
		}
		if co.MemoryReservation != nil {
			res = co.MemoryReservation
		}
		switch {
		case res != nil:
			sumMem += int(*res)
		case mem != nil:
			sumMem += int(*mem)
		}
		mode := ptr.Value(td.NetworkMode)
		if mode == "bridge" || mode == "host" {
			for _, pm := range c.PortMappings {
				if pm.ContainerPort == nil {
					continue
				}
				proto := ptr.Or(pm.Protocol, "tcp")
				hp := int(ptr.Value(pm.HostPort))
				if mode == "host" {
					hp = int(*pm.ContainerPort)
				}
				d.ports = append(d.ports, placement.Port{HostPort: hp, Protocol: placement.Protocol(proto)})
				d.mappings = append(d.mappings, portRef{ptr.Value(c.Name), *pm.ContainerPort, proto})
			}
		}
	}
	d.cpu, d.memory = sumCPU, sumMem
	cpuS, memS := ptr.Value(td.Cpu), ptr.Value(td.Memory)
	if ov != nil && ov.Cpu != nil {
		cpuS = *ov.Cpu
	}
	if ov != nil && ov.Memory != nil {
		memS = *ov.Memory
	}
	if n, ok := parseTaskCPU(cpuS); ok {
		d.cpu = n
	}
	if n, ok := parseTaskMemory(memS); ok {
		d.memory = n
	}
	return d
}

// Resource arithmetic on an instance's remaining resources.

func adjustInt(rs []ecsapi.Resource, name string, delta int) {
	for i := range rs {
		if ptr.Value(rs[i].Name) == name {
			rs[i].IntegerValue = ptr.To(ptr.Value(rs[i].IntegerValue) + int32(delta))
		}
	}
}

func portSet(rs []ecsapi.Resource, name string) []int {
	var out []int
	for _, r := range rs {
		if ptr.Value(r.Name) == name {
			for _, p := range r.StringSetValue {
				if n, err := strconv.Atoi(p); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

func changePorts(rs []ecsapi.Resource, name string, ports []int, add bool) []ecsapi.Resource {
	if len(ports) == 0 {
		return rs
	}
	i := slices.IndexFunc(rs, func(r ecsapi.Resource) bool { return ptr.Value(r.Name) == name })
	if i < 0 {
		rs = append(rs, ecsapi.Resource{Name: ptr.To(name), Type: ptr.To("STRINGSET"), StringSetValue: []string{}})
		i = len(rs) - 1
	}
	set := slices.Clone(rs[i].StringSetValue)
	for _, p := range ports {
		s := strconv.Itoa(p)
		if add && !slices.Contains(set, s) {
			set = append(set, s)
		}
		if !add {
			set = slices.DeleteFunc(set, func(x string) bool { return x == s })
		}
	}
	rs[i].StringSetValue = set
	return rs
}

// pinGPUs gives each container of t that asks for GPUs that many of the
// instance's remaining ones, in the order the instance registered them.
// Placement has checked that enough remain; reserve then takes them.
func pinGPUs(t *taskRec, d demand, in *instanceRec) {
	var free []string
	for _, r := range in.Remaining {
		if ptr.Value(r.Name) == "GPU" {
			free = slices.Clone(r.StringSetValue)
		}
	}
	for _, g := range d.gpus {
		n := min(g.count, len(free))
		for j := range t.Containers {
			if t.Containers[j].Name == g.container {
				t.Containers[j].GPUIDs = append(t.Containers[j].GPUIDs, free[:n]...)
			}
		}
		free = free[n:]
	}
}

// taskGPUs is every GPU pinned to t's containers.
func taskGPUs(t *taskRec) []string {
	var out []string
	for _, c := range t.Containers {
		out = append(out, c.GPUIDs...)
	}
	return out
}

// changeGPUs takes ids out of the instance's remaining GPU set (take) or
// puts them back.
func changeGPUs(rs []ecsapi.Resource, ids []string, take bool) {
	if len(ids) == 0 {
		return
	}
	for i := range rs {
		if ptr.Value(rs[i].Name) != "GPU" {
			continue
		}
		set := slices.DeleteFunc(slices.Clone(rs[i].StringSetValue), func(x string) bool { return slices.Contains(ids, x) })
		if !take {
			set = append(set, ids...)
		}
		rs[i].StringSetValue = set
	}
}

// reserve books a task on an instance: resources, ports, GPUs, group,
// pending.
func reserve(in *instanceRec, t *taskRec) {
	in.Remaining = slices.Clone(in.Remaining)
	changeGPUs(in.Remaining, taskGPUs(t), true)
	adjustInt(in.Remaining, "CPU", -t.ReservedCPU)
	adjustInt(in.Remaining, "MEMORY", -t.ReservedMemory)
	in.Remaining = changePorts(in.Remaining, "PORTS", t.TCPPorts, true)
	in.Remaining = changePorts(in.Remaining, "PORTS_UDP", t.UDPPorts, true)
	in.Groups = maps.Clone(in.Groups)
	if in.Groups == nil {
		in.Groups = map[string]int{}
	}
	in.Groups[t.Group]++
	in.Pending++
	in.Version++
}

// release undoes reserve for a task leaving the instance; wasRunning says
// which count it was in. Registered ports stay reserved.
func release(in *instanceRec, t *taskRec, wasRunning bool) {
	in.Remaining = slices.Clone(in.Remaining)
	// GPUs go back only if the instance still registers them.
	var reg []string
	for _, r := range in.RegRes {
		if ptr.Value(r.Name) == "GPU" {
			reg = r.StringSetValue
		}
	}
	changeGPUs(in.Remaining, slices.DeleteFunc(taskGPUs(t), func(id string) bool { return !slices.Contains(reg, id) }), false)
	adjustInt(in.Remaining, "CPU", t.ReservedCPU)
	adjustInt(in.Remaining, "MEMORY", t.ReservedMemory)
	keep := func(name string, ports []int) []int {
		reg := portSet(in.RegRes, name)
		return slices.DeleteFunc(slices.Clone(ports), func(p int) bool { return slices.Contains(reg, p) })
	}
	in.Remaining = changePorts(in.Remaining, "PORTS", keep("PORTS", t.TCPPorts), false)
	in.Remaining = changePorts(in.Remaining, "PORTS_UDP", keep("PORTS_UDP", t.UDPPorts), false)
	in.Groups = maps.Clone(in.Groups)
	if in.Groups[t.Group] > 1 {
		in.Groups[t.Group]--
	} else {
		delete(in.Groups, t.Group)
	}
	if wasRunning {
		in.Running = max(0, in.Running-1)
	} else {
		in.Pending = max(0, in.Pending-1)
	}
	in.Version++
}

// snapshotInstance is placementInstance plus what only tasks know: ports
// in use and groups. ID is the instance ARN, which placement reports.
func snapshotInstance(arn string, r *instanceRec) placement.Instance {
	pi := placementInstance(r)
	pi.ID = arn
	pi.UsedTCPPorts = portSet(r.Remaining, "PORTS")
	pi.UsedUDPPorts = portSet(r.Remaining, "PORTS_UDP")
	pi.TaskGroups = r.Groups
	return pi
}
