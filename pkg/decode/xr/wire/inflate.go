package wire

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"strconv"
)

// Inflater decompresses one connection's zlib stream, one framed message at a
// time, each message whole and alone although the stream runs on across
// messages (the router sync-flushes after each).
//
// Why a goroutine: compress/flate keeps its state only while its source
// keeps answering; an error from the source (even io.EOF) is final. So the
// decompressor runs in its own goroutine over a source (io.ByteReader, which
// flate uses without reading ahead) that serves the current frame's bytes and,
// when flate asks for one more, hands the output made so far back to the
// caller and blocks until the next frame. Flate asks past a frame only once it
// has delivered everything those bytes encode up to a flush point, so that
// hand-over is exactly one message. Only one side runs at a time (handover by
// channels), so there is no shared-memory race and no clock.
//
// Not safe for concurrent use; one per connection. Call Close when the
// connection ends, or the goroutine stays parked.
type Inflater struct {
	// Max bounds one inflated message. 0 means DefaultMaxLength.
	Max int

	w       *inflateWorker // nil until the first compressed frame of a stream
	err     *Error         // sticky until Reset
	scratch []byte         // kept across resets
	msg     []byte
}

// syncMarker ends the empty stored block a sync (or full) flush writes, which
// makes flate hand out everything before it.
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

var errStopped = errors.New("inflater stopped")

type inflateResult struct {
	msg []byte
	err *Error
}

// inflateWorker is the goroutine's side. While the goroutine runs, it alone
// touches cur, pos, msg and streamEnd; the caller reads msg only after the
// handover on out.
type inflateWorker struct {
	in   chan []byte
	out  chan inflateResult
	done chan struct{}
	max  int

	cur       []byte
	pos       int
	msg       []byte
	scratch   []byte
	streamEnd bool // a zlib stream ended and no byte of the next was read
	stopped   bool
}

// Inflate feeds one frame's compressed bytes and returns its whole message.
// The result aliases a buffer that the next call reuses. After an error the
// stream is lost: every call returns the same *Error until Reset.
func (z *Inflater) Inflate(p []byte) ([]byte, error) {
	if z.err != nil {
		return nil, z.err
	}
	if len(p) == 0 {
		return p, nil
	}
	if z.w == nil {
		max := z.Max
		if max <= 0 {
			max = DefaultMaxLength
		}
		if z.scratch == nil {
			z.scratch = make([]byte, 32<<10)
		}
		z.w = &inflateWorker{
			in: make(chan []byte), out: make(chan inflateResult), done: make(chan struct{}),
			max: max, scratch: z.scratch, msg: z.msg[:0],
		}
		go z.w.run()
	}
	z.w.in <- p
	r := <-z.w.out
	if r.err != nil {
		<-z.w.done
		z.w = nil
		z.err = r.err
		return nil, r.err
	}
	z.msg = r.msg
	return r.msg, nil
}

// Reset forgets the stream (RESET_COMPRESSOR, or a new connection) and clears
// a previous error: the next compressed frame starts a new zlib stream.
func (z *Inflater) Reset() {
	if z.w != nil {
		close(z.w.in)
		<-z.w.done
		z.w = nil
	}
	z.err = nil
}

// Close stops the goroutine; later calls fail with ReasonClosed.
func (z *Inflater) Close() {
	z.Reset()
	z.err = &Error{Reason: ReasonClosed}
}

func (w *inflateWorker) run() {
	defer close(w.done)
	p, ok := <-w.in
	if !ok {
		return
	}
	w.cur, w.pos, w.msg = p, 0, w.msg[:0]
	var zr io.ReadCloser
	for {
		var err error
		if zr == nil {
			zr, err = zlib.NewReader(w)
		} else {
			err = zr.(zlib.Resetter).Reset(w, nil)
		}
		w.streamEnd = false
		for err == nil {
			var n int
			n, err = zr.Read(w.scratch)
			if len(w.msg)+n > w.max {
				w.fail(ReasonZlibTooLarge, "inflated beyond "+strconv.Itoa(w.max)+" bytes")
				return
			}
			w.msg = append(w.msg, w.scratch[:n]...)
		}
		switch {
		case w.stopped:
			return
		case err == io.EOF:
			// The stream ended (the sender finished it rather than flushing):
			// what follows, in this frame or the next, is a new stream.
			w.streamEnd = true
		default:
			w.fail(ReasonZlibCorrupt, err.Error())
			return
		}
	}
}

func (w *inflateWorker) fail(reason, detail string) {
	w.out <- inflateResult{err: &Error{Reason: reason, Detail: detail}}
}

// next is called when flate wants a byte past the current frame: the frame's
// message is complete if the frame ended at a flush point or at the end of a
// stream. It hands the message over and waits for the next frame.
func (w *inflateWorker) next() error {
	if !w.streamEnd && !bytes.HasSuffix(w.cur, syncMarker) {
		w.stopped = true
		w.fail(ReasonZlibUnflushed, "frame of "+strconv.Itoa(len(w.cur))+" bytes does not end at a sync flush")
		return errStopped
	}
	w.out <- inflateResult{msg: w.msg}
	p, ok := <-w.in
	if !ok {
		w.stopped = true
		return errStopped
	}
	if cap(w.msg) > 4<<20 {
		w.msg = nil // one huge message should not pin its buffer for the connection's life
	}
	w.cur, w.pos, w.msg = p, 0, w.msg[:0]
	return nil
}

// ReadByte serves flate; with it flate never reads ahead of what it decodes.
func (w *inflateWorker) ReadByte() (byte, error) {
	for w.pos == len(w.cur) {
		if err := w.next(); err != nil {
			return 0, err
		}
	}
	c := w.cur[w.pos]
	w.pos++
	w.streamEnd = false
	return c, nil
}

// Read serves the zlib header and trailer and flate's stored-block lengths.
func (w *inflateWorker) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for w.pos == len(w.cur) {
		if err := w.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.cur[w.pos:])
	w.pos += n
	w.streamEnd = false
	return n, nil
}
