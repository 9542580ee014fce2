package xrpb

import (
	"testing"

	"github.com/netlens/netlens/pkg/proto/internal/protogen"
)

// TestGeneratedCodeIsCurrent regenerates the Go code from telemetry.proto and
// mdt_grpc_dialout.proto and fails when it differs from the committed files.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protogen.CheckCurrent(t, "./pkg/proto/xrpb")
}
