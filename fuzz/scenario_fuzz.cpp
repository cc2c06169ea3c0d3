// libFuzzer target: bytes -> scenario loader -> a tiny bounded run -> reports.
//
// InputError is the expected outcome for bad input. Anything else is a
// finding: another exception escaping (libFuzzer reports the abort), a crash,
// an AddressSanitizer/UBSan report, a timeout (-timeout) or memory blow-up
// (-rss_limit_mb). The loader never touches the filesystem here: includes
// resolve among the embedded scenarios (load_scenario_text).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/scenario.h"
#include "fuzz_world.h"

namespace {

constexpr std::size_t kFuzzMaxInput = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kFuzzMaxInput) return -1;  // not worth keeping in the corpus
  const std::string text(reinterpret_cast<const char*>(data), size);
  epsim::app::Scenario scenario;
  try {
    scenario = epsim::app::load_scenario_text(text, "fuzz.yaml");
  } catch (const epsim::app::InputError&) {
    return 0;
  }
  epsim::fuzz::shrink(scenario);
  try {
    epsim::app::Pipeline pipeline(scenario);
    pipeline.run();
    const auto report = epsim::app::build_report(pipeline);
    (void)epsim::app::format_text_report(report);
  } catch (const epsim::app::InputError&) {
    // e.g. a deploy of an unknown service, or the event bound: a clean refusal.
  }
  return 0;
}
