// Writes a set of report files into a directory all-or-nothing (README.md,
// Reliability): each file goes to a temp file in the same directory, is flushed and
// then renamed over its final name. When any step fails, every temp file and
// every file this call already renamed are removed, and InputError is thrown
// with one message; a failed run leaves no half-written report.
#pragma once

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

// Creates `dir` (and its parents) when missing, then writes `files` atomically.
void write_files_atomically(const std::string& dir, const std::vector<OutputFile>& files);

}  // namespace epsim::app
