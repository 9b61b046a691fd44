package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// GPUs are the host's NVIDIA GPUs, found the way the ECS agent's GPU
// support sees them, without NVML (no cgo, no driver library loaded):
//
//   - every /dev/nvidiaN character device is a GPU with minor number N;
//   - /proc/driver/nvidia/gpus/<PCI address>/information gives its
//     "GPU UUID" and "Device Minor" — the UUID is the GPU's ID, as NVML
//     reports it and as the nvidia container runtime accepts it;
//   - /proc/driver/nvidia/version gives the driver version.
//
// A device without an information entry is named by its minor number
// ("0"), which the NVIDIA runtime accepts too.
type GPUs struct {
	IDs           []string // in minor-number order
	DriverVersion string
}

var nvidiaDevice = regexp.MustCompile(`^nvidia([0-9]+)$`)

// DetectGPUs looks for NVIDIA GPUs under devDir (normally /dev) and
// procDir (normally /proc). No GPU is not an error: IDs is empty.
func DetectGPUs(devDir, procDir string) (GPUs, error) {
	var g GPUs
	entries, err := os.ReadDir(devDir)
	if err != nil {
		return g, fmt.Errorf("agent: looking for GPUs in %s: %w", devDir, err)
	}
	var minors []int
	for _, e := range entries {
		m := nvidiaDevice.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err == nil {
			minors = append(minors, n)
		}
	}
	if len(minors) == 0 {
		return g, nil
	}
	slices.Sort(minors)
	uuids, err := gpuUUIDs(filepath.Join(procDir, "driver", "nvidia", "gpus"))
	if err != nil {
		return g, err
	}
	for _, n := range minors {
		id, ok := uuids[n]
		if !ok {
			id = strconv.Itoa(n)
		}
		g.IDs = append(g.IDs, id)
	}
	if b, err := os.ReadFile(filepath.Join(procDir, "driver", "nvidia", "version")); err == nil {
		g.DriverVersion = ParseNvidiaVersion(string(b))
	}
	return g, nil
}

// gpuUUIDs reads the information file of every GPU the driver lists:
// minor number → UUID.
func gpuUUIDs(dir string) (map[int]string, error) {
	out := map[int]string{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: reading the NVIDIA driver's GPUs in %s: %w", dir, err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "information"))
		if err != nil {
			continue
		}
		uuid, minor, ok := parseGPUInformation(string(b))
		if ok {
			out[minor] = uuid
		}
	}
	return out, nil
}

// parseGPUInformation reads "GPU UUID:" and "Device Minor:" from a
// /proc/driver/nvidia/gpus/*/information file ("Key: \t value" lines).
func parseGPUInformation(s string) (uuid string, minor int, ok bool) {
	minor = -1
	for _, line := range strings.Split(s, "\n") {
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "GPU UUID":
			uuid = v
		case "Device Minor":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				minor = n
			}
		}
	}
	return uuid, minor, uuid != "" && minor >= 0
}

// ParseNvidiaVersion returns the driver version from
// /proc/driver/nvidia/version ("NVRM version: NVIDIA UNIX x86_64 Kernel
// Module  535.104.05  Sat Aug 19 …"): the first dotted number after
// "Kernel Module" (or, failing that, after "NVRM version:").
func ParseNvidiaVersion(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "NVRM version:") {
			continue
		}
		rest := line
		if _, after, ok := strings.Cut(line, "Kernel Module"); ok {
			rest = after
		}
		for _, f := range strings.Fields(rest) {
			if strings.Contains(f, ".") && strings.Trim(f, "0123456789.") == "" {
				return f
			}
		}
	}
	return ""
}

// gpuAttributes are the attributes the ECS agent registers for a host's
// GPUs: ecs.capability.nvidia-driver-version.<version> (no value) and
// ecs.capability.gpu-driver-version=<version>.
func gpuAttributes(g GPUs) map[string]string {
	if len(g.IDs) == 0 || g.DriverVersion == "" {
		return nil
	}
	return map[string]string{
		"ecs.capability.nvidia-driver-version." + g.DriverVersion: "",
		"ecs.capability.gpu-driver-version":                       g.DriverVersion,
	}
}
