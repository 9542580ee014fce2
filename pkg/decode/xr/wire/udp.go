package wire

import (
	"bytes"
	"strconv"
)

// compactPrefix is how every PDT compact TelemetryHeader starts: field 1
// (encoding, varint) = 0x87654321. Serializers write fields in number order,
// and the value is fixed, so these six bytes identify the message.
var compactPrefix = []byte{0x08, 0xa1, 0x86, 0x95, 0xbb, 0x08}

// Sniff frames one UDP datagram. PDT over UDP has no header: the datagram is
// a bare compact GPB TelemetryHeader, recognised by its encoding word. MDT
// over UDP carries the 12-byte header, whose length must cover exactly the
// rest of the datagram. Anything else is an *Error. A zlib stream cannot span
// datagrams, so a compression flag is refused. The payload aliases d.
func Sniff(d []byte, max int) (Frame, error) {
	if max <= 0 {
		max = DefaultMaxLength
	}
	if len(d) > max {
		return Frame{}, &Error{Reason: ReasonTooLong, Detail: "datagram " + strconv.Itoa(len(d)) + " bytes > " + strconv.Itoa(max)}
	}
	if bytes.HasPrefix(d, compactPrefix) {
		return Frame{Gen: GenPDTUDP, Encoding: EncodingGPBCompact, Payload: d}, nil
	}
	// MDT types are 1|2 and a valid datagram has at least its header.
	if len(d) >= 12 && d[0] == 0 && (d[1] == 1 || d[1] == 2) {
		fr, n, err := parseMDT(d[:12])
		if err != nil {
			return Frame{}, err
		}
		if fr.Compressed {
			return Frame{}, &Error{Reason: ReasonBadFlags, Offset: 6, Detail: "compression flag on a datagram"}
		}
		if uint64(n) != uint64(len(d)-12) {
			return Frame{}, &Error{Reason: ReasonBadLength, Offset: 8,
				Detail: "header length " + strconv.FormatUint(uint64(n), 10) + ", datagram carries " + strconv.Itoa(len(d)-12)}
		}
		fr.Payload = d[12:]
		return fr, nil
	}
	if len(d) < 12 && len(d) >= 2 && d[0] == 0 && (d[1] == 1 || d[1] == 2) {
		return Frame{}, &Error{Reason: ReasonBadLength, Detail: "datagram of " + strconv.Itoa(len(d)) + " bytes, shorter than a header"}
	}
	return Frame{}, &Error{Reason: ReasonNotTelemetry, Detail: "neither compact GPB (encoding 0x87654321) nor an MDT header"}
}
