// Package ftdpb is the generated code of the FTD streaming telemetry
// protocol; grpc_streaming.proto says what was reconstructed and why.
package ftdpb

//go:generate ./generate.sh
