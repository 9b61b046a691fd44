package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/agentproto"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// Poller is the assignment channel's client (internal/agentclient).
type Poller interface {
	Poll(ctx context.Context, cluster, instanceARN string, acked int64, wait time.Duration, running []string) (Assignments, error)
	SubmitHealth(ctx context.Context, cluster, taskARN string, health map[string]wrt.Health) error
}

// Remote is the control plane over the network: the ECS API through
// aws-sdk-go-v2, the assignment channel through a Poller, and ECR tokens
// for pulls from Wharf's registry.
type Remote struct {
	cfg    aws.Config
	ecs    *ecs.Client
	poller Poller
	// registryHost is the host[:port] of Wharf's registry (the endpoint's).
	registryHost string

	cluster     string
	instanceARN string
}

// NewRemote returns a Remote for the endpoint, signing with cfg's
// credentials (the standard AWS chain).
func NewRemote(cfg aws.Config, endpoint string, poller Poller) (*Remote, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("agent: endpoint %q is not a URL like http://127.0.0.1:4566", endpoint)
	}
	client := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return &Remote{cfg: cfg, ecs: client, poller: poller, registryHost: u.Host}, nil
}

// Register calls RegisterContainerInstance.
func (r *Remote) Register(ctx context.Context, reg Registration) (string, error) {
	doc, _ := json.Marshal(map[string]string{"instanceId": reg.InstanceID, "availabilityZone": reg.AZ,
		"instanceType": reg.Type, "architecture": reg.Arch, "region": r.cfg.Region})
	in := &ecs.RegisterContainerInstanceInput{
		Cluster:                  aws.String(reg.Cluster),
		InstanceIdentityDocument: aws.String(string(doc)),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: int32(reg.CPU)},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: int32(reg.MemoryMiB)},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: portStrings(reg.Ports)},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: portStrings(reg.PortsUDP)},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String(reg.AgentVersion), DockerVersion: aws.String("DockerVersion: " + reg.DockerVersion)},
	}
	if len(reg.GPUs) > 0 {
		in.TotalResources = append(in.TotalResources, types.Resource{Name: aws.String("GPU"), Type: aws.String("STRINGSET"), StringSetValue: reg.GPUs})
		for _, id := range reg.GPUs {
			in.PlatformDevices = append(in.PlatformDevices, types.PlatformDevice{Id: aws.String(id), Type: types.PlatformDeviceTypeGpu})
		}
	}
	if reg.InstanceARN != "" {
		in.ContainerInstanceArn = aws.String(reg.InstanceARN)
	}
	for k, v := range reg.Attributes {
		a := types.Attribute{Name: aws.String(k)}
		if v != "" {
			a.Value = aws.String(v)
		}
		in.Attributes = append(in.Attributes, a)
	}
	out, err := r.ecs.RegisterContainerInstance(ctx, in)
	if err != nil {
		return "", err
	}
	r.cluster, r.instanceARN = reg.Cluster, aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	return r.instanceARN, nil
}

func portStrings(ports []int) []string {
	out := []string{}
	for _, p := range ports {
		out = append(out, strconv.Itoa(p))
	}
	return out
}

// Poll polls the assignment channel.
func (r *Remote) Poll(ctx context.Context, acked int64, wait time.Duration) (Assignments, error) {
	return r.poller.Poll(ctx, r.cluster, r.instanceARN, acked, wait, nil)
}

// SubmitTask calls SubmitTaskStateChange with the containers' states.
func (r *Remote) SubmitTask(ctx context.Context, rep TaskReport) error {
	in := &ecs.SubmitTaskStateChangeInput{Cluster: aws.String(rep.Cluster), Task: aws.String(rep.TaskARN),
		Status: optString(rep.Status), Reason: optString(rep.Reason), PullStartedAt: rep.PullStartedAt,
		PullStoppedAt: rep.PullStoppedAt, ExecutionStoppedAt: rep.ExecutionStoppedAt}
	for _, c := range rep.Containers {
		cs := types.ContainerStateChange{ContainerName: aws.String(c.Name), Status: optString(c.Status),
			Reason: optString(c.Reason), RuntimeId: optString(c.RuntimeID), ImageDigest: optString(c.ImageDigest)}
		if c.ExitCode != nil {
			cs.ExitCode = aws.Int32(int32(*c.ExitCode))
		}
		for _, b := range c.Bindings {
			cs.NetworkBindings = append(cs.NetworkBindings, types.NetworkBinding{BindIP: aws.String(b.BindIP),
				ContainerPort: aws.Int32(int32(b.ContainerPort)), HostPort: aws.Int32(int32(b.HostPort)),
				Protocol: types.TransportProtocol(b.Protocol)})
		}
		in.Containers = append(in.Containers, cs)
	}
	_, err := r.ecs.SubmitTaskStateChange(ctx, in)
	return err
}

// SubmitHealth reports container health through the assignment channel.
func (r *Remote) SubmitHealth(ctx context.Context, cluster, taskARN string, health map[string]wrt.Health) error {
	return r.poller.SubmitHealth(ctx, cluster, taskARN, health)
}

// RegistryAuth returns an ECR token for images in Wharf's registry: with
// the task's execution role when it has one (as ECS pulls), else with the
// agent's own credentials. Wharf's registry is the endpoint's host, or the
// proxyEndpoint GetAuthorizationToken names (the public host); other
// registries are pulled anonymously.
func (r *Remote) RegistryAuth(ctx context.Context, t *agentproto.Task, image string) (*wrt.Auth, error) {
	host, _, ok := strings.Cut(image, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return nil, nil // a Docker Hub name: not ours
	}
	cfg := r.cfg.Copy()
	if c := t.ExecutionRole; c != nil {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	}
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String("http://" + r.registryHost) })
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		if host == r.registryHost {
			return nil, err
		}
		return nil, nil
	}
	if len(out.AuthorizationData) == 0 {
		return nil, fmt.Errorf("agent: GetAuthorizationToken returned no token")
	}
	proxy := strings.TrimPrefix(strings.TrimPrefix(aws.ToString(out.AuthorizationData[0].ProxyEndpoint), "http://"), "https://")
	if host != r.registryHost && host != proxy && !strings.Contains(host, ".dkr.ecr.") {
		return nil, nil
	}
	return decodeECRToken(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
}

// decodeECRToken splits base64("AWS:password").
func decodeECRToken(tok string) (*wrt.Auth, error) {
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return nil, fmt.Errorf("agent: registry token is not base64: %w", err)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return nil, fmt.Errorf("agent: registry token is not user:password")
	}
	return &wrt.Auth{Username: user, Password: pass}, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
