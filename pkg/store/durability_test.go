package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

// crashEnv makes the test binary act as a collector process that appends and
// then dies by SIGKILL, without Close: the honest way to prove that what
// Append acknowledged is on disk, since the TSDB holds a lock on its
// directory while open and a copy taken from inside the process would not
// show what a real crash leaves behind.
const crashEnv = "NETLENS_STORE_CRASH_DIR"

const (
	crashBatches   = 20
	crashPerBatch  = 50
	crashAckedFile = "acked"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		os.Exit(crashWriter(dir))
	}
	os.Exit(m.Run())
}

// crashWriter appends batches, records after each acknowledged Append how
// many batches are acknowledged, and kills itself. It returns only on error.
func crashWriter(dir string) int {
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	for b := range crashBatches {
		batch := make([]model.Sample, 0, crashPerBatch)
		for i := range crashPerBatch {
			batch = append(batch, model.Sample{
				Name:        "ftd_interface_packets_in",
				Labels:      model.Labels{{Name: "device", Value: "fw1"}, {Name: "interface", Value: "if" + strconv.Itoa(i)}},
				TimestampMs: t0.Add(time.Duration(b) * time.Minute).UnixMilli(),
				Value:       float64(b),
				Kind:        model.KindCounter,
				Help:        "packets received",
			})
		}
		res, err := s.Append(context.Background(), batch)
		if err != nil || res.Rejected != 0 {
			fmt.Fprintln(os.Stderr, "append:", res, err)
			return 3
		}
		if err := os.WriteFile(filepath.Join(dir, crashAckedFile), []byte(strconv.Itoa(b+1)), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "ack:", err)
			return 4
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(10 * time.Second) // SIGKILL is not deliverable late; never reached
	return 5
}

func TestAppendedSamplesSurviveAProcessCrash(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("writer process: %v\n%s", err, out)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer process did not die by SIGKILL: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, crashAckedFile))
	if err != nil {
		t.Fatal(err)
	}
	acked, _ := strconv.Atoi(string(b))
	if acked != crashBatches {
		t.Fatalf("writer acknowledged %d batches, want %d", acked, crashBatches)
	}

	// The dead process left its lock file; the lock itself (flock) died
	// with it, so a new process opens the directory as after a real crash.
	s := openTest(t, Options{Dir: dir})
	v, err := s.InstantQuery(context.Background(), `count_over_time(ftd_interface_packets_in[1h])`, t0.Add(crashBatches*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != crashPerBatch {
		t.Fatalf("%d series after the crash, want %d", len(v), crashPerBatch)
	}
	for _, smp := range v {
		if smp.F != crashBatches {
			t.Fatalf("%s has %v samples after the crash, want %d", smp.Metric, smp.F, crashBatches)
		}
	}
	// The catalog was written when the metric first appeared.
	if m, ok := s.Metric("ftd_interface_packets_in"); !ok || m.Kind != model.KindCounter || m.Help != "packets received" {
		t.Fatalf("catalog after the crash: %+v, %v", m, ok)
	}
}

func TestCloseAndReopenKeepsSamplesAndCatalog(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustAppend(t, s, cpu("fw1", t0.Add(time.Duration(i)*time.Minute), float64(i)), bytesIn("fw1", t0.Add(time.Duration(i)*time.Minute), float64(i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, Options{Dir: dir})
	m, err := s.RangeQuery(context.Background(), `ftd_cpu_utilisation`, t0, t0.Add(4*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Floats) != 5 || m[0].Floats[4].F != 4 {
		t.Fatalf("after reopen: %v", m)
	}
	ms, err := s.Metrics(context.Background(), t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Kind != model.KindGauge || ms[1].Kind != model.KindCounter || ms[0].Family != "cpu" {
		t.Fatalf("metrics after reopen: %+v", ms)
	}
	// Appending continues where it stopped.
	mustAppend(t, s, cpu("fw1", t0.Add(5*time.Minute), 5))
}

func TestDamagedCatalogDoesNotKeepTheStoreClosed(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, catalogFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, Options{Dir: dir})
	mustAppend(t, s, cpu("fw1", t0, 1))
	if m, ok := s.Metric("ftd_cpu_utilisation"); !ok || m.Kind != model.KindGauge {
		t.Fatalf("catalog relearned: %+v %v", m, ok)
	}
}

func TestCatalogIsBounded(t *testing.T) {
	c := &catalog{path: filepath.Join(t.TempDir(), catalogFile), entries: map[string]MetricInfo{}}
	for i := range maxCatalogEntries + 10 {
		c.observe(&model.Sample{Name: "m" + strconv.Itoa(i), Kind: model.KindGauge})
	}
	if c.len() != maxCatalogEntries || c.dropped != 10 {
		t.Fatalf("catalog holds %d, dropped %d; want %d and 10", c.len(), c.dropped, maxCatalogEntries)
	}
	// Known names still update.
	if !c.observe(&model.Sample{Name: "m0", Kind: model.KindCounter}) {
		t.Fatal("a known name must still update when the catalog is full")
	}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	re, err := openCatalog(filepath.Dir(c.path))
	if err != nil || re.len() != maxCatalogEntries {
		t.Fatalf("reloaded %d entries, %v", re.len(), err)
	}
	if m, _ := re.get("m0"); m.Kind != model.KindCounter {
		t.Fatalf("m0 reloaded as %v", m.Kind)
	}
	if left, _ := filepath.Glob(c.path + ".tmp-*"); len(left) != 0 {
		t.Fatalf("temp files left behind: %v", left)
	}
}

func TestMetricInfoJSONSpellsTheKind(t *testing.T) {
	b, err := json.Marshal([]MetricInfo{{Name: "a", Family: "cpu", Kind: model.KindCounter}, {Name: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	// The editors' catalog contract: "gauge", "counter" or "unknown".
	if want := `[{"name":"a","family":"cpu","kind":"counter"},{"name":"b","kind":"unknown"}]`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
