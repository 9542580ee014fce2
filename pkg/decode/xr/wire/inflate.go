package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"iter"
	"strconv"

	"github.com/klauspost/compress/zlib"
)

// Inflater decompresses one connection's zlib stream, one framed message at a
// time, each message whole and alone although the stream runs on across
// messages (the router sync-flushes after each).
//
// Why a second goroutine: a flate decompressor keeps its state only while its
// source keeps answering; an error from the source (even io.EOF) is final. So
// the decompressor runs as a coroutine (iter.Pull) over a source that serves
// the current frame's bytes and, when asked for more, hands the output made so
// far back to the caller and suspends until the next frame. The source is a
// bufio.Reader over the frame (klauspost's flate reads a *bufio.Reader through
// its buffer directly, its fastest path), and bufio asks its source again only
// once flate has used every byte it holds. Flate asks past a frame only once it
// has delivered everything those bytes encode up to a flush point, so that
// hand-over is exactly one message. Only one side runs at a time (a coroutine
// switch, cheaper than a pair of channel handoffs), so there is no
// shared-memory race and no clock.
//
// Not safe for concurrent use; one per connection. Call Close when the
// connection ends, or the coroutine stays parked.
type Inflater struct {
	// Max bounds one inflated message. 0 means DefaultMaxLength.
	Max int

	w       *inflateWorker // nil until the first compressed frame of a stream
	next    func() (inflateResult, bool)
	stop    func()
	err     *Error        // sticky until Reset
	scratch []byte        // kept across resets
	br      *bufio.Reader // kept across resets, pointed at each new worker
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

// inflateWorker is the coroutine's side. The caller sets in before resuming
// it; while the coroutine runs, it alone touches the other fields, and the
// caller reads msg only from the result it yields.
type inflateWorker struct {
	in    []byte // the next frame, set by the caller
	yield func(inflateResult) bool
	max   int

	cur       []byte
	pos       int
	msg       []byte
	scratch   []byte
	br        *bufio.Reader
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
			z.br = bufio.NewReaderSize(nil, 16<<10)
		}
		z.w = &inflateWorker{max: max, scratch: z.scratch, br: z.br, msg: z.msg[:0]}
		z.next, z.stop = iter.Pull(z.w.run)
	}
	z.w.in = p
	r, ok := z.next()
	if !ok {
		// The worker returns only after yielding an error, which ends the
		// stream below; reaching here would be a bug, but it must not hang.
		r.err = &Error{Reason: ReasonZlibCorrupt, Detail: "inflater ended"}
	}
	if r.err != nil {
		z.stopWorker()
		z.err = r.err
		return nil, r.err
	}
	z.msg = r.msg
	return r.msg, nil
}

func (z *Inflater) stopWorker() {
	if z.w != nil {
		z.stop()
		z.w, z.next, z.stop = nil, nil, nil
	}
}

// Reset forgets the stream (RESET_COMPRESSOR, or a new connection) and clears
// a previous error: the next compressed frame starts a new zlib stream.
func (z *Inflater) Reset() {
	z.stopWorker()
	z.err = nil
}

// Close stops the coroutine; later calls fail with ReasonClosed.
func (z *Inflater) Close() {
	z.Reset()
	z.err = &Error{Reason: ReasonClosed}
}

func (w *inflateWorker) run(yield func(inflateResult) bool) {
	w.yield = yield
	w.cur, w.pos, w.msg = w.in, 0, w.msg[:0]
	var zr io.ReadCloser
	br := w.br
	br.Reset(w)
	for {
		var err error
		if zr == nil {
			zr, err = zlib.NewReader(br)
		} else {
			err = zr.(zlib.Resetter).Reset(br, nil)
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
			// what follows, in this frame or the next, is a new stream. If
			// bufio already holds some of it, the frame must still end at a
			// flush point or at the end of that next stream.
			w.streamEnd = br.Buffered() == 0
		default:
			w.fail(ReasonZlibCorrupt, err.Error())
			return
		}
	}
}

func (w *inflateWorker) fail(reason, detail string) {
	w.yield(inflateResult{err: &Error{Reason: reason, Detail: detail}})
}

// nextFrame is called when flate wants a byte past the current frame: the
// frame's message is complete if the frame ended at a flush point or at the
// end of a stream. It hands the message over and waits for the next frame.
func (w *inflateWorker) nextFrame() error {
	if !w.streamEnd && !bytes.HasSuffix(w.cur, syncMarker) {
		w.stopped = true
		w.fail(ReasonZlibUnflushed, "frame of "+strconv.Itoa(len(w.cur))+" bytes does not end at a sync flush")
		return errStopped
	}
	if !w.yield(inflateResult{msg: w.msg}) {
		w.stopped = true
		return errStopped
	}
	if cap(w.msg) > 4<<20 {
		w.msg = nil // one huge message should not pin its buffer for the connection's life
	}
	w.cur, w.pos, w.msg = w.in, 0, w.msg[:0]
	return nil
}

// Read fills the worker's bufio.Reader with the rest of the current frame,
// never more: bufio asks only when flate has used every byte it holds.
func (w *inflateWorker) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for w.pos == len(w.cur) {
		if err := w.nextFrame(); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.cur[w.pos:])
	w.pos += n
	w.streamEnd = false
	return n, nil
}
