package docker_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

// The agent's path for one container: pull, create with its labels, start,
// react to its exit through events, read why it stopped, clean up.
func Example() {
	ctx := context.Background()
	rt, err := docker.Dial(ctx, docker.Options{}) // DOCKER_HOST or /var/run/docker.sock
	if err != nil {
		log.Fatal(err) // errors.Is(err, runtime.ErrUnavailable): no engine
	}
	defer rt.Close()

	ref := "127.0.0.1:4566/team/app:v1"
	if err := rt.PullImage(ctx, ref, &runtime.Auth{Username: "AWS", Password: "ecr-token"}, nil); err != nil {
		if pe := (*runtime.PullError)(nil); errors.As(err, &pe) {
			fmt.Println(pe.StoppedReason()) // the task's stoppedReason
		}
		return
	}
	labels := map[string]string{"com.wharf.task-arn": "arn:aws:ecs:us-east-1:000000000000:task/default/abc"}
	events, err := rt.Events(ctx, runtime.EventFilter{Actions: []string{"die"}, Labels: labels})
	if err != nil {
		log.Fatal(err)
	}
	defer events.Close()
	id, err := rt.CreateContainer(ctx, runtime.ContainerSpec{
		Name: "ecs-app-1", Image: ref, Labels: labels, MemoryMiB: 128,
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080}}, // dynamic host port
		StopTimeout:  30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.RemoveContainer(ctx, id)
	if err := rt.StartContainer(ctx, id); err != nil {
		log.Fatal(err)
	}
	st, _ := rt.InspectContainer(ctx, id)
	fmt.Println("networkBindings:", st.PortBindings)
	e, err := events.Next() // blocks until the container dies
	if err == nil {
		fmt.Println("exit code:", e.ExitCode)
	}
}
