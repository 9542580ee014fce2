package ftdpb

import (
	"testing"

	"github.com/netlens/netlens/pkg/proto/internal/protogen"
)

// TestGeneratedCodeIsCurrent regenerates the Go code from grpc_streaming.proto
// and fails when it differs from the committed files.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protogen.CheckCurrent(t, "./pkg/proto/ftdpb")
}
