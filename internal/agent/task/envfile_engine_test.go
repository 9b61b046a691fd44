package task_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/ptr"
)

func envFiles(arns ...string) []ecsapi.EnvironmentFile {
	var out []ecsapi.EnvironmentFile
	for _, a := range arns {
		out = append(out, ecsapi.EnvironmentFile{Type: ptr.To("s3"), Value: ptr.To(a)})
	}
	return out
}

// TestEnvFilesReachTheContainer: the files are downloaded (once each, for
// the task), merged with ECS's precedence, and the container sees the
// result — it exits 0 only if every variable is as expected.
func TestEnvFilesReachTheContainer(t *testing.T) {
	t.Parallel()
	objects := map[string]string{
		"cfg/a.env": "# defaults\nFROM_A=alpha\nSHARED=from-a\nQUOTED=\"q v\"\nOVERRIDDEN=file\n",
		"cfg/b.env": "SHARED=from-b\r\nFROM_B=beta\r\n",
	}
	var mu sync.Mutex
	fetched := map[string]int{}
	var tasks []string
	h := newHarness(t, func(c *task.Config) {
		c.EnvFiles = func(ctx context.Context, taskARN string, ref task.EnvFileRef) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			fetched[ref.Bucket+"/"+ref.Key]++
			tasks = append(tasks, taskARN)
			return []byte(objects[ref.Bucket+"/"+ref.Key]), nil
		}
	})
	check := `[ "$FROM_A" = alpha ] && [ "$FROM_B" = beta ] && [ "$SHARED" = from-a ] && [ "$QUOTED" = '"q v"' ] && [ "$OVERRIDDEN" = env ] && exit 0; env; exit 7`
	tk := h.newTask("bridge",
		ecsapi.ContainerDefinition{Name: ptr.To("main"), Command: sh(check),
			Environment:      []ecsapi.KeyValuePair{{Name: ptr.To("OVERRIDDEN"), Value: ptr.To("env")}},
			EnvironmentFiles: envFiles("arn:aws:s3:::cfg/a.env", "arn:aws:s3:::cfg/b.env")},
		ecsapi.ContainerDefinition{Name: ptr.To("side"), Essential: ptr.To(false), Command: sh(`[ "$FROM_A" = alpha ] && sleep 600`),
			EnvironmentFiles: envFiles("arn:aws:s3:::cfg/a.env"), StopTimeout: ptr.To[int32](1)},
	)
	h.m.Apply(tk)
	c := h.waitFor("STOPPED", 30*time.Second, stopped)
	if m := container(c, "main"); c.StopCode != task.StopEssentialExited || m.ExitCode == nil || *m.ExitCode != 0 {
		t.Fatalf("the container did not see the variables (exit 7 = mismatch): %s", describe(c))
	}
	if s := container(c, "side"); s.ExitCode == nil || *s.ExitCode != 137 {
		t.Errorf("the sidecar (killed at stop) did not see its file: %s", describe(c))
	}
	mu.Lock()
	defer mu.Unlock()
	if fetched["cfg/a.env"] != 1 || fetched["cfg/b.env"] != 1 || len(tasks) != 2 || tasks[0] != tk.TaskARN {
		t.Errorf("downloads %v for tasks %v", fetched, tasks)
	}
}

// TestEnvFilesFailures: a file that cannot be downloaded or read, or an
// agent that has no way to download, stops the task before anything is
// created, with ECS's ResourceInitializationError.
func TestEnvFilesFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fetch task.FetchEnvFile
		want  string
	}{
		{"no fetcher", nil, "ResourceInitializationError: failed to download env files: set --s3-endpoint"},
		{"download fails", func(context.Context, string, task.EnvFileRef) ([]byte, error) {
			return nil, errors.New("unable to download env file with key 'a.env' from bucket 'cfg': NoSuchKey: gone status code: 404")
		}, "ResourceInitializationError: failed to download env files: unable to download env file with key 'a.env' from bucket 'cfg': NoSuchKey"},
		{"bad file", func(context.Context, string, task.EnvFileRef) ([]byte, error) {
			return []byte("GOOD=1\nBAD NAME=2\n"), nil
		}, "ResourceInitializationError: failed to download env files: env file with key 'a.env' from bucket 'cfg': line 2: variable \"BAD NAME\" contains whitespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(cfg *task.Config) { cfg.EnvFiles, cfg.EnvFilesMissing = c.fetch, "set --s3-endpoint" })
			tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("main"), Command: []string{"true"},
				EnvironmentFiles: envFiles("arn:aws:s3:::cfg/a.env")})
			h.m.Apply(tk)
			st := h.waitFor("STOPPED", 20*time.Second, stopped)
			if st.StopCode != task.StopFailedToStart || !strings.HasPrefix(st.StoppedReason, c.want) || container(st, "main").RuntimeID != "" {
				t.Errorf("stopped: %s; want reason %q and no container", describe(st), c.want)
			}
		})
	}
}
