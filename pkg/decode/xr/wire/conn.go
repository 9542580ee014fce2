package wire

// Conn is what a TCP receiver holds per connection: a Framer whose
// compressed frames go through the connection's own Inflater, reset by every
// RESET_COMPRESSOR. A new connection is a new Conn, so no zlib state crosses
// connections.
type Conn struct {
	fr      Framer
	inf     Inflater
	emit    func(Frame) error
	onFrame func(Frame) error
}

// NewConn makes a Conn; max bounds both a framed payload and an inflated
// message (0 means DefaultMaxLength).
func NewConn(max int) *Conn {
	c := &Conn{fr: Framer{Max: max}, inf: Inflater{Max: max}}
	c.onFrame = c.frame // bound once, so Feed does not allocate a closure per call
	return c
}

// Generation is the connection's framing, GenUnknown until it is known.
func (c *Conn) Generation() Generation { return c.fr.Generation() }

// Feed consumes bytes read from the connection and emits every complete
// message with its payload inflated (Compressed tells it was compressed on
// the wire); reset frames are emitted too, after the inflater was reset, so
// the caller can count them. The payload is valid only during emit. An error
// (an *Error, or emit's own) means: close the connection.
func (c *Conn) Feed(b []byte, emit func(Frame) error) error {
	c.emit = emit
	err := c.fr.Feed(b, c.onFrame)
	c.emit = nil
	return err
}

func (c *Conn) frame(f Frame) error {
	switch {
	case f.Kind == KindReset:
		c.inf.Reset()
	case f.Compressed:
		out, err := c.inf.Inflate(f.Payload)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e2 := *e
				e2.Offset = c.fr.hdrOff
				return &e2
			}
			return err
		}
		f.Payload = out
	}
	return c.emit(f)
}

// Close releases the inflater's goroutine.
func (c *Conn) Close() { c.inf.Close() }
