package xrsim

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"testing"
)

func TestPDTv2HeaderBytes(t *testing.T) {
	got := AppendPDTv2(nil, PDTGPBKV, FlagZlib, []byte("abc"))
	want := []byte{0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c'}
	if !bytes.Equal(got, want) {
		t.Fatalf("% x, want % x", got, want)
	}
	// RESET_COMPRESSOR: type 1, no flags, length 0, nothing after.
	if got := AppendPDTv2(nil, PDTReset, 0, nil); !bytes.Equal(got, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("reset % x", got)
	}
	long := make([]byte, 0x010203)
	if got := AppendPDTv2(nil, PDTJSON, 0, long)[:12]; !bytes.Equal(got, []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 2, 3}) {
		t.Fatalf("length is big-endian: % x", got)
	}
}

func TestPDTv1BlockBytes(t *testing.T) {
	// A block's length counts the TLVs after it; the reset TLV has no value.
	got := AppendPDTv1(nil, true, []byte("xy"))
	want := []byte{0, 0, 0, 18, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 'x', 'y'}
	if !bytes.Equal(got, want) {
		t.Fatalf("% x, want % x", got, want)
	}
	got = AppendPDTv1(nil, false, []byte("xy"))
	want = []byte{0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 2, 'x', 'y'}
	if !bytes.Equal(got, want) {
		t.Fatalf("% x, want % x", got, want)
	}
	// The first word of a v1 stream is a length above 4: that is how a
	// receiver tells it from v2, whose first word is a type of 1 to 4.
	if n := got[3]; n <= 4 {
		t.Fatalf("v1 length %d would read as a v2 type", n)
	}
}

func TestMDTHeaderBytes(t *testing.T) {
	got := AppendMDT(nil, MDTEncapJSON, []byte("{}"))
	want := []byte{0, 1, 0, 2, 0, 1, 0, 0, 0, 0, 0, 2, '{', '}'}
	if !bytes.Equal(got, want) {
		t.Fatalf("% x, want % x", got, want)
	}
	if got := AppendMDT(nil, MDTEncapGPB, nil); got[3] != 1 || len(got) != HeaderLen {
		t.Fatalf("GPB header % x", got)
	}
}

// The compressed pieces of one connection are one zlib stream: each piece
// ends in a sync flush, so that the pieces up to a message inflate to
// exactly the messages up to it, and a reset starts a new stream with its
// own zlib header. Inflated here by compress/zlib, on its own.
func TestCompressorStreamWithResets(t *testing.T) {
	var c Compressor
	c.Reset()
	var segments [][][]byte // per stream: the compressed pieces
	var plain [][][]byte    // per stream: the messages
	for i := range 25 {
		if i%10 == 0 {
			c.Reset()
			segments = append(segments, nil)
			plain = append(plain, nil)
		}
		msg := fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte{'a' + byte(i%26)}, 100+i*37))
		piece := bytes.Clone(c.Compress(msg))
		if !bytes.HasSuffix(piece, []byte{0, 0, 0xff, 0xff}) {
			t.Fatalf("piece %d does not end in a sync flush: % x", i, piece[max(0, len(piece)-8):])
		}
		k := len(segments) - 1
		if len(segments[k]) == 0 && (piece[0] != 0x78 || (uint16(piece[0])<<8|uint16(piece[1]))%31 != 0) {
			t.Fatalf("piece %d starts a stream without a zlib header: % x", i, piece[:2])
		}
		if len(segments[k]) > 0 && piece[0] == 0x78 && piece[1] == 0x9c {
			t.Logf("piece %d starts like a header, fine if it is deflate data", i)
		}
		segments[k] = append(segments[k], piece)
		plain[k] = append(plain[k], msg)
	}
	if len(segments) != 3 {
		t.Fatalf("%d streams", len(segments))
	}
	for k := range segments {
		for upto := 1; upto <= len(segments[k]); upto++ {
			z, err := zlib.NewReader(bytes.NewReader(bytes.Join(segments[k][:upto], nil)))
			if err != nil {
				t.Fatalf("stream %d: %v", k, err)
			}
			want := bytes.Join(plain[k][:upto], nil)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(z, got); err != nil {
				t.Fatalf("stream %d, %d pieces: %v", k, upto, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("stream %d, %d pieces: inflated data differs", k, upto)
			}
			// The stream is never closed: nothing more, and no end.
			if n, err := z.Read(make([]byte, 1)); n != 0 || err == nil || err == io.EOF {
				t.Fatalf("stream %d: read past the flushed data gave %d, %v", k, n, err)
			}
		}
	}
}
