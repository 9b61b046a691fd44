package cli

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestAgentMetricsAddress(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		want      string
		wantPorts []int // nil: the agent's defaults apply later
	}{
		{name: "off by default"},
		{name: "flag", args: []string{"--metrics-address", ":9100"}, want: ":9100", wantPorts: []int{22, 2375, 2376, 51678, 51679, 9100}},
		{name: "WHARF_AGENT_METRICS_ADDRESS", env: map[string]string{"WHARF_AGENT_METRICS_ADDRESS": "127.0.0.1:9200"}, want: "127.0.0.1:9200",
			wantPorts: []int{22, 2375, 2376, 51678, 51679, 9200}},
		{name: "the ECS agent's switch", env: map[string]string{"ECS_ENABLE_PROMETHEUS_METRICS": "true"}, want: ":51680",
			wantPorts: []int{22, 2375, 2376, 51678, 51679, 51680}},
		{name: "the flag wins", args: []string{"--metrics-address", "off"}, env: map[string]string{"ECS_ENABLE_PROMETHEUS_METRICS": "true"}},
		{name: "reserved ports given", args: []string{"--metrics-address", ":51680", "--reserved-ports", "22,51680"}, want: ":51680",
			wantPorts: []int{22, 51680}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"WHARF_AGENT_METRICS_ADDRESS", "ECS_ENABLE_PROMETHEUS_METRICS", "ECS_RESERVED_PORTS"} {
				t.Setenv(k, tc.env[k])
			}
			cfg, _, err := agentFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsAddress != tc.want || !slices.Equal(cfg.ReservedPorts, tc.wantPorts) {
				t.Fatalf("address %q ports %v, want %q %v", cfg.MetricsAddress, cfg.ReservedPorts, tc.want, tc.wantPorts)
			}
		})
	}
	t.Setenv("ECS_ENABLE_PROMETHEUS_METRICS", "")
	_, _, err := agentFlags([]string{"--metrics-address", "9100"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `--metrics-address "9100": want HOST:PORT or :PORT, e.g. :51680`) {
		t.Fatalf("a bare port: %v", err)
	}
}
