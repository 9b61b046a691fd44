// Package agentclient is the agent's client of the wharfagent API
// (api/models/wharfagent): PollAssignments and SubmitTaskHealth, awsJson 1.1
// requests signed with SigV4 for the "ecs" service, as the control plane
// expects from any client. Errors come back as *Error with the AWS error
// code and message.
package agentclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharfhq/wharf/internal/agentproto"
)

// targetPrefix is the wharfagent model's X-Amz-Target prefix.
const targetPrefix = "WharfAgentV20261126"

// signingName is the service the requests are signed for.
const signingName = "ecs"

// Client calls the agent channel of one Wharf control plane.
type Client struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	hc       *http.Client
	signer   *v4.Signer
	now      func() time.Time
}

// New returns a client of the control plane at endpoint (e.g.
// "http://127.0.0.1:4566") signing for region with creds. hc nil means an
// http.Client without a timeout (a poll waits up to a minute; bound calls
// with their context).
func New(endpoint, region string, creds aws.CredentialsProvider, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{endpoint: strings.TrimSuffix(endpoint, "/"), region: region, creds: creds, hc: hc, signer: v4.NewSigner(), now: time.Now}
}

// Error is an error answer of the control plane.
type Error struct {
	// Code is the AWS error code (ClientException, InvalidParameterException,
	// ClusterNotFoundException, AccessDeniedException, ServerException…).
	Code    string
	Message string
	// StatusCode is the HTTP status.
	StatusCode int
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.StatusCode)
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// PollInput is a PollAssignments request.
type PollInput struct {
	Cluster           string
	ContainerInstance string
	// AckedSequence is the sequence of the last answer applied.
	AckedSequence int64
	// WaitSeconds bounds the wait (0 to 60); nil means the server's
	// default, 20.
	WaitSeconds *int32
	// RunningTasks are the task ARNs the agent runs (informational).
	RunningTasks []string
}

// PollOutput is a PollAssignments answer.
type PollOutput struct {
	// Sequence is the instance's assignment sequence. When it equals the
	// acked one, nothing changed and Assignments is empty.
	Sequence int64
	// Status is the container instance's status (ACTIVE, DRAINING).
	Status string
	// Assignments is the instance's whole desired state when Sequence
	// moved on.
	Assignments []Assignment
}

// Assignment is one assigned task.
type Assignment struct {
	TaskARN       string
	DesiredStatus string
	Task          *agentproto.Task
}

type pollRequest struct {
	Cluster           string   `json:"cluster"`
	ContainerInstance string   `json:"containerInstance"`
	AckedSequence     int64    `json:"ackedSequence"`
	WaitSeconds       *int32   `json:"waitSeconds,omitempty"`
	RunningTasks      []string `json:"runningTasks,omitempty"`
}

type pollResponse struct {
	Sequence    int64  `json:"sequence"`
	Status      string `json:"status"`
	Assignments []struct {
		TaskArn       string `json:"taskArn"`
		DesiredStatus string `json:"desiredStatus"`
		Document      string `json:"document"`
	} `json:"assignments"`
}

// PollAssignments long-polls the instance's assignments.
func (c *Client) PollAssignments(ctx context.Context, in *PollInput) (*PollOutput, error) {
	var resp pollResponse
	req := pollRequest{Cluster: in.Cluster, ContainerInstance: in.ContainerInstance, AckedSequence: in.AckedSequence,
		WaitSeconds: in.WaitSeconds, RunningTasks: in.RunningTasks}
	if err := c.call(ctx, "PollAssignments", &req, &resp); err != nil {
		return nil, err
	}
	out := &PollOutput{Sequence: resp.Sequence, Status: resp.Status}
	for _, a := range resp.Assignments {
		t, err := agentproto.Decode(a.Document)
		if err != nil {
			return nil, fmt.Errorf("agentclient: assignment %s: %w", a.TaskArn, err)
		}
		out.Assignments = append(out.Assignments, Assignment{TaskARN: a.TaskArn, DesiredStatus: a.DesiredStatus, Task: t})
	}
	return out, nil
}

// ContainerHealth is one container's health-check status (HEALTHY,
// UNHEALTHY or UNKNOWN).
type ContainerHealth struct {
	ContainerName string `json:"containerName"`
	HealthStatus  string `json:"healthStatus"`
}

type healthRequest struct {
	Cluster    string            `json:"cluster"`
	Task       string            `json:"task"`
	Containers []ContainerHealth `json:"containers"`
}

// SubmitTaskHealth reports the health of a task's containers.
func (c *Client) SubmitTaskHealth(ctx context.Context, cluster, task string, containers []ContainerHealth) error {
	if containers == nil {
		containers = []ContainerHealth{}
	}
	var resp struct {
		Acknowledgment string `json:"acknowledgment"`
	}
	return c.call(ctx, "SubmitTaskHealth", &healthRequest{Cluster: cluster, Task: task, Containers: containers}, &resp)
}

// call sends one signed awsJson 1.1 request and decodes the answer.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", targetPrefix+"."+op)
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("agentclient: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, c.region, c.now()); err != nil {
		return fmt.Errorf("agentclient: sign: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("agentclient: %s answer: %w", op, err)
	}
	return nil
}

// decodeError reads an awsJson error answer: the code from
// X-Amzn-ErrorType or "__type" (without its namespace), the message from
// "message" or "Message".
func decodeError(resp *http.Response, data []byte) error {
	var doc struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(data, &doc)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = doc.Type
	}
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.Message2
	}
	return &Error{Code: code, Message: msg, StatusCode: resp.StatusCode}
}
