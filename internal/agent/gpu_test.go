package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fakeGPUHost writes a /dev and /proc tree like a host with the NVIDIA
// driver loaded: device nodes (regular files stand in for them) and the
// driver's per-GPU information files.
func fakeGPUHost(t *testing.T, devs []string, infos map[string]string, version string) (dev, proc string) {
	t.Helper()
	root := t.TempDir()
	dev, proc = filepath.Join(root, "dev"), filepath.Join(root, "proc")
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		write(filepath.Join(dev, d), "")
	}
	for pci, info := range infos {
		write(filepath.Join(proc, "driver", "nvidia", "gpus", pci, "information"), info)
	}
	if version != "" {
		write(filepath.Join(proc, "driver", "nvidia", "version"), version)
	}
	return dev, proc
}

func gpuInfo(uuid, minor string) string {
	return "Model: \t\t Tesla T4\nIRQ:   \t\t 36\nGPU UUID: \t " + uuid + "\nVideo BIOS: \t 90.04.96.00.02\n" +
		"Bus Type: \t PCIe\nDMA Size: \t 47 bits\nDMA Mask: \t 0x7fffffffffff\nBus Location: \t 0000:00:1e.0\nDevice Minor: \t " + minor + "\nGPU Excluded:\t No\n"
}

const nvidiaVersion = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n" +
	"GCC version:  gcc version 10.5.0 20230707 (Red Hat 10.5.0-1) (GCC)\n"

func TestDetectGPUs(t *testing.T) {
	cases := []struct {
		name    string
		devs    []string
		infos   map[string]string
		version string
		want    GPUs
	}{
		{"no GPU", []string{"null", "tty0", "nvidiactl"}, nil, "", GPUs{}},
		{"driver loaded, no device", []string{"nvidiactl", "nvidia-uvm"}, map[string]string{"0000:00:1e.0": gpuInfo("GPU-aaaa", "0")}, nvidiaVersion, GPUs{}},
		{"two GPUs by UUID, in minor order", []string{"nvidia1", "nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-modeset"},
			map[string]string{"0000:00:1f.0": gpuInfo("GPU-bbbb", "1"), "0000:00:1e.0": gpuInfo("GPU-aaaa", "0")}, nvidiaVersion,
			GPUs{IDs: []string{"GPU-aaaa", "GPU-bbbb"}, DriverVersion: "535.104.05"}},
		{"minor 10 after 2", []string{"nvidia10", "nvidia2"},
			map[string]string{"a": gpuInfo("GPU-ten", "10"), "b": gpuInfo("GPU-two", "2")}, nvidiaVersion,
			GPUs{IDs: []string{"GPU-two", "GPU-ten"}, DriverVersion: "535.104.05"}},
		{"no information: named by minor", []string{"nvidia0", "nvidia3"}, map[string]string{"x": gpuInfo("GPU-aaaa", "0")}, "",
			GPUs{IDs: []string{"GPU-aaaa", "3"}}},
	}
	for _, c := range cases {
		dev, proc := fakeGPUHost(t, c.devs, c.infos, c.version)
		got, err := DetectGPUs(dev, proc)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: DetectGPUs = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	if _, err := DetectGPUs(filepath.Join(t.TempDir(), "missing"), "/proc"); err == nil {
		t.Error("DetectGPUs of a missing /dev: no error")
	}
}

func TestGPUAttributes(t *testing.T) {
	got := gpuAttributes(GPUs{IDs: []string{"GPU-aaaa"}, DriverVersion: "535.104.05"})
	want := map[string]string{"ecs.capability.nvidia-driver-version.535.104.05": "", "ecs.capability.gpu-driver-version": "535.104.05"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gpuAttributes = %v; want %v", got, want)
	}
	if got := gpuAttributes(GPUs{DriverVersion: "535.104.05"}); got != nil {
		t.Errorf("gpuAttributes without GPUs = %v", got)
	}
	for in, want := range map[string]string{
		nvidiaVersion: "535.104.05",
		"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Feb 22 01:25:25 UTC 2024\n": "550.54.14",
		"garbage\n": "",
	} {
		if got := ParseNvidiaVersion(in); got != want {
			t.Errorf("ParseNvidiaVersion(%q) = %q; want %q", in, got, want)
		}
	}
}
