#!/usr/bin/env bash
# metrics.om through a real Prometheus: a short incident (one resync storm,
# pinned to 20m, in a 35m run) is backfilled with
# `promtool tsdb create-blocks-from openmetrics` exactly as docs/grafana.md
# shows, served by Prometheus on 127.0.0.1 (a free port), and queried over
# its HTTP API. The PromQL answers must give back report.json's 504 total
# (within 1%, both from the counters' last values and from increase()), its
# request total (exactly: the counters end at the report's totals) and the
# workqueue depth: the maximum of the 15 s scrapes equals timeseries.csv's
# maximum at those instants, and lies within what the client bucket can
# drain in one scrape interval (burst + qps × 15 s) below the report's
# max_queue_depth. Needs the Makefile's TEST_PACKAGES (prometheus, curl); if
# Prometheus cannot start, the test fails: it never skips.
# Usage: metrics_om_backfill_test.sh EPSIM
set -euo pipefail
EPSIM=$1
EPOCH=1609459200   # the default --epoch, 2021-01-01T00:00:00Z
DURATION_S=2100    # --duration 35m
WORK=$(mktemp -d "${TMPDIR:-/tmp}/epsim_metrics_om_XXXXXX")
PROMETHEUS_PID=
cleanup() {
  if [ -n "$PROMETHEUS_PID" ]; then
    kill "$PROMETHEUS_PID" 2>/dev/null || true
    wait "$PROMETHEUS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
for tool in prometheus promtool curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (make deps-test installs it)"
done

# 1. The short incident and its metrics.om, backfilled.
"$EPSIM" run --resync-period 20m --duration 35m --out "$WORK/run" >/dev/null
tail -1 "$WORK/run/metrics.om" | grep -qx '# EOF' || fail "metrics.om does not end in # EOF"
promtool tsdb create-blocks-from openmetrics "$WORK/run/metrics.om" "$WORK/tsdb" >"$WORK/backfill.log" \
  || { cat "$WORK/backfill.log"; fail "promtool could not backfill metrics.om"; }

# 2. Prometheus over those blocks on a free port (no scrapes).
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$WORK/prometheus.yml"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for candidate in $(seq 19190 19290); do
  port_free "$candidate" || continue
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$candidate" >"$WORK/prometheus.log" 2>&1 &
  PROMETHEUS_PID=$!
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$candidate/-/ready" >/dev/null 2>&1 && { PORT=$candidate; break; }
    kill -0 "$PROMETHEUS_PID" 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$PORT" ] && break
  kill "$PROMETHEUS_PID" 2>/dev/null || true
  wait "$PROMETHEUS_PID" 2>/dev/null || true
  PROMETHEUS_PID=
  grep -q "address already in use" "$WORK/prometheus.log" || { cat "$WORK/prometheus.log"; fail "Prometheus did not start"; }
done
[ -n "$PORT" ] || fail "no free port for Prometheus in 19190-19290"

# 3. Instant queries at the end of the run, as a user would ask them.
END=$((EPOCH + DURATION_S))
query() {
  curl -fsG "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$END" \
    >"$WORK/answer.json" || fail "query $1"
  grep -q '"resultType":"vector"' "$WORK/answer.json" || fail "no vector for $1: $(head -c 300 "$WORK/answer.json")"
  grep -o '"value":\[[^]]*\]' "$WORK/answer.json" | head -1 | sed 's/.*,"\(.*\)"\]/\1/'
}
promql_504=$(query 'sum(max_over_time(nginx_ingress_controller_requests{status="504"}[1h]))')
promql_increase=$(query 'sum(increase(nginx_ingress_controller_requests{status="504"}[35m]))')
promql_requests=$(query 'sum(max_over_time(nginx_ingress_controller_requests[1h]))')
promql_depth=$(query 'max(max_over_time(workqueue_depth{cluster="idc",name="endpoint"}[1h]))')
[ -n "$promql_504" ] && [ -n "$promql_depth" ] || fail "empty answers: 504 '$promql_504', depth '$promql_depth'"

# 4. What the run itself says.
report_504=$(grep -o '"requests_504": [0-9]*' "$WORK/run/report.json" | tail -1 | awk '{print $2}')
report_requests=$(grep -o '"requests_total": [0-9]*' "$WORK/run/report.json" | tail -1 | awk '{print $2}')
report_depth=$(grep -o '"max_queue_depth": [0-9]*' "$WORK/run/report.json" | awk '{print $2}' | sort -n | tail -1)
csv_depth=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "idc/workqueue_depth") col = i; next }
                     $1 % 15 == 0 && $col > m { m = $col } END { print m + 0 }' "$WORK/run/timeseries.csv")
echo "504s: PromQL $promql_504 (increase: $promql_increase), report $report_504;" \
     "requests: PromQL $promql_requests, report $report_requests; max depth: PromQL $promql_depth, scrape instants of" \
     "timeseries.csv $csv_depth, report $report_depth"
[ "${report_504:-0}" -gt 1000 ] || fail "the short incident should fail requests (report: ${report_504:-none})"
awk -v p="$promql_504" -v r="$report_504" 'BEGIN { d = p - r; if (d < 0) d = -d; exit !(d <= 0.01 * r) }' \
  || fail "PromQL's 504 total $promql_504 is not within 1% of the report's $report_504"
# What a dashboard asks (increase() extrapolates; the series start at 0 one scrape early, so it does not drift).
awk -v p="$promql_increase" -v r="$report_504" 'BEGIN { d = p - r; if (d < 0) d = -d; exit !(d <= 0.01 * r) }' \
  || fail "PromQL's increase() of the 504s $promql_increase is not within 1% of the report's $report_504"
# Every request, each status summed: the counters' last values are the report's total.
awk -v p="$promql_requests" -v r="$report_requests" 'BEGIN { exit !(p == r) }' \
  || fail "PromQL's request total $promql_requests differs from the report's $report_requests"
awk -v p="$promql_depth" -v c="$csv_depth" 'BEGIN { exit !(p == c) }' \
  || fail "PromQL's max depth $promql_depth differs from timeseries.csv's $csv_depth at the scrape instants"
# Within one scrape interval of the peak the bucket lets out at most burst + qps × 15 s = 30 + 300 keys.
awk -v p="$promql_depth" -v r="$report_depth" 'BEGIN { exit !(p <= r && p >= r - 330) }' \
  || fail "PromQL's max depth $promql_depth is not within 330 below the report's $report_depth"
echo "PASS: metrics.om backfilled; Prometheus gives back the report's 504s and workqueue depth"
