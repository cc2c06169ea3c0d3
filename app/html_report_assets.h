// What report.html inlines, compiled in by CMake (app/CMakeLists.txt): the page
// template (app/html_report_template.html) and dygraphs' minified JavaScript
// and CSS from Debian's libjs-dygraphs (/usr/share/javascript/dygraphs/).
#pragma once

#include <string_view>

namespace epsim::app {

std::string_view html_report_template();
std::string_view dygraphs_js();
std::string_view dygraphs_css();

}  // namespace epsim::app
