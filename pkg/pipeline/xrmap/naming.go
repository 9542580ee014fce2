package xrmap

// Series naming (xr2-contracts.md, "Series naming"): the dashboard, the
// simulator and the editor compute the same names from a path and a leaf, so
// these functions are pure and depend on nothing but their arguments.

// MaxMetricName is the longest metric name MetricName returns; longer ones
// are refused (a deep container with long element names would otherwise make
// series names nobody can read or type).
const MaxMetricName = 200

// MetricName returns the series name of a numeric leaf:
// "xr_" + snake(last element of path) + "_" + snake(leaf). The last element
// of a policy-driven path (RootOper.A.B(*).C) is found by splitting on '.',
// of a model-driven path (module:a/b/c) on '/'; key parts in (...) or [...]
// (and a YANG "=value" predicate) are dropped first, then any "module:"
// prefix. ok is false when the leaf has no usable character or the name
// would be longer than MaxMetricName.
func MetricName(path, leaf string) (name string, ok bool) {
	last := lastElement(path)
	// snake adds a separator at most per input byte; names past the limit
	// are refused anyway, so the buffer need not hold more.
	b := make([]byte, 0, min(4+2*(len(last)+len(leaf)), MaxMetricName+2))
	b = append(b, "xr_"...)
	b = appendSnake(b, last)
	if len(b) > 3 {
		b = append(b, '_')
	}
	mark := len(b)
	b = appendSnake(b, leaf)
	if len(b) == mark || len(b) > MaxMetricName {
		return "", false
	}
	return string(b), true
}

// Labels that a row key must never overwrite; a key that would snake to one
// of them is prefixed with "key_". "__name__" needs no entry: snake never
// leaves a leading or trailing '_', so no key can become it.
var reserved = [...]string{"device", "path", "policy", "subscription", "index"}

// LabelName returns the label of a row key: snake(key), "key_" in front when
// it would collide with a label the mapper sets itself (device, path,
// policy, subscription, index) or would start with a digit, and "key" when
// nothing usable is left. The result is always a valid Prometheus label name
// that does not start with "__".
func LabelName(key string) string {
	var buf [64]byte
	b := appendSnake(buf[:0], key)
	if len(b) == 0 {
		return "key"
	}
	if b[0] >= '0' && b[0] <= '9' {
		return "key_" + string(b)
	}
	for _, r := range reserved {
		if string(b) == r {
			return "key_" + r
		}
	}
	return string(b)
}

// lastElement returns the last element of a sensor or policy path, without
// key parts or module prefix.
func lastElement(path string) string {
	// Key parts may hold '.', '/' or ':' (interface names, addresses), so
	// they go before the path is split.
	stripped := path
	if indexAny(path, "([") >= 0 {
		stripped = stripKeys(path)
	}
	sep := byte('.')
	if indexAny(stripped, "/") >= 0 {
		sep = '/'
	}
	last := ""
	for rest := stripped; rest != ""; {
		i := lastIndex(rest, sep)
		el := rest[i+1:]
		if el != "" {
			last = el
			break
		}
		if i < 0 {
			break
		}
		rest = rest[:i]
	}
	if i := lastIndex(last, ':'); i >= 0 {
		last = last[i+1:]
	}
	if i := indexAny(last, "="); i >= 0 {
		last = last[:i]
	}
	return last
}

// stripKeys removes every (...) and [...] part, nested or quoted, and an
// unterminated one to the end.
func stripKeys(s string) string {
	out := make([]byte, 0, len(s))
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if depth > 0 {
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '(' || c == '[':
				depth++
			case c == ')' || c == ']':
				depth--
			}
			continue
		}
		if c == '(' || c == '[' {
			depth = 1
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// appendSnake appends s in snake case: a word starts at an upper-case letter
// that follows a lower-case letter or a digit, and at the last capital of an
// acronym of three or more capitals followed by a lower-case letter
// ("RAMMemory" → ram_memory, "IPAddress" → ip_address, but "IPv4" → ipv4);
// '-', '.', ':', '/', '_' and spaces separate words; anything else (other
// punctuation, non-ASCII) is dropped; separators never repeat, lead or
// trail.
func appendSnake(dst []byte, s string) []byte {
	start := len(dst)
	sep := false
	// p1, p2: the last two letters or digits kept since the last separator,
	// as sent; dropped characters do not break a word apart or join two.
	var p1, p2 byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUpper(c):
			if isLower(p1) || isDigit(p1) ||
				(isUpper(p1) && isUpper(p2) && i+1 < len(s) && isLower(s[i+1])) {
				sep = true
			}
		case isLower(c) || isDigit(c):
		case c == '-' || c == '.' || c == ':' || c == '/' || c == '_' || c == ' ':
			sep = true
			p1, p2 = 0, 0
			continue
		default:
			continue
		}
		if sep && len(dst) > start {
			dst = append(dst, '_')
		}
		sep = false
		p2, p1 = p1, c
		if isUpper(c) {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func indexAny(s, chars string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

func lastIndex(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}
