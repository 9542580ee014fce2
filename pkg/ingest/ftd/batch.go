package ftd

import (
	"fmt"

	"google.golang.org/grpc"

	decode "github.com/netlens/netlens/pkg/decode/ftd"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

// batcher turns one data stream's batches into samples, writes them to the
// sink and acknowledges them. One per data stream: the converter's caches
// are not shared between goroutines.
type batcher struct {
	s    *Server
	conv *decode.Converter
	// reasonCounters holds the board counter name of each reject reason,
	// built once instead of per batch.
	reasonCounters []string
}

func newBatcher(s *Server) *batcher {
	b := &batcher{s: s, conv: decode.NewConverter(s.limits())}
	for _, r := range decode.Reasons() {
		b.reasonCounters = append(b.reasonCounters, CounterMetricsRejected+"_"+r.String())
	}
	return b
}

// ingest handles one encoded batch of a device that completed its
// handshake. The
// acknowledgement is sent only after the sink has the samples, so an ack
// never covers data a restart would lose; a failed write is answered with
// ack=false. It returns an error only when the stream itself failed.
func (b *batcher) ingest(stream grpc.BidiStreamingServer[ftdpb.DataResponse, ftdpb.DataRequest], sess *session, data []byte) error {
	s := b.s
	ref := sess.ref
	receivedMs := s.now().UnixMilli()
	// A fresh sample slice per batch: the sink may hand the batch on (the
	// live hub) and must not see it overwritten by the next one. The
	// samples do not point into data, which the stream reuses.
	samples, sum, err := b.conv.ConvertWire(nil, decode.Identity{UUID: ref.ID, Hostname: ref.Hostname}, data, receivedMs)
	if err != nil {
		cat, ok := decode.IsBatchError(err)
		if !ok {
			cat = status.CatBuffer
		}
		s.board.Add(CounterBatchesRefused, 1)
		s.board.Error(ref, cat, err)
		return stream.Send(&ftdpb.DataRequest{Ack: false})
	}
	if sum.Rejected > 0 {
		s.board.Add(CounterMetricsRejected, uint64(sum.Rejected))
		for r, n := range sum.ByReason {
			if n > 0 {
				s.board.Add(b.reasonCounters[r], uint64(n))
			}
		}
		s.board.Error(ref, status.CatInvalidArgument, fmt.Errorf("%d of %d metrics rejected; first: %w", sum.Rejected, sum.Kept+sum.Rejected, sum.First))
	}
	if sum.UnknownType > 0 {
		s.board.Add(CounterMetricsUnknownType, uint64(sum.UnknownType))
	}
	batch := model.Batch{Device: ref, Samples: samples, ReceivedMs: receivedMs}
	if err := s.sink.Write(stream.Context(), &batch); err != nil {
		s.board.Add(CounterBatchesNacked, 1)
		s.board.Error(ref, status.CatBuffer, fmt.Errorf("batch of %d samples not stored, answered ack=false: %w", len(samples), err))
		return stream.Send(&ftdpb.DataRequest{Ack: false})
	}
	s.board.Add(CounterMetricsKept, uint64(sum.Kept))
	s.board.Batch(ref, sum.Kept, sum.Rejected)
	return stream.Send(&ftdpb.DataRequest{Ack: true})
}
