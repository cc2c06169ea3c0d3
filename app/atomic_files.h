// Writes a set of report files into a directory all-or-nothing (README.md,
// Reliability). Every file first goes to a hidden temp file in the directory
// and is flushed; then, with SIGINT/SIGTERM held back, each earlier file of
// the same name is kept under a hidden backup (a hard link: the name itself
// is replaced by one atomic rename) and the temp renamed over it. When any
// step fails, the temps are removed and the backups renamed back: the
// directory holds exactly what it held before, an earlier run's files
// included, and InputError is thrown with one message. SIGINT or
// SIGTERM while the temps are written removes them before the process dies;
// temps and backups a killed run left are removed at the next write.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace epsim::app {

struct OutputFile {
  std::string name;     // a plain file name inside the directory
  std::string content;
};

// Fails early (InputError) when `dir` cannot become an output directory: an
// existing ancestor of it is a regular file, or it is not writable. Creates
// nothing, so a run that fails later leaves no trace.
void check_output_dir(const std::string& dir);

// check_output_dir(), and an existing `dir` must be empty (hidden files
// aside) or hold earlier epsim output (a name epsim writes: report.json,
// sweep.csv, a shard file, the Slurm logs of an --emit slurm job, ...),
// unless `force`: --out / or a home directory is refused before anything is
// run or written.
void check_output_dir_is_ours(const std::string& dir, bool force);

// Called before files[index] is swapped in, after the earlier ones were: a
// seam for tests to fail the swap half-way (it may throw; the swap is then
// undone as for any other failure). Empty in epsim itself.
using BeforeSwapHook = std::function<void(std::size_t index)>;

// Creates `dir` (and its parents) when missing, then writes `files` atomically.
void write_files_atomically(const std::string& dir, const std::vector<OutputFile>& files,
                            const BeforeSwapHook& before_swap = {});

}  // namespace epsim::app
