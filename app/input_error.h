// Bad input from the user (scenario, flags, output paths). main() prints the
// message on one line and exits with code 2; nothing else is written.
#pragma once

#include <stdexcept>
#include <string>

namespace epsim::app {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit codes of the epsim CLI (documented in README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitThreshold = 3;  // a --fail-if held

}  // namespace epsim::app
