#!/usr/bin/env bash
# kube-proxy's kubeproxy_network_programming_duration_seconds (docs/model.md
# §14) in a run of scenarios/kube-proxy.yaml: metrics.prom has the histogram
# for the business cluster with upstream's 81 bounds (kubernetes v1.17.3
# pkg/proxy/metrics/metrics.go: 0, 0.25, 0.5, 1..59, 60..115 by 5, 120..300
# by 30) and observations (the background deploys change Endpoints); its
# buckets are cumulative and +Inf is the count; `promtool check metrics`
# reports nothing about it; metrics.om carries it too.
# Usage: kube_proxy_metric_test.sh EPSIM SCENARIO_DIR
set -euo pipefail
EPSIM=$1
SCENARIOS=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/epsim_kube_proxy_metric_XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v promtool >/dev/null || fail "promtool is not installed (make deps-test installs prometheus)"
NAME=kubeproxy_network_programming_duration_seconds

"$EPSIM" run "$SCENARIOS/kube-proxy.yaml" --duration 1h --out "$WORK/out" >/dev/null
PROM=$WORK/out/metrics.prom
grep -qx "# TYPE $NAME histogram" "$PROM" || fail "metrics.prom has no histogram $NAME"
grep -qx "# HELP $NAME In Cluster Network Programming Latency in seconds" "$PROM" || fail "$NAME: not upstream's help text"

# The bounds, in order, then +Inf.
bounds=$(grep "^${NAME}_bucket{" "$PROM" | grep 'cluster="idc"' | sed 's/.*le="\([^"]*\)".*/\1/' | tr '\n' ' ')
expected="0 0.25 0.5 $(seq -s ' ' 1 59) $(seq -s ' ' 60 5 115) $(seq -s ' ' 120 30 300) +Inf "
[ "$bounds" = "$expected" ] || fail "bounds: got '$bounds', want '$expected'"

counts=$(grep "^${NAME}_bucket{" "$PROM" | grep 'cluster="idc"' | awk '{ print $2 }')
count=$(grep "^${NAME}_count{" "$PROM" | grep 'cluster="idc"' | awk '{ print $2 }')
[ -n "$count" ] || fail "no ${NAME}_count for cluster idc"
awk -v c="$count" 'BEGIN { if (!(c > 0)) exit 1 }' || fail "$NAME count is $count, want > 0"
awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $1; last = $1 } END { exit bad }' <<<"$counts" ||
  fail "$NAME buckets are not cumulative"
[ "$(tail -1 <<<"$counts")" = "$count" ] || fail "$NAME +Inf bucket is not the count"
# No Service is both deployed and programmed within 0 s: le="0" is empty.
[ "$(head -1 <<<"$counts")" = "0" ] || fail "$NAME le=\"0\" is not 0"

status=0
promtool check metrics <"$PROM" >"$WORK/findings" 2>&1 || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 3 ] || { cat "$WORK/findings"; fail "promtool exit $status"; }
if grep -q "kubeproxy" "$WORK/findings"; then
  grep "kubeproxy" "$WORK/findings"
  fail "promtool reports findings for $NAME"
fi

grep -qx "# TYPE $NAME histogram" "$WORK/out/metrics.om" || fail "metrics.om does not carry $NAME"
echo "PASS: $NAME count $count, upstream's bounds, no promtool findings, in metrics.om too"
