package flows

import (
	"context"
	"testing"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// Whatever lengths an exporter gives its fields (reduced-size encoding,
// variable-length fields, plain garbage), a record becomes exactly one row
// and nothing panics. The fuzzer chooses each field's length and bytes.
func FuzzRecord(f *testing.F) {
	f.Add([]byte{4, 10, 1, 1, 20, 4, 198, 51, 100, 1, 2, 0x01, 0xbb, 1, 6, 8, 0, 0, 0, 0, 0, 0, 0x10, 0})
	f.Add([]byte{16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	elems := []fv{
		{0, 8, nil}, {0, 12, nil}, {0, 7, nil}, {0, 4, nil}, {0, 1, nil}, {0, 2, nil},
		{0, 27, nil}, {0, 153, nil}, {0, 152, nil}, {0, 155, nil}, {0, 22, nil}, {0, 21, nil},
		{0, 95, nil}, {0, 96, nil}, {0, 56, nil}, {0, 82, nil}, {0, 239, nil}, {0, 176, nil},
		{ie.ReversePEN, 1, nil}, {ie.ReversePEN, 2, nil}, {0, 160, nil}, {0, 291, nil},
		{0, 131, nil}, {0, 198, nil}, {0, 277, nil}, {0, 232, nil}, {0, 525, nil},
		{flowmon, 69, nil}, {flowmon, 1, nil}, {flowmon, 352, nil}, {9999, 7, nil},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newEnv(t)
		fields := make([]fv, 0, len(elems))
		for _, el := range elems {
			n := 0
			if len(data) > 0 {
				n, data = int(data[0]%20), data[1:]
			}
			n = min(n, len(data))
			el.val, data = data[:n], data[n:]
			fields = append(fields, el)
		}
		r := e.record(kemp, 256, fields...)
		r.SamplingRate = uint64(len(data))
		r.SystemInitMs = nowMs - 1_000_000
		e.flows.Record(r)
		if err := e.flows.Flush(context.Background(), nowMs); err != nil {
			t.Fatal(err)
		}
		if st := e.table.Stats(); st.Rows+st.RefusedRows != 1 {
			t.Fatalf("one record gave %+v", st)
		}
	})
}
