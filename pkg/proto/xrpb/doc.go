// Package xrpb is the generated code of IOS XR model-driven telemetry's
// telemetry.proto, used to build test vectors and as the baseline of the
// key-value decoder's benchmark; telemetry.proto says where it comes from.
package xrpb

//go:generate ./generate.sh
