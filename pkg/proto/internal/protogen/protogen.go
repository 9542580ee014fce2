// Package protogen checks that a package's committed generated protobuf
// code is what its generate.sh produces today, so an edit to a .proto cannot
// ship without its code and hand edits to generated code cannot survive
// unnoticed. Each proto package calls it from one test.
package protogen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CheckCurrent runs ./generate.sh into a temporary directory from the
// calling test's package directory and compares every file it writes with
// the committed *.pb.go files. pkg is the package path shown in the fix
// hint, e.g. "./pkg/proto/ftdpb".
func CheckCurrent(t *testing.T, pkg string) {
	t.Helper()
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
			t.Errorf("%s is stale: run `go generate %s` and commit the result", name, pkg)
		}
	}
}
