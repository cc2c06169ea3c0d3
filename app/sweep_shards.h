// Splitting a sweep across machines with the engines users already run:
// `--shard K/N` runs the points of shard K (points dealt round robin:
// point p belongs to shard p mod N + 1) and writes shard-K-of-N.json; `epsim
// sweep merge` checks that a set of shards is one whole sweep and renders
// exactly what the unsharded sweep renders. `--emit` prints a Slurm array job
// or a Kubernetes Indexed Job that runs the shards. docs/distributed.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "app/sweep_output.h"

namespace epsim::app {

struct ShardSpec {
  std::size_t index = 1;  // K, 1-based
  std::size_t count = 1;  // N
};

// "K/N" (1 <= K <= N), or "auto": K and N from SLURM_ARRAY_TASK_ID (0-based,
// as the emitted job's --array=0-(N-1) numbers them) and SLURM_ARRAY_TASK_COUNT,
// or from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based) with N
// from `count_flag` or EPSIM_SHARD_COUNT. Throws InputError.
ShardSpec parse_shard(const std::string& text, std::size_t count_flag);

std::string shard_file_name(const ShardSpec& shard);
// The run indices (point * seeds + replicate) of a shard.
std::vector<std::size_t> shard_runs(const ShardSpec& shard, std::size_t points, int seeds);
std::string shard_json(const nlohmann::ordered_json& identity, const ShardSpec& shard, const std::vector<SweepRun>& runs);

// Reads shard files (directories stand for the shard-*-of-*.json inside
// them) and returns the whole sweep. Throws InputError when they are not
// exactly the N shards of one sweep (different scenario, grid or epsim
// version; a shard missing or given twice).
SweepResult merge_shards(const std::vector<std::string>& paths);

struct EmitOptions {
  std::string kind;                    // "slurm" or "k8s-job"
  std::size_t shards = 0;              // array tasks / completions
  std::string epsim = "epsim";         // the binary the job runs
  std::vector<std::string> sweep_args; // the sweep's arguments (scenario, --vary, ...), without --emit/--out/--shard
  std::string out_dir;                 // where the shards go (shared by the tasks)
  std::string image;                   // k8s-job: container image
  std::string volume;                  // k8s-job: PersistentVolumeClaim mounted at out_dir
};
// A ready job that runs every shard of the sweep and, in its comments, the merge step.
std::string emit_job(const EmitOptions& options);

}  // namespace epsim::app
