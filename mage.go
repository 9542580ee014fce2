//go:build ignore

// Zero-install mage: `go run mage.go <target>` compiles and runs the targets
// in Magefile.go with the mage version pinned in go.mod, so neither a
// developer machine nor CI nor the Docker build needs mage on its PATH.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
