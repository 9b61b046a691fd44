package agentclient

import (
	"context"
	"time"
)

// TaskStatsInput is a SubmitTaskStats request: samples of the tasks one
// agent runs in a cluster.
type TaskStatsInput struct {
	Cluster           string
	ContainerInstance string
	Tasks             []TaskStats
}

// TaskStats is one task's sample.
type TaskStats struct {
	TaskARN   string
	Time      time.Time
	CPUUnits  float64 // CPU used on average since the previous sample (1024 = one core)
	MemoryMiB float64 // memory in use, page cache excluded
}

type taskStatsJSON struct {
	TaskArn   string  `json:"taskArn"`
	Timestamp float64 `json:"timestamp"` // awsJson: epoch seconds
	CPUUnits  float64 `json:"cpuUnits"`
	MemoryMiB float64 `json:"memoryMiB"`
}

type statsRequest struct {
	Cluster           string          `json:"cluster"`
	ContainerInstance string          `json:"containerInstance,omitempty"`
	Tasks             []taskStatsJSON `json:"tasks"`
}

// SubmitTaskStats sends task samples and returns the sample interval the
// control plane asks for, in seconds (0 when it names none).
func (c *Client) SubmitTaskStats(ctx context.Context, in *TaskStatsInput) (int32, error) {
	req := statsRequest{Cluster: in.Cluster, ContainerInstance: in.ContainerInstance, Tasks: []taskStatsJSON{}}
	for _, t := range in.Tasks {
		req.Tasks = append(req.Tasks, taskStatsJSON{TaskArn: t.TaskARN, Timestamp: float64(t.Time.UnixMilli()) / 1000,
			CPUUnits: max(t.CPUUnits, 0), MemoryMiB: max(t.MemoryMiB, 0)})
	}
	var resp struct {
		Acknowledgment        string `json:"acknowledgment"`
		SampleIntervalSeconds int32  `json:"sampleIntervalSeconds"`
	}
	if err := c.call(ctx, "SubmitTaskStats", &req, &resp); err != nil {
		return 0, err
	}
	return resp.SampleIntervalSeconds, nil
}
