package xrsim

import (
	"fmt"
	"strings"
)

// CiscoProto is the options file every row .proto imports: the message
// option schema_path ties a row message to a policy path, the field
// options name a data field as the JSON encoder would (name) and a key
// field by its place in the path (path_element). Extension numbers are
// Cisco's (protocols.md 1.3).
const CiscoProto = `// Cisco telemetry options for compact GPB row messages (IOS XR 6.x
// policy-driven telemetry). Extension numbers as in Cisco's cisco.proto.
syntax = "proto2";

import "google/protobuf/descriptor.proto";

message CiscoMessageOptions {
  // The policy path (without naming parameters) whose rows this message holds.
  optional string schema_path = 1;
}

extend google.protobuf.MessageOptions {
  optional CiscoMessageOptions cisco_msg = 29051;
}

message CiscoFieldOptions {
  // The data field's schema name, as the JSON and key-value encoders spell it.
  optional string name = 1;
  // For a key field: the path element that names it, e.g.
  // RootOper.InfraStatistics.Interface(InterfaceName).
  optional string path_element = 2;
}

extend google.protobuf.FieldOptions {
  optional CiscoFieldOptions cisco_field = 29052;
}
`

// ProtoFiles are the .proto files a collector needs to decode this
// simulator's compact GPB rows, by file name: cisco.proto and one per path,
// laid out as the router-generated files are (keys first from tag 1, data
// from tag 50). provisioning/xr/protos holds the same bytes.
func ProtoFiles() map[string][]byte {
	files := map[string][]byte{"cisco.proto": []byte(CiscoProto)}
	for _, p := range Paths {
		files[p.ProtoFile] = []byte(RowProto(p))
	}
	return files
}

// RowProto is the .proto text of one path's row message.
func RowProto(p *Path) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// Compact GPB rows of %s\n", p.PDT)
	fmt.Fprintf(&b, "// (model-driven: %s).\n", p.MDT)
	b.WriteString("// Keys from tag 1, data from tag 50, as IOS XR generates them.\n")
	b.WriteString("syntax = \"proto2\";\n\nimport \"cisco.proto\";\n\n")
	fmt.Fprintf(&b, "message %s {\n", p.ProtoMsg)
	fmt.Fprintf(&b, "  option (cisco_msg).schema_path = %q;\n", p.Schema)
	for i, k := range p.Keys {
		fmt.Fprintf(&b, "  optional string %s = %d [(cisco_field).path_element = %q];\n", k.Proto, i+1, k.PathElement)
	}
	for i, l := range p.Leaves {
		fmt.Fprintf(&b, "  optional %s %s = %d [(cisco_field).name = %q];\n", l.Type.proto(), l.Proto, FirstDataTag+i, l.PDT)
	}
	b.WriteString("}\n")
	return b.String()
}
