package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// fakeS3 serves GetObject, path-style, from a map: S3 is not the subject
// here (Wharf has none), only the agent's download of environment files.
// It records who signed each request.
type fakeS3 struct {
	objects map[string]string // "bucket/key" → body
	mu      sync.Mutex
	signers []string // the access key of each GetObject, with "+token" when a session token came along
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cred := r.Header.Get("Authorization")
	if _, after, ok := strings.Cut(cred, "Credential="); ok {
		cred, _, _ = strings.Cut(after, "/")
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		cred += "+token"
	}
	f.mu.Lock()
	f.signers = append(f.signers, cred)
	f.mu.Unlock()
	body, ok := f.objects[strings.TrimPrefix(r.URL.Path, "/")]
	if r.Method != http.MethodGet || !ok {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>`))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(body))
}

// TestFargateEnvironmentFiles: `wharf up --s3-endpoint` downloads a
// FARGATE task's environmentFiles as its execution role; the container
// sees the variables with ECS's precedence (environment over files, the
// first file over later ones, values taken as is); a file that is not
// there stops the task with ResourceInitializationError.
func TestFargateEnvironmentFiles(t *testing.T) {
	needDocker(t)
	s3 := &fakeS3{objects: map[string]string{
		"cfg/app/a.env": "# defaults for the app\nFROM_A=alpha\nSHARED=from-a\nQUOTED=\"q v\"\nOVERRIDDEN=file\n",
		"cfg/b.env":     "SHARED=from-b\nFROM_B=beta two\n",
	}}
	srv := httptest.NewServer(s3)
	defer srv.Close()
	w := startWharfArgs(t, []string{"--s3-endpoint", srv.URL})
	removeTaskContainers(t, w, "envfiles")
	cfg := w.sdk()
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("envfiles")}); err != nil {
		t.Fatal(err)
	}
	files := func(keys ...string) []types.EnvironmentFile {
		var out []types.EnvironmentFile
		for _, k := range keys {
			out = append(out, types.EnvironmentFile{Type: types.EnvironmentFileTypeS3, Value: aws.String("arn:aws:s3:::cfg/" + k)})
		}
		return out
	}
	run := func(family string, cd types.ContainerDefinition) string {
		cd.Name, cd.Image, cd.Essential = aws.String("main"), aws.String(busybox), aws.Bool(true)
		cd.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": "/ecs/" + family, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}
		td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
			ContainerDefinitions: []types.ContainerDefinition{cd}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("envfiles"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v %+v", err, out)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}

	arn := run("printenv", types.ContainerDefinition{
		Command:          []string{"sh", "-c", `for v in FROM_A FROM_B SHARED QUOTED OVERRIDDEN; do eval "echo $v=\$$v"; done`},
		Environment:      []types.KeyValuePair{{Name: aws.String("OVERRIDDEN"), Value: aws.String("env")}},
		EnvironmentFiles: files("app/a.env", "b.env"),
	})
	tk := waitTask(t, client, "envfiles", arn, 90*time.Second, "STOPPED", stopped)
	if tk.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(tk.Containers[0].ExitCode) != 0 {
		t.Fatalf("printenv task: %s %q exit %v", tk.StopCode, aws.ToString(tk.StoppedReason), tk.Containers[0].ExitCode)
	}
	got := logMessages(t, w, "/ecs/printenv", "ecs/main/"+arn[strings.LastIndex(arn, "/")+1:], 5, 30*time.Second)
	want := []string{"FROM_A=alpha", "FROM_B=beta two", "SHARED=from-a", `QUOTED="q v"`, "OVERRIDDEN=env"}
	if !slices.Equal(got, want) {
		t.Fatalf("the container printed %q; want %q", got, want)
	}
	s3.mu.Lock()
	signers := slices.Clone(s3.signers)
	s3.mu.Unlock()
	if len(signers) != 2 {
		t.Fatalf("%d GetObjects, want 2: %q", len(signers), signers)
	}
	for _, s := range signers {
		// The execution role's STS credentials: a temporary key with a token.
		if !strings.HasPrefix(s, "ASIA") || !strings.HasSuffix(s, "+token") {
			t.Errorf("GetObject signed by %q, want the execution role's temporary credentials", s)
		}
	}

	arn = run("missing", types.ContainerDefinition{Command: []string{"true"}, EnvironmentFiles: files("b.env", "missing.env")})
	tk = waitTask(t, client, "envfiles", arn, 60*time.Second, "STOPPED", stopped)
	wantReason := "ResourceInitializationError: failed to download env files: unable to download env file with key 'missing.env' from bucket 'cfg': NoSuchKey"
	if tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(tk.StoppedReason), wantReason) {
		t.Fatalf("missing file: %s %q; want TaskFailedToStart %q", tk.StopCode, aws.ToString(tk.StoppedReason), wantReason)
	}
}

// TestFargateEnvironmentFilesWithoutS3: a server started without
// --s3-endpoint stops a task with environment files and says which flag
// to set.
func TestFargateEnvironmentFilesWithoutS3(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	removeTaskContainers(t, w, "nos3")
	cfg := w.sdk()
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("nos3"),
		NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("main"), Image: aws.String(busybox), Essential: aws.Bool(true),
			EnvironmentFiles: []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: aws.String("arn:aws:s3:::cfg/a.env")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("nos3")}); err != nil {
		t.Fatal(err)
	}
	out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("nos3"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	tk := waitTask(t, client, "nos3", aws.ToString(out.Tasks[0].TaskArn), 60*time.Second, "STOPPED", stopped)
	want := "ResourceInitializationError: failed to download env files: this Wharf server has no S3 endpoint to download them from; start `wharf up` with --s3-endpoint URL"
	if tk.StopCode != types.TaskStopCodeTaskFailedToStart || aws.ToString(tk.StoppedReason) != want {
		t.Fatalf("stopped %s %q; want TaskFailedToStart %q", tk.StopCode, aws.ToString(tk.StoppedReason), want)
	}
}
