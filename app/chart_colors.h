// The colours charts.svg and report.html share, so a business cluster, a 504
// window or a storm looks the same in every panel of both.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace epsim::app {

inline constexpr const char* kWindowColor = "#d62728";   // 504 windows, and the 504 series
inline constexpr const char* kFailureColor = "#e6550d";  // the 5xx series
inline constexpr const char* kResyncColor = "#ff7f0e";   // resync storms
inline constexpr const char* kStartupColor = "#6a3d9a";  // controller starts

// The colour of the `index`th business cluster (report.json's "clusters"
// order); none repeats a band colour above, and they cycle after eight.
const char* cluster_color(std::size_t index);

// The colour of a time-series column "<prefix>/<series>": its cluster's when
// the prefix names one of `clusters`, else one for the data plane (sync,
// ingress, the access cluster) that no cluster uses.
const char* column_color(std::string_view column, const std::vector<std::string>& clusters);

}  // namespace epsim::app
