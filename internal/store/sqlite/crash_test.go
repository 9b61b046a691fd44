//go:build unix

package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// crashEnv, when set, makes TestCrashChild the writer half of
// TestCrashKeepsAcknowledgedWrites; its value is the database path.
const crashEnv = "WHARF_SQLITE_CRASH_CHILD"

var journal = store.Table{Name: "journal", Scope: store.System}

// TestCrashKeepsAcknowledgedWrites runs a child process that commits
// writes as fast as it can and prints "ack N" after each Update returns,
// kills it with SIGKILL in the middle of that stream, reopens the database
// and checks that every acknowledged write is there, and that every
// transaction is whole (its two keys both present or both absent).
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	for round := range 3 {
		killAfter := 200 + 150*round
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := -1
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				continue
			}
			i, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked = i
			if acked == killAfter {
				// Every line read after this was also acknowledged before
				// the kill, so keep reading to the end of the pipe.
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child was not killed by SIGKILL: %v (acked %d)", err, acked)
		}
		if acked < killAfter {
			t.Fatalf("child acknowledged only %d writes", acked)
		}

		s, err := Open(path)
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		var present, pairs int
		err = s.View(context.Background(), func(tx store.Tx) error {
			for i := 0; i <= acked; i++ {
				key := fmt.Sprintf("r%d/%08d", round, i)
				it, err := tx.Get(journal, key)
				if err != nil {
					return fmt.Errorf("acknowledged write %s: %w", key, err)
				}
				if string(it.Value) != key {
					return fmt.Errorf("acknowledged write %s holds %q", key, it.Value)
				}
			}
			items, err := tx.Scan(journal, fmt.Sprintf("r%d/", round), "", 0)
			if err != nil {
				return err
			}
			present = len(items)
			pairs, err = tx.Count(journal, fmt.Sprintf("pair/r%d/", round))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if pairs != present {
			t.Fatalf("round %d: %d writes but %d pair writes: a transaction was torn", round, present, pairs)
		}
		var check string
		if err := s.wconn.sc.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check: %q, %v", check, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d writes acknowledged before SIGKILL, %d found after reopen", round, acked+1, present)
	}
}

// TestCrashChild is the child of TestCrashKeepsAcknowledgedWrites; it does
// nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedWrites")
	}
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	// Which round this is: the number of earlier rounds' keys tells.
	round := 0
	_ = s.View(context.Background(), func(tx store.Tx) error {
		for {
			n, err := tx.Count(journal, fmt.Sprintf("r%d/", round))
			if err != nil || n == 0 {
				return err
			}
			round++
		}
	})
	// Bounded, so a child whose parent died still ends by itself.
	for i := range 200_000 {
		key := fmt.Sprintf("r%d/%08d", round, i)
		err := s.Update(context.Background(), func(tx store.Tx) error {
			if _, err := tx.Put(journal, key, []byte(key)); err != nil {
				return err
			}
			_, err := tx.Put(journal, "pair/"+key, []byte(key))
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line is in the pipe when this returns.
		fmt.Fprintf(os.Stdout, "ack %d\n", i)
	}
	os.Exit(3) // never killed: the parent reports it
}
