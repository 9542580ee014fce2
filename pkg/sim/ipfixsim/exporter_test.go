package ipfixsim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopbackExporter makes an exporter aimed at a UDP socket on loopback
// that reads and drops everything, for tests that watch OnMessageSent.
func loopbackExporter(t *testing.T, cfg Config) *Exporter {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	cfg.Target = pc.LocalAddr().String()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// recorder keeps copies of what OnMessageSent saw.
type recorder struct {
	mu   sync.Mutex
	msgs []SentMessage
}

func (r *recorder) hook(m *SentMessage) {
	c := *m
	c.Data = bytes.Clone(m.Data)
	c.Flows = append([]Flow(nil), m.Flows...)
	r.mu.Lock()
	r.msgs = append(r.msgs, c)
	r.mu.Unlock()
}

func (r *recorder) all() []SentMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SentMessage(nil), r.msgs...)
}

// setIDs lists a message's set ids by walking its set headers.
func setIDs(t *testing.T, msg []byte) []uint16 {
	t.Helper()
	if len(msg) < HeaderLen || int(binary.BigEndian.Uint16(msg[2:])) != len(msg) {
		t.Fatalf("message length field %d for %d octets", binary.BigEndian.Uint16(msg[2:]), len(msg))
	}
	var ids []uint16
	for b := msg[HeaderLen:]; len(b) > 0; {
		if len(b) < SetHeaderLen {
			t.Fatalf("%d octets left after the last set", len(b))
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < SetHeaderLen || n > len(b) {
			t.Fatalf("set %d: length %d with %d octets left", binary.BigEndian.Uint16(b), n, len(b))
		}
		ids = append(ids, binary.BigEndian.Uint16(b))
		b = b[n:]
	}
	return ids
}

// checkSequence checks RFC 7011 §3.1: each message's sequence number is the
// count of data records (flow and options data) sent before it in the
// session, plus any gap made on purpose after message gapAfter.
func checkSequence(t *testing.T, msgs []SentMessage, gapAfterData int, gap uint32) {
	t.Helper()
	var want uint32
	data := 0
	for i, m := range msgs {
		if m.Sequence != want {
			t.Fatalf("message %d: sequence %d, want %d", i, m.Sequence, want)
		}
		if binary.BigEndian.Uint32(m.Data[8:]) != m.Sequence || binary.BigEndian.Uint32(m.Data[4:]) != m.ExportTime {
			t.Fatalf("message %d: header on the wire differs from the hook's", i)
		}
		want += uint32(len(m.Flows) + m.OptionsRecords)
		if len(m.Flows) > 0 {
			data++
			if data == gapAfterData {
				want += gap
			}
		}
	}
}

func TestUDPLoopbackDeliversEveryMessageIntact(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var rec recorder
	pc.(*net.UDPConn).SetReadBuffer(4 << 20) // the kernel may grant less; the rate is modest anyway
	e, err := New(Config{Target: pc.LocalAddr().String(), Count: 3000, Rate: 20_000, FlushEvery: time.Millisecond,
		SamplingRate: 100, ODID: 5, TrackFlows: true, TemplateRefresh: 5 * time.Millisecond, OnMessageSent: rec.hook})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got [][]byte
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, bytes.Clone(buf[:n]))
			mu.Unlock()
		}
	}()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Loopback does not lose datagrams this slow; wait, bounded, for the last ones.
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	for deadline := time.Now().Add(5 * time.Second); received() < len(rec.all()) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	pc.Close()
	mu.Lock()
	defer mu.Unlock()
	sent := rec.all()
	if len(got) != len(sent) {
		t.Fatalf("received %d datagrams of %d sent", len(got), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(got[i], sent[i].Data) {
			t.Fatalf("datagram %d differs from what OnMessageSent saw", i)
		}
		if len(got[i]) > 1400 {
			t.Errorf("datagram %d: %d octets, above the 1400 default", i, len(got[i]))
		}
		setIDs(t, got[i])
	}
	checkSequence(t, sent, 0, 0)

	tot := e.Totals()
	if tot.Flows.Records != 3000 || tot.Messages != uint64(len(sent)) || tot.Sessions != 1 || tot.Errors != 0 {
		t.Errorf("totals: %d flows in %d messages over %d sessions, %d errors; want 3000 in %d over 1", tot.Flows.Records, tot.Messages, tot.Sessions, tot.Errors, len(sent))
	}
	// Templates go again over UDP every refresh, options data with them.
	if tot.TemplateRecords <= 8 || tot.TemplateRecords%8 != 0 || tot.OptionsTemplateRecords != tot.TemplateRecords/4 {
		t.Errorf("%d template and %d options template records; want refreshes of 8 and 2", tot.TemplateRecords, tot.OptionsTemplateRecords)
	}
	var wire uint64
	for _, m := range sent {
		wire += uint64(len(m.Data))
	}
	if tot.WireBytes != wire || tot.NextSequence != sent[len(sent)-1].Sequence+uint32(len(sent[len(sent)-1].Flows)+sent[len(sent)-1].OptionsRecords) {
		t.Errorf("wire bytes %d (sent %d), next sequence %d", tot.WireBytes, wire, tot.NextSequence)
	}
}

func TestTotalsAddUpEveryWay(t *testing.T) {
	var rec recorder
	e := loopbackExporter(t, Config{Count: 5000, SamplingRate: 64, TrackFlows: true, OnMessageSent: rec.hook})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tot := e.Totals()
	// Recount from the flows the hook saw.
	var want Counts
	byApp := map[string]uint64{}
	for _, m := range rec.all() {
		for i := range m.Flows {
			f := &m.Flows[i]
			want.add(f, 64)
			if !f.App.Unlisted {
				byApp[f.App.Name] += f.Bytes
			} else {
				byApp[""] += f.Bytes
			}
		}
	}
	if tot.Flows != want {
		t.Errorf("totals %+v\nrecounted %+v", tot.Flows, want)
	}
	if tot.Flows.ScaledBytes != 64*tot.Flows.Bytes || tot.Flows.ScaledReversePackets != 64*tot.Flows.ReversePackets {
		t.Errorf("scaled counts are not the raw ones times 64: %+v", tot.Flows)
	}
	for _, by := range []map[string]Counts{tot.ByApplication} {
		var sum Counts
		for name, c := range by {
			sum.Add(c)
			if c.Bytes != byApp[name] {
				t.Errorf("application %q: %d bytes, recounted %d", name, c.Bytes, byApp[name])
			}
		}
		if sum != tot.Flows {
			t.Errorf("applications add up to %+v, not %+v", sum, tot.Flows)
		}
	}
	var proto, tuple Counts
	for _, c := range tot.ByProtocol {
		proto.Add(c)
	}
	for _, c := range tot.ByFiveTuple {
		tuple.Add(c)
	}
	if proto != tot.Flows || tuple != tot.Flows {
		t.Errorf("by protocol %+v, by five-tuple %+v; want both %+v", proto, tuple, tot.Flows)
	}
	for _, p := range []uint8{ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMPv6} {
		if tot.ByProtocol[p].Records == 0 {
			t.Errorf("no flows of protocol %d in 5000", p)
		}
	}
	if tot.ByApplication[""].Records == 0 || tot.ByApplication["ssl"].Records == 0 {
		t.Errorf("applications %v: want named and unnamed ones", tot.ByApplication)
	}

	var sum Totals
	sum.Add(tot)
	sum.Add(tot)
	if sum.Flows.Records != 10000 || sum.ByApplication["ssl"].Bytes != 2*tot.ByApplication["ssl"].Bytes {
		t.Errorf("Totals.Add: %d records, ssl %d bytes", sum.Flows.Records, sum.ByApplication["ssl"].Bytes)
	}
}

func TestGapAndDataBeforeTemplate(t *testing.T) {
	var rec recorder
	e := loopbackExporter(t, Config{Count: 400, DataBeforeTemplate: true, GapAfter: 3, GapRecords: 1000, OnMessageSent: rec.hook})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := rec.all()
	first := setIDs(t, sent[0].Data)
	for _, id := range first {
		if id < MinDataSetID {
			t.Fatalf("first message has set %d; want data sets only, before any template", id)
		}
	}
	if sent[0].Sequence != 0 || len(sent[0].Flows) == 0 {
		t.Fatalf("first message: sequence %d, %d flows", sent[0].Sequence, len(sent[0].Flows))
	}
	if ids := setIDs(t, sent[1].Data); ids[0] != TemplateSetID {
		t.Errorf("second message starts with set %d; want the templates", ids[0])
	}
	checkSequence(t, sent, 3, 1000)
	if tot := e.Totals(); tot.SkippedRecords != 1000 || tot.Flows.Records != 400 {
		t.Errorf("skipped %d records, sent %d flows", tot.SkippedRecords, tot.Flows.Records)
	}
}

// readMessages frames IPFIX messages off a TCP stream by their length field.
func readMessages(c net.Conn, max int) ([][]byte, error) {
	var msgs [][]byte
	for len(msgs) < max {
		var h [4]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return msgs, err
		}
		n := int(binary.BigEndian.Uint16(h[2:]))
		if binary.BigEndian.Uint16(h[:]) != Version || n < HeaderLen {
			return msgs, errors.New("lost framing")
		}
		m := make([]byte, n)
		copy(m, h[:])
		if _, err := io.ReadFull(c, m[4:]); err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

func TestTCPSendsTemplatesOncePerConnectionAndReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var rec recorder
	e, err := New(Config{Target: ln.Addr().String(), Transport: "tcp", Count: 6000, Rate: 200_000, FlushEvery: time.Millisecond,
		TemplateRefresh: time.Millisecond, RetryAfter: 10 * time.Millisecond, OnMessageSent: rec.hook})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx) }()

	// First connection: take a few messages, then hang up.
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	first, err := readMessages(c1, 5)
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	// Second connection: read until the exporter is done and closes.
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c2.SetReadDeadline(time.Now().Add(15 * time.Second))
	second, err := readMessages(c2, 1<<20)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("second connection: %v after %d messages", err, len(second))
	}
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}

	for i, conn := range [][][]byte{first, second} {
		if ids := setIDs(t, conn[0]); ids[0] != TemplateSetID || binary.BigEndian.Uint32(conn[0][8:]) != 0 {
			t.Errorf("connection %d: first message has sets %v and sequence %d; want templates at sequence 0", i+1, ids, binary.BigEndian.Uint32(conn[0][8:]))
		}
		templates := 0
		for _, m := range conn {
			for _, id := range setIDs(t, m) {
				if id == TemplateSetID {
					templates++
				}
			}
		}
		if templates != 1 {
			t.Errorf("connection %d: %d template sets; over TCP they go once, at the start", i+1, templates)
		}
	}
	// What the second connection got is exactly the messages sent since it began.
	sent := rec.all()
	start := len(sent) - len(second)
	for i, m := range second {
		if !bytes.Equal(m, sent[start+i].Data) {
			t.Fatalf("second connection message %d differs from the hook's", i)
		}
	}
	checkSequence(t, sent[start:], 0, 0)
	tot := e.Totals()
	if tot.Sessions != 2 || tot.Errors == 0 || !strings.Contains(tot.LastError, "") || tot.Flows.Records != 6000 {
		t.Errorf("totals: %d sessions, %d errors (%s), %d flows", tot.Sessions, tot.Errors, tot.LastError, tot.Flows.Records)
	}
}

func TestRateIsNotExceeded(t *testing.T) {
	var rec recorder
	e := loopbackExporter(t, Config{Count: 300, Rate: 1000, FlushEvery: 5 * time.Millisecond, OnMessageSent: rec.hook})
	start := time.Now()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 300 records at 1000/s cannot all be out before 300 ms (less one flush).
	if took := time.Since(start); took < 290*time.Millisecond {
		t.Errorf("300 records at 1000/s took %v", took)
	}
	// Paced sends are small: a few records every flush, not full messages.
	small := 0
	for _, m := range rec.all() {
		if len(m.Flows) > 0 && len(m.Flows) < 10 {
			small++
		}
	}
	if small == 0 {
		t.Error("no message carried fewer than 10 records; the rate did not pace the sends")
	}
}

func TestConfigIsChecked(t *testing.T) {
	bad := []Config{
		{Target: "nowhere"},
		{Target: "127.0.0.1:4739", Transport: "sctp"},
		{Target: "127.0.0.1:4739", Rate: -1},
		{Target: "127.0.0.1:4739", MaxMessageSize: 100},
		{Target: "127.0.0.1:4739", SamplingMode: SamplingInterval, SelectorID: 300},
		{Target: "127.0.0.1:4739", Applications: []Application{{Name: "x"}}},
		{Target: "127.0.0.1:4739", IPv6Share: 2},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted it", c)
		}
	}
	for _, s := range []string{"cisco", "psamp", "interval", "random"} {
		if m, err := ParseSamplingMode(s); err != nil || m.String() != s {
			t.Errorf("%s: %v %v", s, m, err)
		}
	}
	if _, err := ParseSamplingMode("sflow"); err == nil {
		t.Error("ParseSamplingMode(sflow) accepted it")
	}
}

func TestUnsampledExporterSendsNoSamplerTable(t *testing.T) {
	var rec recorder
	e := loopbackExporter(t, Config{Count: 100, IPv6Share: -1, OnMessageSent: rec.hook})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range rec.all() {
		for _, id := range setIDs(t, m.Data) {
			if id == TemplateIDSampling {
				t.Fatal("an unsampled exporter sent a sampler table")
			}
		}
		for _, f := range m.Flows {
			if f.Src.Is6() {
				t.Fatal("IPv6 flow with IPv6Share < 0")
			}
		}
	}
	for _, tmpl := range e.Templates() {
		for _, f := range tmpl.Fields {
			if f.ID == ieSelectorID && f.PEN == 0 {
				t.Errorf("template %d carries selectorId without sampling", tmpl.ID)
			}
		}
	}
	if tot := e.Totals(); tot.Flows.ScaledBytes != tot.Flows.Bytes || e.SamplingRate() != 1 {
		t.Errorf("unsampled: scaled %d, raw %d", tot.Flows.ScaledBytes, tot.Flows.Bytes)
	}
}

// A source address makes an exporter look like another device on loopback.
func TestLocalAddrIsTheExportersSource(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	e, err := New(Config{Target: pc.LocalAddr().String(), LocalAddr: "127.0.0.2:0", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, from, err := pc.ReadFrom(make([]byte, 65536))
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(from.String()); host != "127.0.0.2" {
		t.Errorf("datagram from %s; want 127.0.0.2", from)
	}
}

// A gap placed by records falls after the data message that brings the
// records sent to GapAfterRecords, however many records each message holds.
func TestGapAfterRecords(t *testing.T) {
	var rec recorder
	e := loopbackExporter(t, Config{Count: 400, GapAfterRecords: 150, GapRecords: 37, OnMessageSent: rec.hook})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := rec.all()
	data, records := 0, 0
	for _, m := range sent {
		if len(m.Flows) == 0 {
			continue
		}
		data++
		records += len(m.Flows)
		if records >= 150 {
			break
		}
	}
	checkSequence(t, sent, data, 37)
	if tot := e.Totals(); tot.SkippedRecords != 37 {
		t.Errorf("skipped %d records, want 37", tot.SkippedRecords)
	}
}
