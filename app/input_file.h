// Reading a user's input file (scenario, include, observations, sweep shard)
// without trusting what the path names: only regular files (or "-" for the
// standard input, read once per process), at most kMaxInputFileBytes, so a
// device (/dev/zero, /dev/urandom), a FIFO or a huge file is one clear error
// instead of a hang or gigabytes of memory (docs/scenario.md, "Input files").
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace epsim::app {

inline constexpr std::size_t kMaxInputFileBytes = std::size_t{64} << 20;  // 64 MiB

// The whole content of `path`, or nullopt with `reason` set ("no such file or
// directory", "is a FIFO, not a regular file", "is larger than 64 MiB", ...).
// "-" reads the standard input (the same text on every later call).
std::optional<std::string> read_input_file(const std::string& path, std::string& reason);

}  // namespace epsim::app
