// Package xrpb is the generated code of IOS XR model-driven telemetry:
// telemetry.proto (the Telemetry message, used to build test vectors and as
// the baseline of the key-value decoder's benchmark) and
// mdt_grpc_dialout.proto (the gRPCMdtDialout service routers dial out to,
// with its server and client stubs). Each .proto says where it comes from.
package xrpb

//go:generate ./generate.sh
