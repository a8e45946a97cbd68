#!/bin/sh
# Regenerate tests/data/grafana-dashboard.schema.json from Grafana's own TypeScript types.
#
# The tests use the committed schema (CI must not depend on npm); run this by hand when moving to a newer
# @grafana/schema, then review the diff and update tests/data/GRAFANA_SCHEMA_SOURCE.md.
#
#   sh tests/helpers/grafana_schema.sh [WORKDIR]
#
# Needs node and npm (the npm registry is the only network access). Versions are pinned exactly.
set -eu

GRAFANA_SCHEMA_VERSION=13.2.3
GENERATOR_VERSION=2.4.0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-$(mktemp -d)}
OUT="$ROOT/tests/data/grafana-dashboard.schema.json"

mkdir -p "$WORK" && cd "$WORK"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact \
  "@grafana/schema@$GRAFANA_SCHEMA_VERSION" "ts-json-schema-generator@$GENERATOR_VERSION" >/dev/null

# The classic (v0) dashboard JSON, as the generated "raw" types describe it. --additional-properties keeps
# objects open (real exports and grafanalib carry keys the TS types do not list) while every known field is
# still type-checked and every required field enforced.
npx ts-json-schema-generator \
  --path node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts \
  --type Dashboard --additional-properties --out raw.json

# Re-write deterministically (sorted keys, 2-space indent, trailing newline) so the diff shows only real changes.
python3 -c 'import json,sys; d=json.load(open("raw.json")); open(sys.argv[1],"w").write(json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False)+"\n")' "$OUT"
echo "wrote $OUT from @grafana/schema@$GRAFANA_SCHEMA_VERSION (ts-json-schema-generator@$GENERATOR_VERSION)"
