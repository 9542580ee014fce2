package xr

import (
	"context"
	"testing"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/status"
)

// Whatever a connection's bytes, the receiver's frame loop (framing, zlib,
// every decoder by generation and encoding, policy lookup) returns errors
// and never panics; every error it returns was counted.
func FuzzConnStream(f *testing.F) {
	var z zrouter
	f.Add(append(pdtV2(1, 0, nil), pdtV2(2, wire.FlagZlib, z.compress(pdtJSON("Demo", "demo-ident", "Gi0", 1)))...))
	f.Add(pdtV2(4, 0, pdtKVCounters("Gi0", 3, 1)))
	f.Add(pdtV2(3, 0, compactHeader("Demo", "r", map[string][][]byte{"RootOper.InfraStatistics.Interface.Latest.GenericCounters": {compactRow("Gi0", 1, 2)}})))
	f.Add(pdtV1(tlv(1, nil), tlv(2, (&zrouter{}).compress(pdtJSONMemory("Demo", "x")))))
	f.Add(mdtFrame(1, 1, 0, mdtKV("r", "s", "a/b", 1, mdtRow("Gi0", 3, 1))))
	f.Add(mdtFrame(1, 2, 0, []byte(`{"node_id_str":"r","encoding_path":"a/b","data_json":[{"keys":[{"k":"v"}],"content":{"x":1}}]}`)))
	f.Add(mdtFrame(1, 3, 0, compactHeader("Demo", "r", nil)))
	f.Add(mdtFrame(1, 4, 0, pdtKVCounters("Gi0", 2, 1)))
	dir := f.TempDir()
	writeFile(f, dir, "generic.proto", genericProto)
	writeFile(f, dir, "Demo.policy", demoPolicy)
	r, err := New(config.XR{PolicyDir: dir, ProtoDir: dir, MaxMessageBytes: 1 << 20}, nil, &collector{}, status.NewBoard(nil), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := wire.NewConn(1 << 20)
		defer c.Close()
		d := r.newDecoders()
		c.Feed(b, func(fr wire.Frame) error {
			if _, err := r.handle(context.Background(), "tcp", r1, r1.String(), fr, d); err != nil {
				if reason := decodeReason(err); reason == "decode_error" || r.Drops(reason) == 0 {
					t.Fatalf("error %v not counted under a reason (%q)", err, reason)
				}
			}
			return nil
		})
	})
}
