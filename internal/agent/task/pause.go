package task

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"syscall"
)

// PauseRepository is the repository of the pause image; its tag is a
// short hash of the executable it holds.
const PauseRepository = "wharf/pause"

// PauseArg is the argument the pause image runs the executable with: the
// executable must answer it by calling Pause (the wharf binary has a
// hidden `wharf pause` command; tests check for it in TestMain).
const PauseArg = "pause"

// PauseReady is the line Pause prints once SIGTERM is handled: a signal
// before it ends the process with exit code 2 (the Go runtime's own
// handling).
const PauseReady = "wharf pause: waiting for SIGTERM"

// Pause is the pause container's process: it blocks until SIGTERM or
// SIGINT and returns 0, the exit code to exit with.
func Pause() int {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println(PauseReady)
	<-ch
	return 0
}

// imageLoader is what EnsurePauseImage needs from the runtime
// (internal/runtime/docker.Client has it).
type imageLoader interface {
	ImageExists(ctx context.Context, ref string) (bool, error)
	LoadImage(ctx context.Context, archive io.Reader) error
}

// EnsurePauseImage makes sure the engine has the pause image for
// executable exe (empty: os.Executable()) and returns its reference,
// "wharf/pause:<12 hex>". Nothing is pulled: the image is one layer
// holding exe as /pause — plus its ELF interpreter and shared libraries
// when exe is dynamically linked — with entrypoint ["/pause", "pause"],
// loaded as a docker-archive.
func EnsurePauseImage(ctx context.Context, rt imageLoader, exe string) (string, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("pause image: %w", err)
		}
	}
	files, err := pauseFiles(exe)
	if err != nil {
		return "", fmt.Errorf("pause image: %w", err)
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00", f.dest)
		if err := hashFile(h, f.src); err != nil {
			return "", fmt.Errorf("pause image: %w", err)
		}
	}
	ref := PauseRepository + ":" + hex.EncodeToString(h.Sum(nil))[:12]
	if ok, err := rt.ImageExists(ctx, ref); err != nil {
		return "", fmt.Errorf("pause image: %w", err)
	} else if ok {
		return ref, nil
	}
	archive, err := pauseArchive(ref, files)
	if err != nil {
		return "", fmt.Errorf("pause image: %w", err)
	}
	if err := rt.LoadImage(ctx, bytes.NewReader(archive)); err != nil {
		return "", fmt.Errorf("pause image: %w", err)
	}
	return ref, nil
}

// imageFile is a host file and its path in the image.
type imageFile struct{ src, dest string }

// libDirs are where shared libraries are looked for, in the loader's order.
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// pauseFiles is exe as /pause and, if it is dynamically linked, its
// interpreter and the libraries it needs (transitively), at their paths.
func pauseFiles(exe string) ([]imageFile, error) {
	files := []imageFile{{src: exe, dest: "/pause"}}
	seen := map[string]bool{}
	var walk func(file string) error
	walk = func(file string) error {
		f, err := elf.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return err
			}
			interp := strings.TrimRight(string(b), "\x00")
			if !seen[interp] {
				seen[interp] = true
				files = append(files, imageFile{src: interp, dest: interp})
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return err
		}
		for _, lib := range libs {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			found := ""
			for _, d := range libDirs {
				if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, which is not in %v", file, lib, libDirs)
			}
			files = append(files, imageFile{src: found, dest: found})
			if err := walk(found); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(exe); err != nil {
		return nil, err
	}
	return files, nil
}

func hashFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// pauseArchive is the docker-archive (`docker save` format) of the image.
func pauseArchive(ref string, files []imageFile) ([]byte, error) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	dirs := map[string]bool{}
	var libPath []string
	sort.Slice(files, func(i, j int) bool { return files[i].dest < files[j].dest })
	for _, f := range files {
		// Parent directories first.
		var parents []string
		for d := path.Dir(f.dest); d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(parents[i], "/") + "/", Mode: 0o755}); err != nil {
				return nil, err
			}
		}
		data, err := os.ReadFile(f.src) // follows symlinks: the loader gets the real file at the linked name
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.dest, "/"), Mode: 0o755, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
		if f.dest != "/pause" && !strings.Contains(f.dest, "ld-linux") {
			libPath = appendNew(libPath, path.Dir(f.dest))
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(layer.Bytes())
	cfg := map[string]any{
		"architecture": goruntime.GOARCH, "os": "linux",
		"config": map[string]any{"Entrypoint": []string{"/pause", PauseArg}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(sum[:])}},
	}
	if len(libPath) > 0 {
		cfg["config"].(map[string]any)["Env"] = []string{"LD_LIBRARY_PATH=" + strings.Join(libPath, ":")}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	csum := sha256.Sum256(cfgJSON)
	cfgName := hex.EncodeToString(csum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{ref}, "Layers": []string{"layer.tar"}}})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	aw := tar.NewWriter(&out)
	for _, e := range []struct {
		name string
		data []byte
	}{{"layer.tar", layer.Bytes()}, {cfgName, cfgJSON}, {"manifest.json", manifest}} {
		if err := aw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data))}); err != nil {
			return nil, err
		}
		if _, err := aw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
