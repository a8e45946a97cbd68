#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger, Apache-2.0) from the Go module proxy
# into ${RQ_OBS_TOOLS:-$HOME/.cache/rq-obs/tools}/bin/jaeger. A binary already there at this version
# is reused; on a fresh machine it is built (about 10 minutes on 2 cores, cold module cache).
set -euo pipefail
VERSION="${RQ_OBS_JAEGER_VERSION:-v1.75.0}"
tools="${RQ_OBS_TOOLS:-$HOME/.cache/rq-obs/tools}"
bin="$tools/bin/jaeger"
stamp="$tools/bin/.jaeger.version"
mkdir -p "$tools/bin"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$VERSION" ]; then
  echo "jaeger $VERSION: reusing $bin" >&2
  exit 0
fi
command -v go >/dev/null || { echo "build-jaeger.sh: needs Go (https://go.dev/doc/install) and the Go module proxy" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init rq-obs/jaeger-build >/dev/null 2>&1
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION"
start=$(date +%s)
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
mv "$bin.tmp" "$bin"
echo "$VERSION" > "$stamp"
echo "jaeger $VERSION: built $bin in $(( $(date +%s) - start ))s" >&2
