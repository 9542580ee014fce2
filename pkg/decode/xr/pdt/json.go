package pdt

import (
	"errors"
	"strconv"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// DecodeJSON decodes one PDT JSON message. Header keys of both generations are read:
// XR 6.0.0 ("Start Time", "End Time") and XR 6.0.1+ (CollectionID, Path,
// CollectionStartTime, CollectionEndTime). Integers are kept exact.
func (d *Decoder) DecodeJSON(b []byte) (*xr.Message, error) {
	lim := d.Limits.withDefaults()
	if len(b) > lim.MaxBytes {
		return nil, errAt(ReasonTooLarge, -1, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(lim.MaxBytes))
	}
	root, perr := parseJSON(b, lim)
	if perr != nil {
		return nil, perr
	}
	if !root.obj {
		return nil, errAt(ReasonBadJSON, 0, "message is not a JSON object")
	}
	msg := &xr.Message{Encoding: xr.EncodingJSON}
	var start, end int64
	var data *node
	for k := range root.kids {
		c := &root.kids[k]
		var err error
		switch c.name {
		case "Policy":
			msg.Policy, err = headerString(c)
		case "Identifier":
			msg.Node, err = headerString(c)
		case "Path":
			msg.Path, err = headerString(c)
		case "CollectionID":
			msg.CollectionID, err = headerUint(c)
		case "CollectionStartTime", "Start Time":
			start, err = headerMs(c)
		case "CollectionEndTime", "End Time":
			end, err = headerMs(c)
		case "Data":
			if !c.null {
				data = c
			}
		}
		if err != nil {
			return nil, errAt(ReasonBadHeader, -1, strconv.Quote(c.name)+": "+err.Error())
		}
	}
	msg.MsgTimestampMs = end
	if end == 0 {
		msg.MsgTimestampMs = start
	}
	if err := d.fillRows(msg, data, lim); err != nil {
		return nil, err
	}
	return msg, nil
}

// fillRows walks data along msg.Path, or along the one of d.Paths whose rows hold the
// most leaves when the message names no path. A message without data (end of a collection) has no rows.
func (d *Decoder) fillRows(msg *xr.Message, data *node, lim Limits) error {
	if data == nil || !data.obj && !data.arr || len(data.kids) == 0 {
		return nil
	}
	if msg.Path != "" {
		els, err := ParsePath(msg.Path)
		if err != nil {
			return errAt(ReasonBadPath, -1, strconv.Quote(msg.Path)+": "+err.Error())
		}
		var werr *Error
		if msg.Rows, werr = rowsAlong(data, els, msg.MsgTimestampMs, lim.MaxLeaves); werr != nil {
			return werr
		}
		if len(msg.Rows) == 0 {
			return errAt(ReasonPathMismatch, -1, "no data along "+strconv.Quote(msg.Path))
		}
		return nil
	}
	// A 6.0.0 message may hold what several policy paths name (GenericCounters and
	// DataRate side by side): the path whose rows hold the most leaves explains most of it.
	best, bestLeaves := -1, 0
	for k, p := range d.Paths {
		els, err := ParsePath(p)
		if err != nil {
			continue
		}
		clearKeys(data)
		rows, werr := rowsAlong(data, els, msg.MsgTimestampMs, lim.MaxLeaves)
		if werr != nil {
			return werr
		}
		n := 0
		for _, r := range rows {
			n += len(r.Keys) + len(r.Content)
		}
		if n > bestLeaves {
			best, bestLeaves = k, n
			msg.Path, msg.Rows = p, rows
		}
	}
	if best >= 0 {
		return nil
	}
	return errAt(ReasonNoPath, -1, "message names no path and none of "+strconv.Itoa(len(d.Paths))+" policy paths matches its data")
}

func clearKeys(n *node) {
	n.key = false
	for k := range n.kids {
		clearKeys(&n.kids[k])
	}
}

func headerString(n *node) (string, error) {
	if n.null {
		return "", nil
	}
	if !n.scalar() {
		return "", errors.New("not a scalar")
	}
	switch n.leaf.Kind {
	case xr.LeafString:
		return n.leaf.S, nil
	case xr.LeafUint:
		return strconv.FormatUint(n.leaf.U, 10), nil
	case xr.LeafInt:
		return strconv.FormatInt(n.leaf.I, 10), nil
	}
	return "", errors.New("not a string")
}

// headerUint accepts a JSON number or a decimal string (MDT's proto3 mapping habit).
func headerUint(n *node) (uint64, error) {
	if n.null {
		return 0, nil
	}
	if n.scalar() {
		switch n.leaf.Kind {
		case xr.LeafUint:
			return n.leaf.U, nil
		case xr.LeafString:
			return strconv.ParseUint(n.leaf.S, 10, 64)
		}
	}
	return 0, errors.New("not an unsigned integer")
}

func headerMs(n *node) (int64, error) {
	u, err := headerUint(n)
	if err != nil {
		return 0, err
	}
	if u > 1<<62 {
		return 0, errors.New("timestamp out of range")
	}
	return int64(u), nil
}
