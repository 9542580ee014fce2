package ftd

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// rawBatch receives a DataResponse as the bytes on the wire. The receiver
// converts them with decode/ftd's ConvertWire, which skips building ~25
// protobuf objects and strings per metric (see BenchmarkIngest).
type rawBatch struct{ b []byte }

// codec is gRPC's protobuf codec, except that it hands rawBatch the
// message's bytes. Its name stays "proto", so devices see no difference.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{proto: encoding.GetCodecV2("proto")} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*rawBatch)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	// gRPC recycles data's buffers once this returns, so copy. The
	// buffer is reused for later batches unless one outsized batch made
	// it far larger than what arrives now.
	n := data.Len()
	if cap(r.b) < n || cap(r.b) > 4*n+64<<10 {
		r.b = make([]byte, n)
	}
	r.b = r.b[:n]
	data.CopyTo(r.b)
	return nil
}

func (codec) Name() string { return "proto" }
