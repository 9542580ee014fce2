package xrpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the Go code from
// telemetry.proto and fails when it differs from the committed files, so
// an edit to the .proto cannot ship without its code (and hand edits to the
// generated code cannot survive unnoticed).
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatalf("protoc not found (%v): install Debian's protobuf-compiler (apt-get install protobuf-compiler) to check the generated code", err)
	}
	out := t.TempDir()
	cmd := exec.Command("./generate.sh", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("./generate.sh %s: %v\n%s", out, err, msg)
	}
	generated, err := filepath.Glob(filepath.Join(out, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("*.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) != len(committed) {
		t.Fatalf("generate.sh wrote %d files, %d are committed: %v vs %v", len(generated), len(committed), generated, committed)
	}
	for _, g := range generated {
		name := filepath.Base(g)
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("generate.sh wrote %s, which is not committed: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./pkg/proto/xrpb` and commit the result", name)
		}
	}
}
