package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// dockerArchive is a `docker save` archive of a one-layer image tagged ref
// whose layer is rootfs and whose entrypoint is entry.
func dockerArchive(t *testing.T, ref string, rootfs []byte, entry []string) []byte {
	t.Helper()
	sum := sha256.Sum256(rootfs)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": entry},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	csum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(csum[:]) + ".json"
	layerName := hex.EncodeToString(sum[:]) + "/layer.tar"
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{ref}, "Layers": []string{layerName}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgName, cfg}, {layerName, rootfs}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadInspectListImages(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 60*time.Second)
	rootfs, err := busyboxRootfs("loaded " + testRun)
	if err != nil {
		t.Fatal(err)
	}
	ref := "wharf-test-loaded:" + testRun
	if err := c.LoadImage(ctx, bytes.NewReader(dockerArchive(t, ref, rootfs, []string{"/bin/echo", "loaded"}))); err != nil {
		t.Fatalf("LoadImage: %v", err)
	}
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.RemoveImage(rctx, ref, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	info, err := c.InspectImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.ID, "sha256:") || !slices.Contains(info.RepoTags, ref) || info.Digest("wharf-test-loaded") != info.ID {
		t.Errorf("InspectImage = %+v", info)
	}
	if d, err := c.ImageDigest(ctx, ref); err != nil || d != info.ID {
		t.Errorf("ImageDigest = %q, %v; want the ID %s of a never-pulled image", d, err, info.ID)
	}
	list, err := c.ListImages(ctx)
	if err != nil || !slices.ContainsFunc(list, func(i ImageInfo) bool { return i.ID == info.ID }) {
		t.Errorf("ListImages = %d images, %v; want %s among them", len(list), err, info.ID)
	}
	id := create(t, runtime.ContainerSpec{Image: ref}, "run")
	start(t, id)
	if code, err := c.WaitContainer(ctx, id); err != nil || code != 0 {
		t.Fatalf("wait = %d, %v", code, err)
	}
	if got := lines(logs(t, id), runtime.Stdout); !slices.Equal(got, []string{"loaded"}) {
		t.Errorf("output = %q, want the entrypoint's", got)
	}
	if _, err := c.InspectImage(ctx, "wharf-test-absent:"+testRun); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("InspectImage(absent) = %v, want ErrNotFound", err)
	}
	if err := c.LoadImage(ctx, strings.NewReader("not a tar")); err == nil {
		t.Error("LoadImage(garbage) succeeded")
	}
	if got := (ImageInfo{ID: "sha256:1", RepoDigests: []string{"a@sha256:2", "b@sha256:3"}}).Digest("b"); got != "sha256:3" {
		t.Errorf("Digest(b) = %s", got)
	}
}

func TestFixedAddressAndCPUQuota(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	name := testName(t, "net")
	octet := os.Getpid()%200 + 20
	subnet := fmt.Sprintf("10.251.%d.0/24", octet)
	n, err := c.CreateNetwork(ctx, runtime.NetworkSpec{Name: name, Subnet: subnet, Gateway: fmt.Sprintf("10.251.%d.1", octet), Labels: map[string]string{runLabel: testRun}})
	if err != nil {
		t.Skipf("cannot create network %s (in use?): %v", subnet, err)
	}
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.RemoveNetwork(rctx, n.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ip, mac := fmt.Sprintf("10.251.%d.77", octet), "02:42:0a:fb:00:4d"
	id := create(t, runtime.ContainerSpec{
		// It stays up until stopped: a container that has exited has no
		// network settings left to inspect.
		Command:     []string{"sh", "-c", "(cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); exec sleep 60"},
		NetworkMode: name, IPv4Address: ip, MACAddress: mac, NanoCPUs: 500_000_000,
	}, "fixed")
	start(t, id)
	st, err := c.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Networks) != 1 || st.Networks[0].IPAddress != ip || st.Networks[0].MACAddress != mac {
		t.Errorf("networks = %+v, want %s %s", st.Networks, ip, mac)
	}
	if err := c.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if out := strings.Join(lines(logs(t, id), runtime.Stdout), "\n"); !strings.HasPrefix(out, "50000") {
		t.Errorf("cpu quota = %q, want 50000 (half a core per 100 ms)", out)
	}
	if err := c.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestListVolumesByLabel(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	name := testName(t, "vol")
	if err := c.CreateVolume(ctx, runtime.VolumeSpec{Name: name, Labels: map[string]string{runLabel: testRun, "wharf.test-vol": name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.RemoveVolume(context.Background(), name) })
	got, err := c.ListVolumes(ctx, map[string]string{"wharf.test-vol": name})
	if err != nil || !slices.Equal(got, []string{name}) {
		t.Errorf("ListVolumes(label) = %v, %v; want [%s]", got, err, name)
	}
	if got, err := c.ListVolumes(ctx, map[string]string{"wharf.test-vol": name + "-other"}); err != nil || len(got) != 0 {
		t.Errorf("ListVolumes(other label) = %v, %v; want none", got, err)
	}
	if err := c.RemoveVolume(ctx, name); err != nil {
		t.Fatal(err)
	}
}
