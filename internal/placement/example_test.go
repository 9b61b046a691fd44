package placement_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/wharfhq/wharf/internal/placement"
)

func Example() {
	instance := func(id, az, typ string, memory int) placement.Instance {
		return placement.Instance{
			ID: id, Status: placement.StatusActive, AgentConnected: true,
			RemainingCPU: 2048, RemainingMemory: memory,
			Attributes: map[string]string{
				placement.AttrAvailabilityZone: az,
				placement.AttrInstanceType:     typ,
			},
		}
	}
	snapshot := []placement.Instance{
		instance("ci-1", "us-east-1a", "t2.large", 4096),
		instance("ci-2", "us-east-1a", "t2.large", 1024),
		instance("ci-3", "us-east-1b", "t2.large", 2048),
		instance("ci-4", "us-east-1b", "m4.large", 512),
	}

	// What RunTask receives: a memberOf expression and a strategy chain.
	onT2, err := placement.NewConstraint("memberOf", "attribute:ecs.instance-type =~ t2.*")
	if err != nil {
		panic(err)
	}
	spread, _ := placement.NewStrategy("spread", "attribute:ecs.availability-zone")
	binpack, _ := placement.NewStrategy("binpack", "memory")
	task := placement.Task{
		CPU: 256, Memory: 512, Group: "family:web",
		Ports:       []placement.Port{{HostPort: 0}}, // dynamic host port
		Constraints: []placement.Constraint{onT2},
		Strategies:  []placement.Strategy{spread, binpack},
	}

	placements, failures := placement.Place(snapshot, []placement.Task{task, task, task}, placement.Options{
		Rand: rand.New(rand.NewPCG(1, 1)),
	})
	for _, p := range placements {
		fmt.Println("task", p.TaskIndex, "->", p.InstanceID, "host port", p.HostPorts[0])
	}
	fmt.Println(len(failures), "failures")

	// The same language filters ListContainerInstances.
	filter := placement.MustParse("attribute:ecs.instance-type == m4.large or attribute:ecs.availability-zone in [us-east-1b]")
	for i := range snapshot {
		if filter.Matches(&snapshot[i]) {
			fmt.Println("filter matches", snapshot[i].ID)
		}
	}

	// Bad expressions are InvalidParameterException material.
	_, err = placement.Parse("attribute:ecs.instance-type = t2.micro")
	fmt.Println(err)

	// Output:
	// task 0 -> ci-2 host port 49153
	// task 1 -> ci-3 host port 49153
	// task 2 -> ci-2 host port 49154
	// 0 failures
	// filter matches ci-3
	// filter matches ci-4
	// invalid cluster query expression at offset 28: unexpected '='
}
