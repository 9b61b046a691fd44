package agent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentproto"
)

// envFileFetcher downloads environment files from the S3-compatible
// endpoint the agent is configured with (path-style), as the task's
// execution role when it has one — as ECS does — else with the agent's
// own credentials.
type envFileFetcher struct {
	endpoint string
	region   string
	own      aws.Config
	// task returns the latest assignment of a task (nil if unknown).
	task func(taskARN string) *agentproto.Task
}

func (f *envFileFetcher) fetch(ctx context.Context, taskARN string, ref task.EnvFileRef) ([]byte, error) {
	cfg := f.own.Copy()
	cfg.Region = f.region
	if t := f.task(taskARN); t != nil && t.ExecutionRole != nil {
		c := t.ExecutionRole
		cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.endpoint)
		o.UsePathStyle = true
	})
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)})
	if err != nil {
		return nil, fmt.Errorf("unable to download env file with key '%s' from bucket '%s': %s", ref.Key, ref.Bucket, s3Message(err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, task.MaxEnvFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("unable to download env file with key '%s' from bucket '%s': %v", ref.Key, ref.Bucket, err)
	}
	return data, nil
}

// s3Message is an S3 error as ECS quotes it: "Code: Message", or the
// transport error.
func s3Message(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		msg := api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		var rerr interface{ HTTPStatusCode() int }
		if errors.As(err, &rerr) {
			msg += fmt.Sprintf(" status code: %d", rerr.HTTPStatusCode())
		}
		return msg
	}
	return err.Error()
}

// envFiles sets up the task engine's download of environment files.
func (e *engine) envFiles(tc *task.Config) {
	tc.EnvFilesMissing = e.ec.S3Missing
	if tc.EnvFilesMissing == "" {
		tc.EnvFilesMissing = "this agent has no S3 endpoint to download them from; start `wharf agent` with --s3-endpoint URL (or AWS_ENDPOINT_URL_S3)"
	}
	if e.cfg.S3Endpoint == "" {
		return
	}
	f := &envFileFetcher{endpoint: e.cfg.S3Endpoint, region: e.cfg.Region, own: e.ec.AWS, task: func(arn string) *agentproto.Task {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.tasks[arn]
	}}
	tc.EnvFiles = f.fetch
}
