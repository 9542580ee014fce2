package xr

import (
	"net"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
)

// UDP: bare PDT compact GPB decoded with the .proto of xr_proto_dir (a
// table without one is counted per path, the rest of the datagram kept),
// MDT JSON and key-value GPB datagrams with their header, and a datagram
// that is neither, dropped and counted.
func TestUDPCompactAndMDT(t *testing.T) {
	protos, policies := t.TempDir(), t.TempDir()
	writeFile(t, protos, "generic.proto", genericProto)
	writeFile(t, policies, "Demo.policy", demoPolicy)
	cfg := loopbackConfig()
	cfg.ProtoDir, cfg.PolicyDir = protos, policies
	e := start(t, cfg, nil)
	u, err := net.Dial("udp", e.r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()

	u.Write(compactHeader("Demo", "demo-ident", map[string][][]byte{
		"RootOper.InfraStatistics.Interface.Latest.GenericCounters": {compactRow("Gi0/0/0/0", 11, 1<<63), compactRow("Gi0/0/0/1", 12, 2)},
		"RootOper.MemorySummary.Node.Summary":                       {{0x0a, 0x01, 'x'}},
	}))
	waitFor(t, "the compact message", func() bool { return e.h.n() == 1 })
	m := e.h.all()[0]
	if m.enc != xr.EncodingGPBCompact || m.rows != 2 || m.node != "127.0.0.1" || m.policy != "Demo" || m.sub != "Fast" {
		t.Errorf("compact message %+v", m)
	}
	if l, _ := leaf(m.first, "BytesReceived"); l.U != 1<<63 {
		t.Errorf("compact row %+v", m.first)
	}
	r := e.router("127.0.0.1")
	if r.MissingProtos["RootOper.MemorySummary.Node.Summary"] != 1 || r.Transports[0] != "udp" || r.Generations[0] != "pdt_udp" {
		t.Errorf("router %+v", r)
	}

	const path = "Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary"
	u.Write(mdtFrame(1, 2, 0, []byte(`{"node_id_str":"r2","subscription_id_str":"s","encoding_path":"`+path+`","msg_timestamp":"1700000000000",`+
		`"data_json":[{"keys":[{"node-name":"0/RP0/CPU0"}],"content":{"ram-memory":"28153942016","page-size":4096}}]}`)))
	u.Write(mdtFrame(1, 1, 0, mdtKV("r2", "s", path, 1700000000000, mdtRow("Gi0", 50, 9))))
	u.Write([]byte(`{"Policy":"Demo"}`))
	waitFor(t, "both MDT messages and the refusal", func() bool { return e.h.n() == 3 && e.r.Drops(wire.ReasonNotTelemetry) == 1 })
	msgs := e.h.all()
	if msgs[1].node != "r2" || msgs[1].enc != xr.EncodingJSON || msgs[1].numeric != 2 || msgs[1].policy != "" {
		t.Errorf("MDT JSON %+v", msgs[1])
	}
	if msgs[2].node != "r2" || msgs[2].enc != xr.EncodingGPBKV || msgs[2].numeric != 50 {
		t.Errorf("MDT KV %+v", msgs[2])
	}
	if r := e.router("r2"); r.Messages != 2 || r.Generations[0] != "mdt" || len(r.Encodings) != 2 {
		t.Errorf("router %+v", r)
	}
	// The last router heard from 127.0.0.1 is r2: the junk datagram is its.
	if r := e.router("r2"); r.Drops[wire.ReasonNotTelemetry] != 1 {
		t.Errorf("drops %+v", r.Drops)
	}
}

// Compact GPB over TCP (PDT v2 type 3, compressed) without any .proto
// loaded: every table is counted missing and the connection stays.
func TestCompactTCPWithoutProtos(t *testing.T) {
	e := start(t, loopbackConfig(), nil)
	var z zrouter
	c := e.dial()
	hdr := compactHeader("Demo", "r5", map[string][][]byte{"RootOper.A.B": {{0x0a, 0x01, 'x'}}})
	c.Write(pdtV2(3, wire.FlagZlib, z.compress(hdr)))
	c.Write(pdtV2(3, wire.FlagZlib, z.compress(hdr)))
	c.Write(pdtV2(2, 0, pdtJSON("P", "r5", "Gi0", 1)))
	waitFor(t, "the JSON message", func() bool { return e.h.n() == 1 })
	if r := e.router("r5"); r.MissingProtos["RootOper.A.B"] != 2 || r.Messages != 3 {
		t.Errorf("router %+v", r)
	}
}
