package peers

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A missing peer is an error that says which Debian package to install.
func TestMissingProgramNamesItsPackage(t *testing.T) {
	p := Program{Name: "netlens-no-such-exporter", Package: "netlens-no-such-package"}
	_, err := p.Path()
	if err == nil {
		t.Fatal("no error for a program that does not exist")
	}
	if !strings.Contains(err.Error(), "apt-get install -y netlens-no-such-package") {
		t.Errorf("error does not say what to install: %v", err)
	}
}

// gone reports whether pid has exited: no such process, or a zombie
// waiting for its new parent to reap it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// "pid (comm) S ...": the state follows the command's closing paren.
	s := string(st)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// A program that outlives its timeout is killed together with the
// processes it started, as pmacctd's plugins would be.
func TestRunKillsTheProcessGroupOnTimeout(t *testing.T) {
	sh, err := (Program{Name: "sh", Package: "dash"}).Path()
	if err != nil {
		t.Fatal(err)
	}
	// The child prints its pid, then both wait far longer than the timeout.
	start := time.Now()
	out, err := run(context.Background(), sh, []string{"-c", "sleep 60 & echo $!; wait"}, "", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "killed after") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run returned after %s", d)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("child pid from output %q: %v", out, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !gone(child) {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d still runs after its parent's timeout", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A program that ends by itself leaves no child behind either.
func TestRunKillsLeftoverChildren(t *testing.T) {
	sh, err := (Program{Name: "sh", Package: "dash"}).Path()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(context.Background(), sh, []string{"-c", "sleep 60 >/dev/null 2>&1 & echo $!"}, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("child pid from output %q: %v", out, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !gone(child) {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d outlived its parent", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
