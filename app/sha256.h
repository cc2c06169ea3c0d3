// SHA-256 (FIPS 180-4), for the scenario hash and the report digest.
#pragma once

#include <string>
#include <string_view>

namespace epsim::app {

std::string sha256_hex(std::string_view data);

}  // namespace epsim::app
