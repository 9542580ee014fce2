package query

import (
	"context"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/store"
)

// BenchmarkQueryData runs what one panel refresh costs against 10,000
// series (100 devices x 100 interfaces) holding one hour at 10 s resolution
// (3.6 million samples): evaluation plus frame building, once through the
// PromQL engine and once through the fast path (fastpath.go). Run it with
//
//	go test -run '^$' -bench BenchmarkQueryData -benchtime 5x -benchmem ./pkg/query/
func BenchmarkQueryData(b *testing.B) {
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const devices, ifaces, points = 100, 100, 361
	batch := make([]model.Sample, 0, devices*ifaces)
	for d := range devices {
		for i := range ifaces {
			batch = append(batch, model.Sample{
				Name:   "m",
				Labels: model.Labels{{Name: "device", Value: "fw" + strconv.Itoa(d)}, {Name: "interface", Value: "if" + strconv.Itoa(i)}},
				Kind:   model.KindCounter,
			})
		}
	}
	ctx := context.Background()
	for p := range points {
		for j := range batch {
			batch[j].TimestampMs = t0.Add(time.Duration(p) * 10 * time.Second).UnixMilli()
			batch[j].Value = float64(p * (j%7 + 1) * 1000)
		}
		for k := 0; k < len(batch); k += 500 {
			if res, err := st.Append(ctx, batch[k:k+500]); err != nil || res.Rejected != 0 {
				b.Fatalf("append: %+v %v", res, err)
			}
		}
	}
	tr := backend.TimeRange{From: t0, To: t0.Add(time.Hour)}

	// The cases run at a 10 s step (361 steps). A panel whose
	// interval follows FTD's 60 s cadence evaluates 61 steps; PromQL's
	// cost grows with series x steps, so those cases show what a data
	// source minimum interval of 60 s buys.
	for _, tc := range []struct {
		name     string
		expr     string
		interval time.Duration
		series   int
	}{
		{"sum_rate", `sum by (device) (rate(m[1m]))`, 10 * time.Second, devices},
		{"raw_10k", `m`, 10 * time.Second, devices * ifaces},
		{"sum_rate_step60s", `sum by (device) (rate(m[1m]))`, time.Minute, devices},
		{"raw_10k_step60s", `m`, time.Minute, devices * ifaces},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// engine hides the store's fast-path methods, so Execute runs
			// the PromQL engine; fast is what QueryData does. Both must
			// give the same frames before either is timed.
			q := Query{RefID: "A", EditorMode: ModeCode, Expr: tc.expr}
			if _, ok := planFast(tc.expr); !ok {
				b.Fatalf("%s does not take the fast path", tc.expr)
			}
			want, err := Execute(ctx, engineOnly{st}, q, tr, tc.interval, 1000)
			if err != nil {
				b.Fatal(err)
			}
			got, err := Execute(ctx, st, q, tr, tc.interval, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				b.Fatal("the fast path's frames differ from the engine's")
			}
			for _, path := range []struct {
				name string
				st   Store
			}{{"engine", engineOnly{st}}, {"fast", st}} {
				b.Run(path.name, func(b *testing.B) {
					b.ReportAllocs()
					cpu0 := cpuTime()
					for b.Loop() {
						frames, err := Execute(ctx, path.st, q, tr, tc.interval, 1000)
						if err != nil {
							b.Fatal(err)
						}
						if len(frames) != tc.series {
							b.Fatalf("%d frames, want %d", len(frames), tc.series)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
					// CPU time (user + system, all threads, GC included) says
					// what a query costs even when other processes share the
					// cores and stretch the wall-clock figure.
					b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}

// engineOnly is a Store without the fast path's methods.
type engineOnly struct{ Store }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
