// charts.svg: stacked panels over one virtual-time axis (workqueue depth,
// endpoint PUT rate, API-server mutating requests in flight, and any
// "…requests_504" / "…requests_5xx" columns), with the report's 504 windows
// shaded and each storm (resync or controller start) drawn as a labelled
// band; below the whole run, the same panels zoomed to each storm and a few
// minutes around it (the longest 8 storms; a resync without PUTs gets none).
// A series has its cluster's colour in every panel (app/chart_colors.h);
// legends sit on rows of their own under each panel's title. A resync that
// PUT nothing is labelled "resync (no PUTs)", not a storm. Self-contained
// SVG: no scripts, no external fonts or images.
//
// A day has 86,400 samples per series; each series is reduced to its maximum
// per pixel column (deterministic, and no spike is lost), so the file stays
// in the hundreds of kilobytes. Columns of the rate panels are counts per
// sampling interval and are drawn per second.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "app/chart_range.h"
#include "sim/time_series.h"

namespace epsim::app {

// `report` is build_report()'s JSON: scenario name, seed, windows, clusters.
// `s` as XML text or attribute content (& < > " escaped): every SVG writer uses it.
std::string xml_escape(std::string_view s);

// `range` limits the time axis (--from/--to); the default is the whole run.
std::string svg_charts(const sim::TimeSeriesSampler& series, const nlohmann::ordered_json& report,
                       const ChartRange& range = {});

}  // namespace epsim::app
