#include "models/controller_switches.h"

#include <limits>

#include "models/version.h"

namespace epsim::models {

const std::vector<SwitchInfo>& controller_switch_table() {
  static const std::vector<SwitchInfo> table = {
      {"headlessLabelCompare", &ControllerSwitches::headless_label_compare, "kubernetes PR #94112"},
      {"serviceLabelMutation", &ControllerSwitches::service_label_mutation, "kubernetes PR #85361"},
      {"targetRefResourceVersionCompare", &ControllerSwitches::target_ref_resource_version_compare,
       "kubernetes PR #108078"},
      {"triggerTimeAnnotationRewrite", &ControllerSwitches::trigger_time_annotation_rewrite,
       "kubernetes PR #74294"},
  };
  return table;
}

namespace {
using Version = ReleaseVersion;
bool at_least(const Version& v, int minor, int patch) {
  return v.minor > minor || (v.minor == minor && v.patch >= patch);
}

// #94112 and its backports: 1.17.13, 1.18.10, 1.19.3, every 1.20+. No 1.16
// release has it (there switch B masks A).
int headless_label_fix_patch(int minor) {
  return minor == 16 ? std::numeric_limits<int>::max() : minor == 17 ? 13 : minor == 18 ? 10 : minor == 19 ? 3 : 0;
}

// The Kubernetes releases the presets know: 1.16 to 1.40.
std::optional<Version> parse_version(const std::string& text) {
  const auto v = parse_release_version(text);
  if (!v || v->major != 1 || v->minor < 16 || v->minor > 40) return std::nullopt;
  return v;
}

}  // namespace

std::string headless_label_fix_release(const std::string& version) {
  const auto v = parse_version(version);
  if (!v || v->minor < 17 || v->minor > 19) return "1.20";
  return "1." + std::to_string(v->minor) + "." + std::to_string(headless_label_fix_patch(v->minor));
}

std::optional<ControllerSwitches> switches_for_version(const std::string& text) {
  const auto parsed = parse_version(text);
  if (!parsed) return std::nullopt;
  const Version v = *parsed;
  ControllerSwitches sw;
  // #85361 landed in 1.17.0-beta.2; 1.16 still masked A.
  sw.service_label_mutation = v.minor < 17;
  sw.headless_label_compare = !at_least(v, v.minor, headless_label_fix_patch(v.minor));
  // #108078 (merged 2022-02 for 1.24.0) stopped comparing
  // TargetRef.ResourceVersion; every earlier release compares it (the subsets'
  // DeepEqual in syncService since the controller publishes the pod's RV in
  // its targetRef). Its cherry-picks to release-1.21/1.22/1.23 (#108881,
  // #108880, #108879) merged on 2022-06-12, after that month's patch releases
  // were cut; which later patch of each minor first carries them is not
  // established here, so 1.21-1.23 keep the compare (docs/model.md).
  sw.target_ref_resource_version_compare = !at_least(v, 24, 0);
  sw.trigger_time_annotation_rewrite = true;
  return sw;
}

bool endpoint_slice_controller_by_default(const std::string& version) {
  const auto v = parse_version(version);
  return v && at_least(*v, 18, 0);
}

}  // namespace epsim::models
