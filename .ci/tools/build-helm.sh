#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, the `helm` command only) from the Go module proxy into
# ${RQ_OBS_TOOLS:-$HOME/.cache/rq-obs/tools}/bin, unless a build of this version is already there.
# The chart tests run `helm lint` and `helm template` against charts/rq-obs.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
tools="${RQ_OBS_TOOLS:-$HOME/.cache/rq-obs/tools}"
mkdir -p "$tools/bin"
if [ -x "$tools/bin/helm" ] && "$tools/bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  exit 0
fi
start=$(date +%s)
GOBIN="$tools/bin" CGO_ENABLED=0 go install -trimpath \
  -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
echo "helm $HELM_VERSION built in $(( $(date +%s) - start ))s" >&2
