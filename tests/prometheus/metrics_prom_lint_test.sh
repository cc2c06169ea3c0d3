#!/usr/bin/env bash
# metrics.prom parses with `promtool check metrics`, and its only findings are
# the `_total` lint on counters whose upstream names lack it: the names
# docs/grafana.md lists (upstream's own /metrics endpoints give the same
# findings). Runs every shipped scenario, since each exposes other families
# (mirroring, several clusters, legacy reloads). Every series also carries a
# `cluster` label, so the queues of several clusters never share one.
# Usage: metrics_prom_lint_test.sh EPSIM SCENARIO_DIR DOCS_GRAFANA_MD
set -euo pipefail
EPSIM=$1
SCENARIOS=$2
DOC=$3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/epsim_metrics_lint_XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v promtool >/dev/null || fail "promtool is not installed (make deps-test installs prometheus)"

# The documented names: the lines "- `NAME`" under the doc's lint heading.
allowed=$(awk '/^## promtool check metrics/ { on = 1; next } /^## / { on = 0 } on && /^- `/ { gsub(/^- `|`.*$/, ""); print }' "$DOC")
[ -n "$allowed" ] || fail "$DOC lists no _total lint names under '## promtool check metrics'"
seen=
for scenario in "$SCENARIOS"/*.yaml; do
  rm -rf "$WORK/out"
  "$EPSIM" run "$scenario" --duration 30m --out "$WORK/out" >/dev/null
  if grep -v '^#' "$WORK/out/metrics.prom" | grep -v 'cluster="' >"$WORK/unlabelled"; then
    head -3 "$WORK/unlabelled"
    fail "$scenario: series without a cluster label"
  fi
  status=0
  promtool check metrics <"$WORK/out/metrics.prom" >"$WORK/findings" 2>&1 || status=$?
  # 0: clean; 3: lint findings only (a parse error is 1).
  [ "$status" -eq 0 ] || [ "$status" -eq 3 ] || { cat "$WORK/findings"; fail "$scenario: promtool exit $status"; }
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    name=${line%% counter metrics should have \"_total\" suffix}
    [ "$name" != "$line" ] || fail "$scenario: a finding other than the _total lint: $line"
    grep -qx "$name" <<<"$allowed" || fail "$scenario: $name is not in $DOC's list"
    seen="$seen $name"
  done <"$WORK/findings"
done
for name in $allowed; do
  grep -qw "$name" <<<"$seen" || fail "$DOC lists $name, but no scenario's metrics.prom has that finding"
done
echo "PASS: metrics.prom parses; only the documented _total lint findings:$(tr ' ' '\n' <<<"$seen" | sort -u | tr '\n' ' ')"
