#include "app/chart_colors.h"

#include <array>

namespace epsim::app {

namespace {

// Tableau 10 without its red, orange and purple (the bands' colours), plus
// two darker blues: distinguishable in print and for most colour vision.
constexpr std::array<const char*, 8> kClusterPalette = {"#1f77b4", "#2ca02c", "#8c564b", "#e377c2",
                                                        "#17becf", "#bcbd22", "#7f7f7f", "#393b79"};
constexpr const char* kDataPlaneColor = "#555555";

}  // namespace

const char* cluster_color(std::size_t index) { return kClusterPalette[index % kClusterPalette.size()]; }

const char* column_color(std::string_view column, const std::vector<std::string>& clusters) {
  const std::string_view prefix = column.substr(0, column.find('/'));
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    if (clusters[i] == prefix) return cluster_color(i);
  }
  if (column.ends_with("requests_504")) return kWindowColor;
  if (column.ends_with("requests_5xx")) return kFailureColor;
  return kDataPlaneColor;
}

}  // namespace epsim::app
