package compact

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadDir compiles every *.proto file directly in dir (not in subdirectories), named by
// their base names so that imports between them resolve. Like Compile, it returns the
// Schema of the files that compiled together with a *CompileError for the others; an
// unreadable directory is a plain error and a nil Schema (which decodes with every
// table missing).
func LoadDir(dir string) (*Schema, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("xr/compact: proto directory: %w", err)
	}
	files := map[string][]byte{}
	var problems []Problem
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".proto") {
			continue
		}
		info, err := e.Info()
		if err == nil && info.Size() > maxProtoFileBytes {
			problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("file of %d bytes, limit %d", info.Size(), maxProtoFileBytes)})
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			problems = append(problems, Problem{File: name, Msg: err.Error()})
			continue
		}
		files[name] = b
	}
	s, err := Compile(files)
	if err != nil {
		if ce, ok := err.(*CompileError); ok {
			problems = append(problems, ce.Problems...)
		} else {
			return s, err
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return s, &CompileError{Problems: problems}
	}
	return s, nil
}
