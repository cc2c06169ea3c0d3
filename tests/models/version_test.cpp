// models/version.h: the one release-number parser (by hand).
#include <doctest/doctest.h>

#include "models/version.h"

using epsim::models::parse_release_version;

TEST_CASE("release versions: two or three decimal parts, an optional v, nothing else") {
  const auto v = parse_release_version("1.17.3");
  REQUIRE(v);
  CHECK(v->major == 1);
  CHECK(v->minor == 17);
  CHECK(v->patch == 3);
  const auto w = parse_release_version("v1.24");
  REQUIRE(w);
  CHECK(w->minor == 24);
  CHECK(w->patch == 0);
  CHECK(parse_release_version("0.49.3")->major == 0);
  CHECK(parse_release_version("1.017.03")->minor == 17);  // leading zeros are still decimal
  // Before: sscanf("%d.%d.%d%c") read signs, spaces and a first part alone.
  for (const char* bad : {"", "1", "1.", ".17", "1..3", "1.17.3.4", "1.17.3-eks.1", "1.-17", "1.+17", " 1.17",
                          "1.17 ", "1.x", "v", "vv1.17", "1.1000000000"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_release_version(bad));
  }
}
