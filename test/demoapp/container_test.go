package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/wharfhq/wharf/internal/agent/endpoint"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/testimg"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// TestWhoamiInContainer is the whole path a task's code takes: the demo
// image runs on the default Docker bridge; its SDK (LoadDefaultConfig)
// finds the credentials endpoint at 169.254.170.2 through the environment,
// fetches an assumed role's credentials over the link-local address, and
// calls STS on a Wharf listening on the bridge's gateway. It needs root
// (for the address) and a Docker Engine, and skips without them.
func TestWhoamiInContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot add 169.254.170.2 to the loopback interface")
	}
	c := testimg.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var gateway string
	nets, err := c.ListNetworks(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if n.Name == "bridge" {
			gateway = n.Gateway
			if gateway == "" {
				gateway = hostAddressIn(t, n.Subnet)
			}
		}
	}
	if gateway == "" {
		t.Skip("the engine has no default bridge with a gateway")
	}
	ref := fmt.Sprintf("wharf-test-demoapp:%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	testimg.LoadDocker(t, testimg.Demo(t), ref)

	wharf := wharftest.Start(t, func(cfg *server.Config) { cfg.Listen = gateway + ":0" })
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + wharf.Info.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	role, err := iam.NewFromConfig(wharf.Root()).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("demo-task"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	assumed, err := sts.NewFromConfig(wharf.Root()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("in-container")})
	if err != nil {
		t.Fatal(err)
	}

	if err := endpoint.EnsureAddress(ctx, endpoint.LinkLocalAddress); err != nil {
		t.Fatal(err)
	}
	ep := endpoint.New(endpoint.Config{Addr: endpoint.LinkLocalAddress + ":0", Stats: c.RawStats}) // a free port: no contention for :80
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer ep.Stop(context.Background())
	containerID, credID := endpoint.NewID(), endpoint.NewID()
	cr := assumed.Credentials
	ep.SetCredentials(credID, agentproto.Credentials{
		RoleARN: aws.ToString(role.Role.Arn), AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey),
		SessionToken: aws.ToString(cr.SessionToken), Expiration: aws.ToTime(cr.Expiration),
	})
	env := map[string]string{"AWS_ENDPOINT_URL": wharf.URL, "AWS_REGION": "us-east-1"}
	for _, m := range []map[string]string{ep.MetadataEnv(containerID), ep.CredentialsEnv(credID)} {
		for k, v := range m {
			env[k] = v
		}
	}
	name := "wharf-test-demoapp-" + containerID[:12]
	id, err := c.CreateContainer(ctx, runtime.ContainerSpec{Name: name, Image: ref, Environment: env, NetworkMode: runtime.NetworkBridge, StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.RemoveContainer(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := ep.Register(endpoint.Task{
		Cluster: "default", TaskARN: "arn:aws:ecs:us-east-1:" + wharf.Info.Account + ":task/default/" + containerID,
		Family: "demo", Revision: "1", DesiredStatus: "RUNNING", KnownStatus: "RUNNING", LaunchType: "EC2",
		Containers: []endpoint.Container{{EndpointID: containerID, DockerID: id, Name: "web", DockerName: name, Image: ref,
			DesiredStatus: "RUNNING", KnownStatus: "RUNNING"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	st, err := c.InspectContainer(ctx, id)
	if err != nil || len(st.Networks) == 0 || st.Networks[0].IPAddress == "" {
		t.Fatalf("inspect: %+v, %v", st, err)
	}
	base := "http://" + st.Networks[0].IPAddress + ":8080"
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo in the container never answered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	code, body := fetch(t, base+"/whoami")
	var who struct{ Arn string }
	want := "arn:aws:sts::" + wharf.Info.Account + ":assumed-role/demo-task/in-container"
	if err := json.Unmarshal([]byte(body), &who); code != 200 || err != nil || who.Arn != want {
		t.Errorf("/whoami in the container = %d %s; want Arn %s", code, body, want)
	}
	code, body = fetch(t, base+"/metadata")
	var task struct {
		Family     string
		Containers []struct{ DockerId string }
	}
	if err := json.Unmarshal([]byte(body), &task); code != 200 || err != nil || task.Family != "demo" || len(task.Containers) != 1 || task.Containers[0].DockerId != id {
		t.Errorf("/metadata in the container = %d %s", code, body)
	}
}

// hostAddressIn is the host's own address in subnet (the bridge's gateway
// when the engine does not report one); empty when there is none.
func hostAddressIn(t *testing.T, subnet string) string {
	_, cidr, err := net.ParseCIDR(subnet)
	if err != nil {
		return ""
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && cidr.Contains(ipn.IP) {
			return ipn.IP.String()
		}
	}
	return ""
}
