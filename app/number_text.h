// Numbers typed on the command line or in a small input file (--vary ranges,
// --knob and --fit bounds, CSV cells): the whole text must be one finite
// number, unlike std::stod, which stops at the first character it cannot read.
#pragma once

#include <optional>
#include <string>

namespace epsim::app {

// "43.5", "1e3", "-2" -> the number; "", "12x", "nan", "inf" -> nullopt.
std::optional<double> parse_finite_number(const std::string& text);

// Digits with an optional sign: "120", "-3"; not "1.0", "1e3" or "".
bool is_whole_number_text(const std::string& text);

}  // namespace epsim::app
