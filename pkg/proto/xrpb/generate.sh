#!/usr/bin/env bash
# Regenerates the Go code for telemetry.proto and mdt_grpc_dialout.proto
# (messages, and the gRPC stubs of the dial-out service). The code generators
# are the versions pinned as tools in go.mod, so the output depends only on
# the repository and on protoc (Debian's protobuf-compiler); the check in
# generate_test.go fails when the committed code is stale.
set -euo pipefail
cd "$(dirname "$0")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
out=${1:-.}
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --go_out="$out" --go_opt=paths=source_relative \
  telemetry.proto
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  mdt_grpc_dialout.proto
