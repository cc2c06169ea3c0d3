#include <doctest/doctest.h>

#include <string>

#include "models/controller_switches.h"

using epsim::models::headless_label_fix_release;
using epsim::models::switches_for_version;

TEST_CASE("version presets set the bug switches from the releases that fixed them") {
  const auto v1173 = switches_for_version("1.17.3");
  REQUIRE(v1173);
  CHECK(v1173->headless_label_compare);
  CHECK_FALSE(v1173->service_label_mutation);
  CHECK(v1173->target_ref_resource_version_compare);
  CHECK(v1173->trigger_time_annotation_rewrite);

  CHECK_FALSE(switches_for_version("1.17.13")->headless_label_compare);  // #94935 backport
  CHECK(switches_for_version("1.17.12")->headless_label_compare);
  CHECK(switches_for_version("1.18.9")->headless_label_compare);
  CHECK_FALSE(switches_for_version("1.18.10")->headless_label_compare);
  CHECK(switches_for_version("1.19.2")->headless_label_compare);
  CHECK_FALSE(switches_for_version("1.19.3")->headless_label_compare);
  CHECK_FALSE(switches_for_version("1.20")->headless_label_compare);
  CHECK(switches_for_version("1.22")->target_ref_resource_version_compare);
  CHECK_FALSE(switches_for_version("v1.24.0")->target_ref_resource_version_compare);
  CHECK(switches_for_version("1.16.8")->service_label_mutation);
}

TEST_CASE("unparseable or unsupported versions have no preset") {
  CHECK_FALSE(switches_for_version("1.15.0"));
  CHECK_FALSE(switches_for_version("2.0"));
  CHECK_FALSE(switches_for_version("latest"));
  CHECK_FALSE(switches_for_version("1.17.3x"));
  CHECK_FALSE(switches_for_version(""));
}

TEST_CASE("headless_label_fix_release names the first release of a line without switch A") {
  CHECK(headless_label_fix_release("1.17.3") == "1.17.13");
  CHECK(headless_label_fix_release("v1.18.2") == "1.18.10");
  CHECK(headless_label_fix_release("1.19") == "1.19.3");
  CHECK(headless_label_fix_release("1.22") == "1.20");
  // The named release is fixed and the patch before it is not: the same table.
  for (const char* line : {"1.17", "1.18", "1.19"}) {
    const std::string fixed = headless_label_fix_release(line);
    CHECK_FALSE(switches_for_version(fixed)->headless_label_compare);
    const std::string before = fixed.substr(0, fixed.rfind('.') + 1) +
                               std::to_string(std::stoi(fixed.substr(fixed.rfind('.') + 1)) - 1);
    CHECK(switches_for_version(before)->headless_label_compare);
  }
}
