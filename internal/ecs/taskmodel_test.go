package ecs

import (
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

func TestAdvanceOnlyForward(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk := &taskRec{LastStatus: "PENDING", DesiredStatus: "RUNNING", Containers: []containerRec{{Name: "a", LastStatus: "PENDING"}}}
	if was, moved := advance(tk, "RUNNING", now); was || !moved || tk.Started == nil || tk.Connected == nil {
		t.Fatalf("PENDING->RUNNING: was %v moved %v %+v", was, moved, tk)
	}
	if _, moved := advance(tk, "PENDING", now); moved || tk.LastStatus != "RUNNING" {
		t.Fatalf("RUNNING->PENDING moved back: %+v", tk)
	}
	if _, moved := advance(tk, "BOGUS", now); moved {
		t.Fatal("unknown status moved the task")
	}
	was, moved := advance(tk, "STOPPED", now.Add(time.Minute))
	if !was || !moved || tk.DesiredStatus != "STOPPED" || tk.Stopped == nil || tk.Stopping == nil || tk.Containers[0].LastStatus != "STOPPED" {
		t.Fatalf("RUNNING->STOPPED: %+v", tk)
	}
	if _, moved := advance(tk, "STOPPED", now); moved {
		t.Fatal("STOPPED twice moved")
	}
}

func TestReserveRelease(t *testing.T) {
	res := func(cpu, mem int32, ports ...string) []ecsapi.Resource {
		return []ecsapi.Resource{
			{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(cpu)},
			{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(mem)},
			{Name: ptr.To("PORTS"), Type: ptr.To("STRINGSET"), StringSetValue: ports},
		}
	}
	in := &instanceRec{RegRes: res(1024, 2048, "22"), Remaining: res(1024, 2048, "22")}
	tk := &taskRec{Group: "family:web", ReservedCPU: 256, ReservedMemory: 512, TCPPorts: []int{8080, 22}}
	reserve(in, tk)
	pi := snapshotInstance("arn", in)
	if pi.RemainingCPU != 768 || pi.RemainingMemory != 1536 || !slices.Equal(pi.UsedTCPPorts, []int{22, 8080}) || in.Pending != 1 || in.Groups["family:web"] != 1 {
		t.Fatalf("after reserve: %+v pending %d groups %v", pi, in.Pending, in.Groups)
	}
	// The registered port 22 stays reserved after the task leaves.
	release(in, tk, false)
	pi = snapshotInstance("arn", in)
	if pi.RemainingCPU != 1024 || pi.RemainingMemory != 2048 || !slices.Equal(pi.UsedTCPPorts, []int{22}) || in.Pending != 0 || len(in.Groups) != 0 {
		t.Fatalf("after release: %+v pending %d groups %v", pi, in.Pending, in.Groups)
	}
}

func TestTaskDemand(t *testing.T) {
	td, err := validTaskDefinition(ec2Req())
	if err != nil {
		t.Fatal(err)
	}
	td.ContainerDefinitions[0].Cpu = ptr.To(int32(100))
	d := taskDemand(&td, nil)
	if d.cpu != 100 || d.memory != 256+64 || len(d.ports) != 1 || d.ports[0].HostPort != 0 {
		t.Fatalf("demand = %+v", d)
	}
	d = taskDemand(&td, &ecsapi.TaskOverride{Cpu: ptr.To("1 vCPU"), ContainerOverrides: []ecsapi.ContainerOverride{{Name: ptr.To("app"), Memory: ptr.To(int32(1000))}}})
	if d.cpu != 1024 || d.memory != 1000+64 {
		t.Fatalf("demand with overrides = %+v", d)
	}
	fd, err := validTaskDefinition(fargateReq())
	if err != nil {
		t.Fatal(err)
	}
	if d := taskDemand(&fd, nil); d.cpu != 512 || d.memory != 1024 || len(d.ports) != 0 {
		t.Fatalf("fargate demand = %+v", d)
	}
}
