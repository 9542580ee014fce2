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
# builds the INT report vectors independently of our decoder. chromium is
# the browser the network path panel's test drives (playwright-core brings
# no browser of its own); the fonts are those its reference screenshots were
# drawn with (Inter as Grafana's UI font, DejaVu and Liberation as the
# fallbacks). Those tests fail, not skip, without them. Installed state is
# asked of dpkg: pmacctd and softflowd live in /usr/sbin, outside a normal
# user's PATH.
deb_pkgs=(protobuf-compiler softflowd pmacct tshark python3-scapy chromium fonts-inter fonts-dejavu-core fonts-liberation)
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

step "Network path panel in Chromium: screenshots against references, live update time"
# Runs before the Go tests, on an otherwise idle machine; its live check
# fails on the median update time, which holds on a loaded one too.
panel_start=$SECONDS
node tests/visual/panel.mjs
echo "panel browser test took $((SECONDS - panel_start)) s"

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
# Fuzzing gets one budget for all targets, split evenly, rather than a fixed
# time each: at 10 s each the 41 targets took about 7 of CI's 15 minutes,
# and every new target made CI longer. 200 s gives 4 to 5 s each for 40 to
# 50 targets (with each target's build and start-up, about 4 min), which
# pays for the panel's browser test and the INT Go tests within ~15 min.
# Targets added later share the same budget, down to 3 s each, under which
# start-up and the seed corpus would be most of the run. These short runs
# check the seed corpora and catch shallow crashes; long fuzzing is a
# deliberate run: NETLENS_FUZZ_SECONDS=3600 ./scripts/test-all.sh.
# -fuzzminimizetime bounds how long each new interesting input is shrunk
# (60 s by default), so a short run stays short.
fuzz_targets=()
for dir in $(grep -rl --include='*_test.go' -E '^func Fuzz' pkg | xargs -n1 dirname | sort -u); do
  for fn in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)' "$dir"/*_test.go | awk '{print $2}'); do
    fuzz_targets+=("$dir $fn")
  done
done
if [ "${#fuzz_targets[@]}" -eq 0 ]; then
  echo "no fuzz targets found under pkg/" >&2
  exit 1
fi
fuzz_budget=${NETLENS_FUZZ_SECONDS:-200}
fuzz_each=$((fuzz_budget / ${#fuzz_targets[@]}))
[ "$fuzz_each" -ge 3 ] || fuzz_each=3
echo "${#fuzz_targets[@]} fuzz targets, ${fuzz_each} s each (budget ${fuzz_budget} s)"
# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" when -fuzztime ends while a worker is mid-call on a
# loaded machine (golang/go#75804, fixed in Go 1.27): nothing is found and
# no failing input is written. Such a run, and only such a run, is run once
# more; a second failure, or any failure with a failing input, a panic or
# another message, fails the script.
fuzz_log=$(mktemp)
trap 'rm -f "$fuzz_log"' EXIT
fuzz_one() {
  go test -run='^$' -fuzz="^$2\$" -fuzztime="${fuzz_each}s" -fuzzminimizetime=10x "./$1" 2>&1 | tee "$fuzz_log"
}
fuzz_deadline_race() {
  grep -q 'context deadline exceeded' "$fuzz_log" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$fuzz_log"
}
fuzz_start=$SECONDS
for target in "${fuzz_targets[@]}"; do
  read -r dir fn <<<"$target"
  if ! fuzz_one "$dir" "$fn"; then
    fuzz_deadline_race || exit 1
    echo "$fn: the fuzz coordinator's deadline race (golang/go#75804), nothing found; running it once more"
    fuzz_one "$dir" "$fn" || exit 1
  fi
done
echo "fuzzing took $((SECONDS - fuzz_start)) s"

echo
echo "All Netlens tests passed."
