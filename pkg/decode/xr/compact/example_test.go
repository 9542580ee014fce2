package compact_test

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr/compact"
)

// A receiver compiles the user's .proto files once (LoadDir on the configured
// directory does the same from files) and decodes every compact GPB payload with the
// Schema; tables whose path has no .proto come back in missing, to be counted per path.
func Example() {
	sch, err := compact.Compile(map[string][]byte{"memory_summary.proto": []byte(`
import "cisco.proto";
message nto_misc_shmem_summary {
  option (cisco_msg).schema_path = "RootOper.MemorySummary.Node(*).Summary";
  optional string node_name = 1 [(cisco_field).path_element="RootOper.MemorySummary.Node(NodeName)"];
  optional uint64 ram_memory = 51 [(cisco_field).name="RAMMemory"];
}`)})
	if err != nil {
		fmt.Println(err)
		return
	}

	// What a router sends: the TelemetryHeader envelope, one table per path.
	row := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "0/RP0/CPU0")
	row = protowire.AppendVarint(protowire.AppendTag(row, 51, protowire.VarintType), 34359738368)
	table := func(path string, rows ...[]byte) []byte {
		t := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), path)
		for _, r := range rows {
			t = protowire.AppendBytes(protowire.AppendTag(t, 2, protowire.BytesType), r)
		}
		return t
	}
	msg := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), compact.EncodingWord)
	msg = protowire.AppendString(protowire.AppendTag(msg, 2, protowire.BytesType), "NetlensPolicy")
	msg = protowire.AppendString(protowire.AppendTag(msg, 4, protowire.BytesType), "xr-pe1")
	msg = protowire.AppendVarint(protowire.AppendTag(msg, 6, protowire.VarintType), 1700000000000)
	msg = protowire.AppendBytes(protowire.AppendTag(msg, 7, protowire.BytesType), table("RootOper.MemorySummary.Node(*).Summary", row))
	msg = protowire.AppendBytes(protowire.AppendTag(msg, 7, protowire.BytesType), table("RootOper.Interfaces.Interface(*)", []byte{0x08, 0x01}))

	msgs, missing, err := sch.Decode(msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range msgs {
		fmt.Println(m.Node, m.Policy, m.Path, m.MsgTimestampMs, m.Encoding)
		for _, r := range m.Rows {
			fmt.Println(" keys", r.Keys[0].Name, r.Keys[0].S, "content", r.Content[0].Name, r.Content[0].U)
		}
	}
	fmt.Println("missing", missing)
	// Output:
	// xr-pe1 NetlensPolicy RootOper.MemorySummary.Node(*).Summary 1700000000000 gpb-compact
	//  keys NodeName 0/RP0/CPU0 content RAMMemory 34359738368
	// missing [RootOper.Interfaces.Interface(*)]
}
