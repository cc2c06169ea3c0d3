#!/usr/bin/env bash
# make mutants: targeted mutants of the central behaviours, each of which the
# test suite must kill. Each mutant replaces one line of a scratch copy of the
# tree; the copy is rebuilt incrementally and the suite run (the external
# Slurm/Prometheus tests aside) until its first failure. A mutant the suite
# does not kill is a survivor: it is named and the target fails.
#   MUTANTS_DIR (default build-mutants/) holds the copy and its build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${MUTANTS_DIR:-$root/build-mutants}
jobs=${JOBS:-$(nproc)}
src=$work/src
build=$work/build

# name | file | the line as it is (exactly one line of the file holds it) | what it becomes
mutants=(
  "1.16 serviceLabelMutation masking ignored|models/endpoints_controller.cpp|if (config_.switches.headless_label_compare && !config_.switches.service_label_mutation) {|if (config_.switches.headless_label_compare) {"
  "resync factor from U[1,1.5) instead of U[1,2)|models/controller_manager.cpp|const double factor = resync_rng_.uniform01() + 1.0;|const double factor = resync_rng_.uniform01() * 0.5 + 1.0;"
  "requests in a merged window's gap dropped|models/traffic.cpp|w.requests += gap.requests;|w.requests += 0;"
  "a walk whose tries run out takes the first attempt's status|models/round_robin.cpp|status_[p] = kinds[(p + tries - 1) % n];|status_[p] = kinds[p];"
  "token bucket refills twice as fast|models/token_bucket.cpp|return go_seconds(d) * qps_;|return go_seconds(d) * qps_ * 2;"
  "workqueue adds a dirty key again|models/work_queue.cpp|if (s.dirty_since_ns != kNone) return;|if (false) return;"
  "no-op elision ignores notReadyAddresses|models/endpoints_controller.cpp|addresses_equal(current->not_ready_addresses(), desired.not_ready_addresses(), compare_rv);|true;"
  "rate limiter backoff doubled|models/rate_limiter.cpp|const double backoff = std::ldexp(static_cast<double>(config_.base.ns()), exp);|const double backoff = std::ldexp(static_cast<double>(config_.base.ns()), exp + 1);"
  "blackholed peers give 502 and refused ones 504|models/traffic.cpp|return it->second == DeadIpBehavior::blackhole ? 1 : 2;|return it->second == DeadIpBehavior::blackhole ? 2 : 1;"
  "windows exactly 1 s apart merge|models/traffic.cpp|constexpr sim::Duration kMergeGap = sim::Duration::nanoseconds(1'000'000'000);|constexpr sim::Duration kMergeGap = sim::Duration::nanoseconds(1'000'000'001);"
  "a retried timeout never comes back|models/round_robin.cpp|out[t - d - 1] += m;|finals.f504 += m;"
)

echo "mutants: copying the tree to $src"
rm -rf "$src" && mkdir -p "$src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src")
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEPSIM_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "mutants: the unmutated tree does not build"; exit 2; }
run_suite() { (cd "$build" && ctest -j "$jobs" --stop-on-failure -E '^(distributed|prometheus)/' >"$work/ctest.log" 2>&1); }
run_suite || { tail -20 "$work/ctest.log"; echo "mutants: the unmutated suite fails"; exit 2; }

survivors=()
for m in "${mutants[@]}"; do
  IFS='|' read -r name file before after <<<"$m"
  count=$(grep -cF -- "$before" "$src/$file" || true)
  if [ "$count" != 1 ]; then
    echo "mutants: \"$name\": $file holds the line $count times, not once: update tools/mutants.sh"
    exit 2
  fi
  cp "$src/$file" "$work/original"
  BEFORE=$before AFTER=$after perl -0pi -e 's/\Q$ENV{BEFORE}\E/$ENV{AFTER}/' "$src/$file"
  start=$SECONDS
  if ! cmake --build "$build" -j "$jobs" >"$work/build.log" 2>&1; then
    verdict="killed (does not compile)"
  elif run_suite; then
    verdict="SURVIVED"
    survivors+=("$name")
  else
    verdict="killed by $(grep -m1 -oE '[0-9]+ - [^ ]+.*\(Failed\)' "$work/ctest.log" | sed 's/ (Failed)//' || echo 'the suite')"
  fi
  cp "$work/original" "$src/$file"
  echo "mutant: $name: $verdict ($((SECONDS - start)) s)"
done
if [ ${#survivors[@]} -gt 0 ]; then
  printf 'mutants: %d survived:\n' "${#survivors[@]}"
  printf '  %s\n' "${survivors[@]}"
  exit 1
fi
echo "mutants: all ${#mutants[@]} killed"
