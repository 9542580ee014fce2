package records

// builder assembles one ResultColumn.
type builder struct {
	typ     Type
	u       []uint64
	i       []int64
	f       []float64
	s       []string
	b       []bool
	nulls   []bool
	anyNull bool
}

func newBuilder(typ Type, n int) *builder {
	b := &builder{typ: typ, nulls: make([]bool, 0, n)}
	switch typ {
	case Uint:
		b.u = make([]uint64, 0, n)
	case Int, Time:
		b.i = make([]int64, 0, n)
	case Float:
		b.f = make([]float64, 0, n)
	case String, Addr:
		b.s = make([]string, 0, n)
	case Bool:
		b.b = make([]bool, 0, n)
	}
	return b
}

func (b *builder) null() {
	switch b.typ {
	case Uint:
		b.u = append(b.u, 0)
	case Int, Time:
		b.i = append(b.i, 0)
	case Float:
		b.f = append(b.f, 0)
	case String, Addr:
		b.s = append(b.s, "")
	case Bool:
		b.b = append(b.b, false)
	}
	b.nulls = append(b.nulls, true)
	b.anyNull = true
}

// raw appends a value of a Uint, Int, Time, Float or Bool column.
func (b *builder) raw(r uint64) {
	switch b.typ {
	case Uint:
		b.u = append(b.u, r)
	case Int, Time:
		b.i = append(b.i, intRaw(r))
	case Float:
		b.f = append(b.f, floatRaw(r))
	case Bool:
		b.b = append(b.b, r != 0)
	}
	b.nulls = append(b.nulls, false)
}

func (b *builder) str(s string) {
	b.s = append(b.s, s)
	b.nulls = append(b.nulls, false)
}

// value appends row i of a chunk view of a column snapshot.
func (b *builder) value(s *colSnap, v *view, i int32) {
	if v.null(i) {
		b.null()
		return
	}
	r := v.vals[i]
	switch b.typ {
	case String:
		b.str(s.str(r))
	case Addr:
		b.str(s.addrs[r].addr().String())
	default:
		b.raw(r)
	}
}

func (b *builder) column(name string) ResultColumn {
	c := ResultColumn{Name: name, Type: b.typ}
	switch b.typ {
	case Uint:
		c.Values = b.u
	case Int, Time:
		c.Values = b.i
	case Float:
		c.Values = b.f
	case String, Addr:
		c.Values = b.s
	case Bool:
		c.Values = b.b
	}
	if b.anyNull {
		c.Null = b.nulls
	}
	return c
}
