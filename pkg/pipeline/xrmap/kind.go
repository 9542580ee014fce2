package xrmap

import (
	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/model"
)

// counterWords mark a leaf whose integer value only grows: any word of the
// snake name of the leaf's last element (split on '_') in this list makes it a counter, unless a
// word of gaugeWords is there too. Routers do not say which leaves are
// counters, so this is a guess from the names IOS XR and OpenConfig use
// (bytes-received, in-octets, input-drops, crc-errors, carrier-transitions,
// packets-sent, ...); the editor lets the user ask for a rate of any leaf.
var counterWords = map[string]bool{
	"packets": true, "pkts": true, "bytes": true, "octets": true,
	"errors": true, "errs": true, "drops": true, "dropped": true, "discards": true,
	"count": true, "total": true, "received": true, "sent": true,
	"transitions": true, "resets": true, "collisions": true, "overruns": true,
	"underruns": true, "aborts": true, "giants": true, "runts": true,
	"throttles": true, "frames": true, "retransmits": true, "flaps": true,
	"accepted": true, "rejected": true, "messages": true, "updates": true,
	"notifications": true, "keepalives": true, "counter": true,
	"failures": true, "timeouts": true, "retries": true, "hits": true, "misses": true,
}

// gaugeWords mark leaves that a counter word would otherwise misclassify:
// rates and utilisation (input-data-rate, total-cpu-one-minute), sizes and
// limits (max-bytes), times and levels, table sizes.
var gaugeWords = map[string]bool{
	"rate": true, "rates": true, "utilization": true, "util": true, "percent": true,
	"percentage": true, "average": true, "avg": true, "load": true, "peak": true,
	"max": true, "maximum": true, "min": true, "minimum": true, "threshold": true,
	"limit": true, "size": true, "speed": true, "bandwidth": true, "capacity": true,
	"last": true, "time": true, "timestamp": true, "cpu": true, "minute": true,
	"minutes": true, "memory": true, "temperature": true, "voltage": true,
	"power": true, "current": true, "level": true,
	"index": true, "id": true, "ifindex": true,
	// Table sizes: BGP's prefixes-accepted, RIB route and path counts go
	// up and down with the table, whatever "accepted" says.
	"prefixes": true, "prefix": true, "routes": true, "paths": true,
}

// classify returns the kind of a numeric leaf of that type and name: Counter
// for an integer whose name has a counter word and no gauge word, else
// Gauge (floats and booleans always).
func classify(k xr.Kind, leaf string) model.Kind {
	if k != xr.LeafUint && k != xr.LeafInt {
		return model.KindGauge
	}
	// Only the leaf's own element counts: containers above it
	// (interface/state/counters/...) say nothing about its kind.
	if i := lastIndex(leaf, '/'); i >= 0 {
		leaf = leaf[i+1:]
	}
	var buf [128]byte
	s := appendSnake(buf[:0], leaf)
	counter := false
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '_' {
			i++
		}
		w := s[:i]
		if gaugeWords[string(w)] {
			return model.KindGauge
		}
		counter = counter || counterWords[string(w)]
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	if counter {
		return model.KindCounter
	}
	return model.KindGauge
}

func numeric(k xr.Kind) bool { return k <= xr.LeafBool }
