package ftd

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// Field numbers of grpc_streaming.proto. Only numbers and wire types reach
// the wire, and those are printed intact in the FTD guide.
const (
	fieldResponseUUID    = 1 // DataResponse.ftd_uuid, string
	fieldResponseMetrics = 2 // DataResponse.metrics, repeated Metric

	fieldMetricTimestamp = 1 // int64
	fieldMetricFamily    = 2 // string
	fieldMetricValue     = 3 // double
	fieldMetricTags      = 4 // repeated Tag
	fieldMetricType      = 5 // string

	fieldTagKey   = 1 // string
	fieldTagValue = 2 // string
)

// ConvertWire converts the protobuf encoding of a DataResponse exactly as
// proto.Unmarshal followed by Convert would, without building the message:
// no Metric or Tag objects and no string per tag, which is most of the cost
// of a batch (see BenchmarkConvertWire). Input that proto.Unmarshal refuses
// (bad framing, invalid UTF-8 in a string field) is refused as a whole
// with a *BatchError of category invalid_argument.
//
// data is only read, and only during the call: samples never point into it,
// so the caller may reuse it for the next batch.
func (c *Converter) ConvertWire(dst []model.Sample, id Identity, data []byte, receivedMs int64) ([]model.Sample, Summary, error) {
	uuid, metrics, err := scanResponse(data)
	if err != nil {
		return dst[:0], Summary{}, err
	}
	// Size the buffers for a typical FTD metric (about eight tags), but
	// never beyond what the bytes can hold: a batch of empty metrics must
	// not make us reserve room for samples it cannot produce. A sample
	// needs a family and a description tag, at least 24 bytes on the wire,
	// and a label from a tag at least 8. Both buffers grow if the guess is
	// short.
	b, err := c.begin(dst, id, uuid, true, receivedMs, min(metrics, len(data)/24), min(metrics*(3+8), len(data)/8))
	if err != nil {
		// Every byte must still be valid protobuf for the result to match
		// proto.Unmarshal's; a malformed metric is the stronger error.
		if verr := validateMetrics(data); verr != nil {
			return dst[:0], Summary{}, verr
		}
		return dst[:0], Summary{}, err
	}
	i := 0
	for rest := data; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:] // scanResponse checked the framing
		if num == fieldResponseMetrics && typ == protowire.BytesType {
			body, n := protowire.ConsumeBytes(rest)
			rest = rest[n:]
			v := metricView{tags: c.tags[:0]}
			if err := c.parseMetric(body, &v); err != nil {
				return dst[:0], Summary{}, err
			}
			c.tags = v.tags[:0]
			b.add(i, &v)
			i++
			continue
		}
		rest = rest[protowire.ConsumeFieldValue(num, typ, rest):]
	}
	return b.dst, b.sum, nil
}

// BatchUUID returns the ftd_uuid of an encoded DataResponse (a copy that
// stays valid when data is reused), so a receiver can find the device's
// session before converting. It checks the top-level framing only.
func BatchUUID(data []byte) (string, error) {
	uuid, _, err := scanResponse(data)
	return strings.Clone(uuid), err
}

func wireError(what string, n int) error {
	return &BatchError{Category: status.CatInvalidArgument, Malformed: true, Msg: fmt.Sprintf("batch is not a valid DataResponse: %s: %v", what, protowire.ParseError(n))}
}

var errWireUTF8 = &BatchError{Category: status.CatInvalidArgument, Malformed: true, Msg: "batch is not a valid DataResponse: a string field is not valid UTF-8"}

// view returns b as a string without copying. The result must not outlive
// the caller's use of the buffer; metric() copies or interns what it keeps.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// consumeString reads a length-delimited string field, refusing invalid
// UTF-8 as proto3 decoding does.
func consumeString(b []byte) (string, int, error) {
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return "", 0, wireError("string field", n)
	}
	if !utf8.Valid(v) {
		return "", 0, errWireUTF8
	}
	return view(v), n, nil
}

// scanResponse walks the top level of a DataResponse: the last ftd_uuid
// (proto3 keeps the last of a repeated scalar) and the number of metrics.
// Fields with an unexpected wire type are unknown fields, as for
// proto.Unmarshal, and skipped.
func scanResponse(data []byte) (uuid string, metrics int, err error) {
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", 0, wireError("field tag", n)
		}
		b = b[n:]
		switch {
		case num == fieldResponseUUID && typ == protowire.BytesType:
			s, n, err := consumeString(b)
			if err != nil {
				return "", 0, err
			}
			uuid, b = s, b[n:]
		case num == fieldResponseMetrics && typ == protowire.BytesType:
			_, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", 0, wireError("metric", n)
			}
			metrics++
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return "", 0, wireError(fmt.Sprintf("field %d", num), n)
			}
			b = b[n:]
		}
	}
	return uuid, metrics, nil
}

// validateMetrics parses every metric without converting it.
func validateMetrics(data []byte) error {
	c := Converter{limits: Limits{MaxTags: 0}}
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		if num == fieldResponseMetrics && typ == protowire.BytesType {
			body, n := protowire.ConsumeBytes(b)
			b = b[n:]
			var v metricView
			if err := c.parseMetric(body, &v); err != nil {
				return err
			}
			continue
		}
		b = b[protowire.ConsumeFieldValue(num, typ, b):]
	}
	return nil
}

// parseMetric fills v from an encoded Metric. Tags past Limits.MaxTags are
// still parsed (their framing and UTF-8 must be valid) but only counted.
func (c *Converter) parseMetric(b []byte, v *metricView) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireError("metric field tag", n)
		}
		b = b[n:]
		var err error
		switch {
		case num == fieldMetricTimestamp && typ == protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			v.ts = int64(x)
		case num == fieldMetricFamily && typ == protowire.BytesType:
			v.family, n, err = consumeString(b)
		case num == fieldMetricValue && typ == protowire.Fixed64Type:
			var x uint64
			x, n = protowire.ConsumeFixed64(b)
			v.value = math.Float64frombits(x)
		case num == fieldMetricType && typ == protowire.BytesType:
			v.typ, n, err = consumeString(b)
		case num == fieldMetricTags && typ == protowire.BytesType:
			var body []byte
			body, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				var t tagView
				if err = parseTag(body, &t); err == nil {
					if len(v.tags) < c.limits.MaxTags {
						v.tags = append(v.tags, t)
					}
					v.ntags++
				}
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if err != nil {
			return err
		}
		if n < 0 {
			return wireError(fmt.Sprintf("metric field %d", num), n)
		}
		b = b[n:]
	}
	return nil
}

func parseTag(b []byte, t *tagView) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireError("tag field tag", n)
		}
		b = b[n:]
		var err error
		switch {
		case num == fieldTagKey && typ == protowire.BytesType:
			t.key, n, err = consumeString(b)
		case num == fieldTagValue && typ == protowire.BytesType:
			t.value, n, err = consumeString(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if err != nil {
			return err
		}
		if n < 0 {
			return wireError(fmt.Sprintf("tag field %d", num), n)
		}
		b = b[n:]
	}
	return nil
}

// IsMalformed reports whether err says the bytes were not a valid
// DataResponse at all (as opposed to a valid batch that was refused).
func IsMalformed(err error) bool {
	var be *BatchError
	return errors.As(err, &be) && be.Malformed
}
