// Named behaviour switches of the endpoints controller: bugs and their fixes,
// each defaulted by a Kubernetes version preset and overridable by the
// scenario (the FoundationDB habit of naming and recording every deliberate
// deviation). Sources: the kubernetes PRs named per switch; docs/model.md §6.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace epsim::models {

struct ControllerSwitches {
  // A (#94112): syncService compares the Endpoints' labels, which carry
  // service.kubernetes.io/headless, with the Service's labels, which do not:
  // every sync of a headless Service PUTs. Fixed in 1.17.13, 1.18.10, 1.19.3, 1.20.
  bool headless_label_compare = false;
  // B (#85361): before 1.17.0-beta.2 the controller wrote the headless label
  // into the cached Service, which made A's comparison equal by accident.
  bool service_label_mutation = false;
  // C (#108078): TargetRef.ResourceVersion is compared inside subsets, so a
  // pod update that changed only its RV makes the next resync PUT. Fixed in
  // 1.24.0 (cherry-picks to 1.21-1.23: #108881, #108880, #108879).
  bool target_ref_resource_version_compare = false;
  // E (#74294): a PUT rewrites last-change-trigger-time, deleting it when
  // nothing triggered the sync (every version).
  bool trigger_time_annotation_rewrite = true;
};

struct SwitchInfo {
  const char* name;       // the scenario / report key
  bool ControllerSwitches::*field;
  const char* source;
};

const std::vector<SwitchInfo>& controller_switch_table();

// The first release of `version`'s minor line without switch A (the #94112
// fix or its backport): 1.17.13, 1.18.10, 1.19.3, otherwise 1.20.
std::string headless_label_fix_release(const std::string& version);

// Preset of a Kubernetes version ("1.17.3", "1.20", "v1.24.1"); nullopt if
// the version cannot be parsed or is older than 1.16.
std::optional<ControllerSwitches> switches_for_version(const std::string& version);

// Whether kube-controller-manager runs the EndpointSlice controller by
// default: from 1.18, when the EndpointSlice feature gate became on by
// default (kubernetes PR #86137). False for a version that cannot be parsed.
bool endpoint_slice_controller_by_default(const std::string& version);

}  // namespace epsim::models
