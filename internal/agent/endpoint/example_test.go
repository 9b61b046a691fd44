package endpoint_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/internal/agent/endpoint"
	"github.com/wharfhq/wharf/internal/agentproto"
)

// An agent starts the server, gives each container its environment, and
// keeps the registry up to date as the task runs.
func Example() {
	ctx := context.Background()
	ep := endpoint.New(endpoint.Config{Addr: "127.0.0.1:0"}) // DefaultAddr (169.254.170.2:80) in production
	if err := ep.Start(ctx); err != nil {
		panic(err)
	}
	defer ep.Stop(ctx)

	containerID, credID := endpoint.NewID(), endpoint.NewID()
	env := ep.MetadataEnv(containerID) // into the container's environment, with ep.CredentialsEnv(credID)
	_ = ep.Register(endpoint.Task{
		TaskARN: "arn:aws:ecs:us-east-1:000000000000:task/default/1", Family: "web", Revision: "1",
		DesiredStatus: "RUNNING", KnownStatus: "RUNNING",
		Containers: []endpoint.Container{{EndpointID: containerID, Name: "web", KnownStatus: "RUNNING"}},
	})
	ep.SetCredentials(credID, agentproto.Credentials{AccessKeyID: "ASIA…", Expiration: time.Now().Add(time.Hour)})

	resp, err := http.Get(env[endpoint.EnvMetadataURIV4] + "/task")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}
