package persist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	var got map[string]int
	if found, err := ReadJSON(path, &got); found || err != nil {
		t.Fatalf("missing file: found=%v err=%v", found, err)
	}
	if err := WriteJSON(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, map[string]int{"b": 2}); err != nil {
		t.Fatal(err)
	}
	if found, err := ReadJSON(path, &got); !found || err != nil || got["b"] != 2 || len(got) != 1 {
		t.Fatalf("found=%v err=%v got=%v", found, err, got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestCorruptFileIsAnErrorNamingIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if _, err := ReadJSON(path, &v); err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Fatalf("err = %v", err)
	}
}
