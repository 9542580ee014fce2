package store

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

// FuzzAppend feeds arbitrary names, labels and values. Nothing may panic,
// every sample is either kept or rejected with a counted reason, and a kept
// sample can be selected back by plain PromQL: validation only lets in what
// the editors can query without quoting tricks.
func FuzzAppend(f *testing.F) {
	f.Add("ftd_cpu", "device", "fw1", 1.0)
	f.Add("9bad", "device", "fw1", 1.0)
	f.Add("m", "__name__", "x", 1.0)
	f.Add("m", "a", "", 1.0)
	f.Add("m:rate5m", "if_name", "Gi0/0 \"x\"\n", -3.5)
	f.Add("m", "a", "\xff", 1.0)
	s := openTest(f, Options{})
	n := 0
	f.Fuzz(func(t *testing.T, name, label, value string, v float64) {
		n++
		ts := t0.Add(time.Duration(n) * time.Millisecond)
		sm := model.Sample{Name: name, Labels: model.Labels{{Name: label, Value: value}}, TimestampMs: ts.UnixMilli(), Value: v}
		before := s.Stats().Rejected.Total()
		res, err := s.Append(context.Background(), []model.Sample{sm})
		if err != nil {
			t.Fatalf("a single bad sample must not fail the batch: %v", err)
		}
		if res.Appended+res.Rejected != 1 {
			t.Fatalf("result %+v does not account for the sample", res)
		}
		if res.Rejected == 1 {
			if res.FirstError == nil || s.Stats().Rejected.Total() != before+1 {
				t.Fatalf("rejection without error or count: %+v", res)
			}
			return
		}
		vec, err := s.InstantQuery(context.Background(), name+`{`+label+`=`+strconv.Quote(value)+`}`, ts)
		if err != nil {
			t.Fatalf("kept sample %s cannot be selected: %v", seriesString(&sm), err)
		}
		if len(vec) != 1 || vec[0].F != v {
			t.Fatalf("kept sample %s selected as %v", seriesString(&sm), vec)
		}
	})
}
