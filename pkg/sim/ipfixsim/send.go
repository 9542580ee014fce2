package ipfixsim

// controlRecord is a template, options template or options data record
// waiting to be packed into messages.
type controlRecord struct {
	set  uint16
	kind int // 0 template, 1 options template, 2 options data
	rec  []byte
}

// sendTemplates sends every template, then the options data (sampler and
// application tables), in as few messages as the size allows.
func (e *Exporter) sendTemplates() error {
	e.lastRefresh = e.cfg.Now()
	// Records are encoded back to back into one scratch buffer and cut out
	// of it once it has stopped growing.
	b := e.scratch[:0]
	var recs []controlRecord
	var ends []int
	add := func(set uint16, kind int, build func([]byte) []byte) {
		b = build(b)
		recs = append(recs, controlRecord{set: set, kind: kind})
		ends = append(ends, len(b))
	}
	for _, t := range e.Templates() {
		kind := 0
		if t.Options() {
			kind = 1
		}
		add(t.SetID(), kind, t.AppendRecord)
	}
	if e.sampled {
		add(TemplateIDSampling, 2, func(b []byte) []byte {
			return e.cfg.SamplingMode.appendSamplingRecord(b, e.cfg.SelectorID, e.cfg.SamplingRate)
		})
	}
	for i := range e.cfg.Applications {
		if a := &e.cfg.Applications[i]; !a.Unlisted {
			add(TemplateIDApplications, 2, func(b []byte) []byte { return appendApplicationRecord(b, a) })
		}
	}
	start := 0
	for i := range recs {
		recs[i].rec = b[start:ends[i]]
		start = ends[i]
	}
	e.scratch = b

	var counts [3]int
	e.msg.Reset(e.header(), !e.cfg.NoPadding)
	flush := func() error {
		err := e.write(nil, counts[0], counts[1], counts[2])
		counts = [3]int{}
		e.msg.Reset(e.header(), !e.cfg.NoPadding)
		return err
	}
	for _, r := range recs {
		if !e.msg.Fits(r.set, len(r.rec), e.cfg.MaxMessageSize) {
			if err := flush(); err != nil {
				return err
			}
		}
		e.msg.Open(r.set)
		e.msg.Append(r.rec)
		counts[r.kind]++
	}
	return flush()
}

// sendFlows generates n flow records and sends them, each message as full
// as MaxMessageSize allows, records grouped into one data set per template.
func (e *Exporter) sendFlows(n uint64, onlyOne bool) error {
	var carry Flow
	haveCarry := false
	max := e.cfg.MaxMessageSize
	for n > 0 || haveCarry {
		nowMs := e.cfg.Now().UnixMilli()
		for i := range e.recBufs {
			e.recBufs[i] = e.recBufs[i][:0]
			e.recCounts[i] = 0
		}
		e.flows = e.flows[:0]
		size := HeaderLen
		for n > 0 || haveCarry {
			var f Flow
			if haveCarry {
				f, haveCarry = carry, false
			} else {
				e.gen.next(&f, nowMs)
				n--
			}
			v := 0
			if f.Src.Is6() {
				v = 1
			}
			ti := v*int(numL7) + int(f.L7)
			t := &e.data[v][f.L7]
			before := len(e.recBufs[ti])
			e.recBufs[ti] = appendFlow(e.recBufs[ti], t, &f, e.cfg.SelectorID)
			after := len(e.recBufs[ti])
			grown := size - e.setSize(before) + e.setSize(after)
			if grown > max {
				e.recBufs[ti] = e.recBufs[ti][:before]
				if len(e.flows) == 0 {
					return ErrTooLong
				}
				carry, haveCarry = f, true
				break
			}
			size = grown
			e.recCounts[ti]++
			e.flows = append(e.flows, f)
		}
		e.msg.Reset(e.header(), !e.cfg.NoPadding)
		for v := range 2 {
			for l7 := range numL7 {
				ti := v*int(numL7) + int(l7)
				if e.recCounts[ti] == 0 {
					continue
				}
				e.msg.Open(e.data[v][l7].ID)
				e.msg.AppendRecords(e.recBufs[ti], e.recCounts[ti])
			}
		}
		if err := e.write(e.flows, 0, 0, 0); err != nil {
			return err
		}
		e.dataMsgs++
		e.mu.Lock()
		sent := e.totals.Flows.Records
		e.mu.Unlock()
		byMsgs := e.cfg.GapAfter > 0 && e.dataMsgs >= e.cfg.GapAfter
		byRecs := e.cfg.GapAfterRecords > 0 && sent >= e.cfg.GapAfterRecords
		if !e.gapDone && (byMsgs || byRecs) {
			e.gapDone = true
			e.seq += e.cfg.GapRecords
			e.mu.Lock()
			e.totals.SkippedRecords += uint64(e.cfg.GapRecords)
			e.totals.NextSequence = e.seq
			e.mu.Unlock()
		}
		if onlyOne {
			return nil
		}
	}
	return nil
}

// setSize is the size of a data set holding n octets of records.
func (e *Exporter) setSize(n int) int {
	if n == 0 {
		return 0
	}
	return padded(SetHeaderLen+n, !e.cfg.NoPadding)
}
