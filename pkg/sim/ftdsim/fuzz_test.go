package ftdsim

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
)

// FuzzCheckControlRequest feeds arbitrary bytes as the collector's answer:
// the device must never panic, and must accept exactly the answers the
// guide allows.
func FuzzCheckControlRequest(f *testing.F) {
	for _, m := range []*ftdpb.ControlRequest{
		{Version: "1.0", Interval: 60, MetricSubscriptions: []string{"all"}},
		{Version: "1.0", Interval: 30, MetricSubscriptions: []string{"all"}},
		{Version: "2.0", Interval: 86400},
		{CancellationMessage: &ftdpb.StreamCancellationMessage{CancelStream: true}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m ftdpb.ControlRequest
		if proto.Unmarshal(data, &m) != nil {
			return
		}
		interval, err := checkControlRequest(&m)
		valid := versionRE.MatchString(m.Version) && m.Interval >= 60 && m.Interval <= 86400 && slices.Contains(m.MetricSubscriptions, "all")
		if valid != (err == nil) {
			t.Fatalf("checkControlRequest(%v) = %v, %v; valid by the guide: %v", &m, interval, err, valid)
		}
		if err == nil && interval != time.Duration(m.Interval)*time.Second {
			t.Fatalf("interval %v for %d s", interval, m.Interval)
		}
	})
}
