#!/usr/bin/env bash
# A real single-node Slurm cluster (slurm_cluster.sh) runs the array job that
# `epsim sweep --emit slurm` prints; `epsim sweep merge` of its shards must
# equal the unsharded sweep byte for byte. Run by ctest (tests/CMakeLists.txt)
# as root; if Slurm cannot start, the test fails: it never skips.
# Usage: slurm_sweep_test.sh EPSIM SCENARIO
set -euo pipefail
EPSIM=$1
SCENARIO=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/epsim_slurm_XXXXXX")
CLUSTER="$WORK/cluster"
cleanup() {
  bash "$HERE/slurm_cluster.sh" stop "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

GRID=(--vary kube-api-qps=2,5,50,100 --vary concurrent-endpoint-syncs=1,5)

bash "$HERE/slurm_cluster.sh" start "$CLUSTER"
eval "$(bash "$HERE/slurm_cluster.sh" env "$CLUSTER")"

mkdir -p "$WORK/shards"
"$EPSIM" sweep "$SCENARIO" "${GRID[@]}" --emit slurm --shards 3 --out "$WORK/shards" >"$WORK/job.sh"
grep -q '^#SBATCH --array=0-2$' "$WORK/job.sh" || { echo "FAIL: no 3-task array in the emitted job"; cat "$WORK/job.sh"; exit 1; }
job=$(sbatch --parsable --chdir "$WORK" "$WORK/job.sh")
echo "submitted array job $job"
bash "$HERE/slurm_cluster.sh" wait-job "$CLUSTER" "$job" 120

"$EPSIM" sweep merge "$WORK/shards" --format json >"$WORK/merged.json"
"$EPSIM" sweep "$SCENARIO" "${GRID[@]}" --format json >"$WORK/whole.json"
if ! cmp "$WORK/merged.json" "$WORK/whole.json"; then
  echo "FAIL: the merged Slurm shards differ from the unsharded sweep"
  diff "$WORK/merged.json" "$WORK/whole.json" | head -20
  exit 1
fi
shards=$(ls "$WORK/shards"/shard-*-of-3.json | wc -l)
[ "$shards" -eq 3 ] || { echo "FAIL: $shards shard files, expected 3"; exit 1; }
echo "PASS: 3 Slurm array tasks merged to the unsharded sweep"
