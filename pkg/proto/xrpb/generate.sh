#!/usr/bin/env bash
# Regenerates the Go code for telemetry.proto. The code generator is the
# version pinned as a tool in go.mod, so the output depends only on the
# repository and on protoc (Debian's protobuf-compiler); the check in
# generate_test.go fails when the committed code is stale.
set -euo pipefail
cd "$(dirname "$0")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
out=${1:-.}
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --go_out="$out" --go_opt=paths=source_relative \
  telemetry.proto
