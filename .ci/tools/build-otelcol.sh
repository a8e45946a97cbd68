#!/usr/bin/env bash
# Builds rq-obs' OpenTelemetry Collector distribution (otelcol-rq-obs) from the committed OCB manifest
# collector/builder-config.yaml (written by `rq-obs build`: exactly the components collector/otelcol.yaml
# uses, at one collector release) with the builder module its header names, into
# ${RQ_OBS_TOOLS:-$HOME/.cache/rq-obs/tools}/bin/otelcol-rq-obs. A binary built from the same manifest is
# reused; otherwise (fresh machine, changed manifest) it is built. `rq-obs stack collector` does the same.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
manifest="$repo/collector/builder-config.yaml"
tools="${RQ_OBS_TOOLS:-$HOME/.cache/rq-obs/tools}"
bin="$tools/bin/otelcol-rq-obs"
stamp="$tools/bin/.otelcol-rq-obs.manifest-sha256"
mkdir -p "$tools/bin"
sum="$(sha256sum "$manifest" | cut -d' ' -f1)"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
  echo "otelcol-rq-obs: reusing $bin (built from this manifest)" >&2
  exit 0
fi
command -v go >/dev/null || { echo "build-otelcol.sh: needs Go (https://go.dev/doc/install) and the Go module proxy" >&2; exit 2; }
builder="$(sed -n 's/^# builder: //p' "$manifest")"
[ -n "$builder" ] || { echo "build-otelcol.sh: $manifest names no '# builder: MODULE@VERSION'" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s#^  output_path: .*#  output_path: $work/dist#" "$manifest" > "$work/builder-config.yaml"
start=$(date +%s)
(cd "$work" && CGO_ENABLED=0 go run "$builder" --config builder-config.yaml)
cp "$work/dist/otelcol-rq-obs" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$sum" > "$stamp"
echo "otelcol-rq-obs: built $bin in $(( $(date +%s) - start ))s" >&2
