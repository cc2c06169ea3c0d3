#!/usr/bin/env bash
# `epsim calibrate` against a real Prometheus: the workqueue depth of a run at
# a throughput the test chooses (30 writes/s) is backfilled into a TSDB with
# promtool, served by Prometheus on 127.0.0.1, fetched with the same
# /api/v1/query_range call a user would make against production, and
# calibrating the scenario (which says 45 writes/s) against that answer must
# give 30 back. Run by ctest (tests/CMakeLists.txt); needs the Makefile's
# TEST_PACKAGES (prometheus, curl). If Prometheus cannot start, the test
# fails: it never skips.
# Usage: calibrate_from_prometheus_test.sh EPSIM SCENARIO
set -euo pipefail
EPSIM=$1
SCENARIO=$(realpath "$2")
PORT=${EPSIM_TEST_PROMETHEUS_PORT:-19090}
EPOCH=1600000000   # 2020-09-13: the run's t=0 on Prometheus' clock
STEP=15            # seconds, Prometheus' default scrape interval
WORK=$(mktemp -d "${TMPDIR:-/tmp}/epsim_prometheus_XXXXXX")
PROMETHEUS_PID=
cleanup() {
  if [ -n "$PROMETHEUS_PID" ]; then
    kill "$PROMETHEUS_PID" 2>/dev/null || true
    wait "$PROMETHEUS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
for tool in prometheus promtool curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (make deps-test installs it)"; exit 1; }
done

# 1. The "cluster": the scenario at 30 writes/s with the controller out of the way.
FLAGS=(--kube-api-qps 100 --concurrent-endpoint-syncs 30)
"$EPSIM" run "$SCENARIO" "${FLAGS[@]}" --set 'clusters[*].apiServer.mutatingThroughput=30' --out "$WORK/run" >/dev/null

# 2. Its workqueue depth as OpenMetrics, one sample every STEP seconds as a
#    scrape would take it, backfilled into a TSDB.
awk -F, -v epoch="$EPOCH" -v step="$STEP" '
  NR == 1 { for (i = 1; i <= NF; i++) if ($i == "idc/workqueue_depth") col = i
            if (!col) { print "no idc/workqueue_depth column" > "/dev/stderr"; exit 1 }
            print "# TYPE workqueue_depth gauge"; next }
  $1 % step == 0 { printf "workqueue_depth{name=\"endpoint\",job=\"kube-controller-manager\"} %s %d\n", $col, epoch + $1 }
  END { print "# EOF" }' "$WORK/run/timeseries.csv" >"$WORK/depth.om"
promtool tsdb create-blocks-from openmetrics "$WORK/depth.om" "$WORK/tsdb" >/dev/null

# 3. A real Prometheus over those blocks (no scrapes; a retention that keeps 2020).
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PORT" >"$WORK/prometheus.log" 2>&1 &
PROMETHEUS_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1 && break
  kill -0 "$PROMETHEUS_PID" 2>/dev/null || { echo "FAIL: Prometheus exited"; cat "$WORK/prometheus.log"; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/-/ready" >/dev/null || { echo "FAIL: Prometheus not ready"; cat "$WORK/prometheus.log"; exit 1; }

# 4. What a user runs against production: a range query over one storm.
END=$((EPOCH + 4500))
curl -fsG "http://127.0.0.1:$PORT/api/v1/query_range" \
  --data-urlencode 'query=workqueue_depth{name="endpoint"}' \
  --data-urlencode "start=$EPOCH" --data-urlencode "end=$END" --data-urlencode "step=$STEP" >"$WORK/depth.json"
grep -q '"resultType":"matrix"' "$WORK/depth.json" || { echo "FAIL: no matrix from Prometheus"; head -c 400 "$WORK/depth.json"; exit 1; }

# 5. Calibrate the scenario (45 writes/s) against it.
cat >"$WORK/observed.yaml" <<EOF
observations:
  - name: storm-from-prometheus
    flags: {kube-api-qps: 100, concurrent-endpoint-syncs: 30}
    workqueueDepth: {file: depth.json, sigma: 20}
EOF
"$EPSIM" calibrate "$SCENARIO" --observed "$WORK/observed.yaml" --fit 'apiServer.mutatingThroughput=5..500' \
  --format json >"$WORK/fit.json"
fitted=$(grep -o '"fitted": [0-9.e+-]*' "$WORK/fit.json" | head -1 | awk '{print $2}')
samples=$(grep -o '"samples": [0-9]*' "$WORK/fit.json" | awk '{print $2}')
echo "fitted mutatingThroughput $fitted from $samples Prometheus samples"
awk -v f="$fitted" 'BEGIN { exit !(f > 29.1 && f < 30.9) }' || { echo "FAIL: expected 30 +- 3%"; cat "$WORK/fit.json"; exit 1; }
[ "$samples" -ge 250 ] || { echo "FAIL: $samples samples, expected one per 15 s over 75 min"; exit 1; }
echo "PASS: calibrate recovered the throughput from a real Prometheus' range query"
