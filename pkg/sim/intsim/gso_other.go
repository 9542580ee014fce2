//go:build !linux

package intsim

const gsoAvailable = false

var gsoCmsgLen = 0

func putGSO(b []byte, size int) []byte { return nil }
