// report.html: one self-contained page (opens from disk, no network) with the
// run's summary, every storm and what limited it, every 504 window with its
// `epsim explain` chain, and zoomable time-series charts drawn by dygraphs
// (Debian's libjs-dygraphs, inlined at build time: app/CMakeLists.txt).
// Beside the windows, the SIG Scalability SLOs per cluster-day (app/slis.h)
// and the intervals their 5-minute network programming SLI was over 30 s.
// Clicking a storm, window or interval row zooms every chart to it; a
// window's row also shows its chain.
//
// The charts' data is embedded as JSON. A day has 86,400 samples per column:
// outside the storms, windows and broken SLI intervals (and a margin around
// each) every column keeps only the smallest and the largest sample of each
// of ~1,000 buckets, so no spike is lost; inside them every sample is kept. The incident's page stays
// well under a megabyte.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "app/chart_range.h"
#include "app/pipeline.h"

namespace epsim::app {

// `report` is build_report(pipeline); `range` limits the charts' data. The
// page embeds its data as JSON in <script id="epsim-data">: "storms",
// "windows" (each with its "chain"), "slis" (per cluster-day: "api", the
// worst (resource, verb), and "network"), "sli_broken" (each interval with
// its cluster and day), "charts" (each with "labels", "colors"
// and "rows" of [time_s, value...]).
std::string html_report(const Pipeline& pipeline, const nlohmann::ordered_json& report, const ChartRange& range = {});

}  // namespace epsim::app
