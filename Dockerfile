# syntax=docker/dockerfile:1

# Netlens images, built from this repository alone:
#   grafana    (default, last stage): Grafana with the Netlens app plugin, its
#              nested data source and the collector backend installed.
#   simulator: netlens-sim, which makes demo certificates and plays FTD devices.
#
#   docker build -t netlens .                              Grafana image
#   docker build --target simulator -t netlens-sim .        simulator image
#   docker buildx build --platform linux/arm64 ...          another platform
#
# Only the base images and the package registries (npm, Go module proxy) are
# used: nothing else is downloaded.

# Node follows .nvmrc, Go follows go.mod, Grafana follows the @grafana/*
# packages the frontend is built against (package.json); override with
# --build-arg, e.g. GRAFANA_VERSION=13.2.3.
ARG NODE_VERSION=20
ARG GO_VERSION=1.26
ARG GRAFANA_VERSION=12.4.2

# Frontend: webpack output is the same on every platform, so it is built on
# the build machine's own platform even when the image is for another one.
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Backend and simulator: Go cross-compiles (CGO off), so this stage also runs
# on the build platform and targets the image's platform.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS backend
ARG TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY Magefile.go mage.go package.json ./
COPY src/ src/
COPY pkg/ pkg/
COPY cmd/ cmd/
# The stock mage targets name the architecture; pick the one of the image
# (TARGETARCH is set by BuildKit; the Go default covers the classic builder).
RUN arch="${TARGETARCH:-$(go env GOARCH)}"; \
    case "$arch" in \
      amd64) target=build:linux ;; \
      arm64) target=build:linuxARM64 ;; \
      arm) target=build:linuxARM ;; \
      *) echo "no Grafana backend build for linux/$arch" >&2; exit 1 ;; \
    esac; \
    go run mage.go -v "$target" && \
    GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "-s -w" -o /out/netlens-sim ./cmd/netlens-sim

FROM alpine:3.22 AS simulator
COPY --from=backend /out/netlens-sim /usr/local/bin/netlens-sim
# Same uid as Grafana's user (472, group 0): the certificates the simulator
# writes, private keys included, must be readable by the collector in the
# Grafana container. The empty /certs owned by that uid is what a fresh named
# volume mounted there starts from, so the simulator can write into it.
RUN mkdir -p /certs && chown 472:0 /certs
USER 472:0
WORKDIR /certs
ENTRYPOINT ["netlens-sim"]
CMD ["-h"]

FROM grafana/grafana:${GRAFANA_VERSION} AS grafana
# The plugin is not signed: allow exactly its two ids. Preinstalled catalogue
# plugins are switched off so the demo starts without reaching grafana.com.
ENV GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=netlens-telemetry-app,netlens-telemetry-datasource \
    GF_PLUGINS_PREINSTALL_DISABLED=true
# dist/ of the frontend (app, nested datasource/, dashboards/) and of mage
# (datasource/gpx_netlens_linux_<arch>, go_plugin_build_manifest) merge into
# one plugin directory, laid out as Grafana expects a nested data source.
COPY --from=frontend /src/dist/ /var/lib/grafana/plugins/netlens-telemetry-app/
COPY --from=backend /src/dist/ /var/lib/grafana/plugins/netlens-telemetry-app/
COPY docker/grafana.ini /etc/grafana/grafana.ini
COPY provisioning/ /etc/grafana/provisioning/
USER root
# data_dir must exist and belong to Grafana's user before a named volume is
# mounted on it, so the volume starts out writable.
RUN mkdir -p /var/lib/grafana/netlens /etc/netlens/certs && \
    chown 472:0 /var/lib/grafana/netlens && \
    chmod 0750 /var/lib/grafana/netlens
USER 472:0
# 3000: Grafana. 50051: FTD devices dialling out to the collector (gRPC, mTLS).
EXPOSE 3000 50051
