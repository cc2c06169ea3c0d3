// libFuzzer target: bytes -> command-line words of `epsim run` (the override
// flags, --set expressions) -> the embedded scenario loaded with them -> a
// tiny bounded run -> the text report.
//
// The input is split into words at newlines. A CLI11 parse error or an
// InputError is the expected outcome for bad words; anything else (another
// exception, a crash, a sanitizer report, a timeout) is a finding. The
// scenario positional and --include-dir are dropped: no filesystem here.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "app/cli_options.h"
#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/scenario.h"
#include "fuzz_world.h"

namespace {

constexpr std::size_t kFuzzMaxInput = 4096;
constexpr std::size_t kFuzzMaxWords = 32;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kFuzzMaxInput) return -1;
  std::vector<std::string> words{"epsim", "run"};
  std::string word;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      words.push_back(word);
      word.clear();
    } else {
      word += static_cast<char>(data[i]);
    }
  }
  if (!word.empty()) words.push_back(word);
  if (words.size() > kFuzzMaxWords) return -1;
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());

  CLI::App cli;
  epsim::app::ScenarioOptions options;
  CLI::App* run = cli.add_subcommand("run");
  epsim::app::add_override_options(run, options);
  try {
    cli.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return 0;
  }
  options.path.clear();  // the embedded scenario: no file is read
  options.include_dirs.clear();
  static const epsim::app::ScenarioFiles files("");
  try {
    epsim::app::Scenario s = epsim::app::load_with_options(options, files);
    epsim::fuzz::shrink(s);
    for (auto& c : s.clusters) {
      // The named deploys of the embedded scenario target Services the
      // shrink removed: keep the background ones.
      c.deploys.erase(std::remove_if(c.deploys.begin(), c.deploys.end(),
                                     [](const epsim::app::DeploySpec& d) {
                                       return d.kind != epsim::app::DeploySpec::Kind::background;
                                     }),
                      c.deploys.end());
    }
    epsim::app::Pipeline pipeline(s);
    pipeline.run();
    (void)epsim::app::format_text_report(epsim::app::build_report(pipeline));
  } catch (const epsim::app::InputError&) {
  }
  return 0;
}
