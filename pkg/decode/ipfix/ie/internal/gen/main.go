// Command gen turns IANA's IPFIX registry (ipfix.xml or
// ipfix-information-elements.csv) into package ie's element table.
// Run it through `go generate ./pkg/decode/ipfix/ie`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie/internal/iana"
)

func main() {
	in := flag.String("in", "data/ipfix.xml", "IANA registry file (.xml or .csv)")
	out := flag.String("out", "iana_gen.go", "Go file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	reg, err := iana.Parse(in, data)
	if err != nil {
		return err
	}
	src, err := iana.Render(reg, filepath.ToSlash(in), data)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
