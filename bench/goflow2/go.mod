module github.com/netlens/netlens/bench/goflow2

go 1.26.7

replace github.com/netlens/netlens => ../..

require (
	github.com/netlens/netlens v0.0.0-00010101000000-000000000000
	github.com/netsampler/goflow2/v2 v2.2.6
)
