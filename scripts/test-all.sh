#!/usr/bin/env bash
# Runs every test of Netlens on a fresh machine: it installs what it needs
# (Debian packages, npm packages from the lockfile, Go modules), checks and
# builds the frontend, builds the backend with mage exactly as a release
# does, and runs the Go tests against that binary. CI (.ci/run) calls this
# script and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Debian packages"
# protoc checks that the committed protobuf code (FTD, IOS XR) matches its
# .proto, and the XR simulator's compact GPB rows against its .proto files.
# softflowd, pmacct (pmacctd) and tshark are the independent IPFIX
# exporters and decoder pkg/peers tests the collector against; python3-scapy
# builds the INT report vectors independently of our decoder. Those tests
# fail, not skip, without them. Installed state is asked of dpkg: pmacctd
# and softflowd live in /usr/sbin, outside a normal user's PATH.
deb_pkgs=(protobuf-compiler softflowd pmacct tshark python3-scapy)
missing=()
for p in "${deb_pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = 'install ok installed' ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  # wireshark-common asks whether non-root users may capture packets; the
  # tests only read files, so answer no ahead of time and never prompt.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | $sudo_cmd debconf-set-selections
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
protoc --version

step "Toolchains"
# go.mod names the Go release it needs; an older go fetches it from the Go
# module proxy by itself (GOTOOLCHAIN=auto).
go version
node --version
npm --version

step "Frontend: install, typecheck, lint, unit tests, build"
npm ci --no-audit --no-fund
npm run typecheck
npm run lint
npm run test:ci
npm run build

# Go packages are named explicitly: ./... would wander into node_modules,
# where some npm packages ship Go files of their own.
go_pkgs=(./pkg/... ./cmd/... ./docker/...)

step "Backend: build with mage (zero-install), vet"
go run mage.go -v build:backend
go vet "${go_pkgs[@]}"
binary="$PWD/dist/datasource/gpx_netlens_$(go env GOOS)_$(go env GOARCH)"
test -x "$binary"

step "Backend: tests with the race detector (the e2e package drives the binary built above)"
NETLENS_PLUGIN_BINARY="$binary" go test -race -count=1 -timeout 15m "${go_pkgs[@]}"

step "Decoder comparison module (bench/goflow2): builds, and both decoders find the same records"
(cd bench/goflow2 && go vet ./... && go test -count=1 ./...)

step "Fuzz targets: a short run of each, on top of their seed corpora"
# -fuzzminimizetime bounds how long each new interesting input is shrunk
# (60 s by default), so a 10 s run stays a 10 s run.
for target in $(grep -rl --include='*_test.go' -E '^func Fuzz' pkg | xargs -n1 dirname | sort -u); do
  for fn in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)' "$target"/*_test.go | awk '{print $2}'); do
    go test -run='^$' -fuzz="^${fn}\$" -fuzztime=10s -fuzzminimizetime=10x "./$target"
  done
done

echo
echo "All Netlens tests passed."
