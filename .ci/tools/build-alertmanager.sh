#!/usr/bin/env bash
# Alertmanager and amtool 0.28.1 from their Go module: the version the compose stack runs
# (prom/alertmanager:v0.28.1), the first with the Microsoft Teams Workflows receiver (msteamsv2_configs);
# `rq-obs validate` prefers this amtool. Debian's 0.25 stays for the other tests. Built once into
# $RQ_OBS_TOOLS/bin; reused while both binaries report this version.
set -euo pipefail
VERSION=0.28.1
bin="$RQ_OBS_TOOLS/bin/alertmanager"
amtool="$RQ_OBS_TOOLS/bin/amtool"
if [ -x "$bin" ] && "$bin" --version 2>&1 | grep -q "version $VERSION " \
   && [ -x "$amtool" ] && "$amtool" --version 2>&1 | grep -q "version $VERSION "; then
  exit 0
fi
GOBIN="$RQ_OBS_TOOLS/bin" CGO_ENABLED=0 go install -trimpath \
  -ldflags="-s -w -X github.com/prometheus/common/version.Version=$VERSION" \
  "github.com/prometheus/alertmanager/cmd/alertmanager@v$VERSION" \
  "github.com/prometheus/alertmanager/cmd/amtool@v$VERSION"
"$bin" --version 2>&1 | head -1
