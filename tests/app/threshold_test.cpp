#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "app/input_error.h"
#include "app/threshold.h"

using epsim::app::InputError;
using epsim::app::Threshold;

namespace {

const std::vector<std::string> kMeasures = {"storm_s", "requests_504", "max_window_s", "windows"};

Threshold parse(const std::string& text) { return Threshold::parse(text, kMeasures); }

bool holds(const std::string& text, const std::map<std::string, double>& values = {}) {
  return parse(text).holds(values);
}

// The message parse() refuses `text` with, or "" when it parses.
std::string parse_error(const std::string& text, const std::string& flag = "--fail-if") {
  try {
    Threshold::parse(text, kMeasures, flag);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("threshold arithmetic has the usual precedence and is left-associative") {
  CHECK(holds("1 + 2 * 3 == 7"));
  CHECK(parse("1 + 2 * 3 == 7").structure() == "((1 + (2 * 3)) == 7)");
  CHECK(holds("(1 + 2) * 3 == 9"));
  CHECK(holds("10 - 4 - 3 == 3"));  // right-associative would give 9
  CHECK(holds("8 / 4 / 2 == 1"));   // right-associative would give 4
  CHECK(parse("8 / 4 / 2 == 1").structure() == "(((8 / 4) / 2) == 1)");
  CHECK(holds("-2 * 3 == -6"));
  CHECK(holds("- -3 == 3"));
  CHECK(holds("2 - -3 == 5"));
  CHECK(holds("1 + 2 * 3 - 4 / 2 == 5"));
  CHECK(holds("storm_s * 2 + 1 == 3", {{"storm_s", 1}}));
}

TEST_CASE("threshold numbers take decimals and exponents") {
  CHECK(holds("1e3 == 1000"));
  CHECK(holds("1E+2 == 100"));
  CHECK(holds("2.5e-1 == 0.25"));
  CHECK(holds(".5 == 0.5"));
  CHECK(holds("0.1 + 0.2 > 0.3"));  // plain IEEE doubles, no rounding to decimals
}

TEST_CASE("threshold comparisons at their boundaries") {
  const std::map<std::string, double> at = {{"storm_s", 120}};
  CHECK_FALSE(holds("storm_s > 120", at));
  CHECK(holds("storm_s >= 120", at));
  CHECK_FALSE(holds("storm_s < 120", at));
  CHECK(holds("storm_s <= 120", at));
  CHECK(holds("storm_s == 120", at));
  CHECK_FALSE(holds("storm_s != 120", at));

  const std::map<std::string, double> above = {{"storm_s", 120.5}};
  CHECK(holds("storm_s > 120", above));
  CHECK(holds("storm_s >= 120", above));
  CHECK_FALSE(holds("storm_s < 120", above));
  CHECK_FALSE(holds("storm_s <= 120", above));
  CHECK_FALSE(holds("storm_s == 120", above));
  CHECK(holds("storm_s != 120", above));

  const std::map<std::string, double> below = {{"storm_s", 119.5}};
  CHECK_FALSE(holds("storm_s > 120", below));
  CHECK_FALSE(holds("storm_s >= 120", below));
  CHECK(holds("storm_s < 120", below));
  CHECK(holds("storm_s <= 120", below));
  CHECK_FALSE(holds("storm_s == 120", below));
  CHECK(holds("storm_s != 120", below));
}

TEST_CASE("threshold and binds tighter than or, not tighter than and") {
  const std::map<std::string, double> v = {{"storm_s", 646.5}, {"requests_504", 3}, {"max_window_s", 12},
                                           {"windows", 0}};
  CHECK_FALSE(holds("requests_504 > 0 and max_window_s >= 30", v));
  CHECK(holds("requests_504 > 0 or max_window_s >= 30", v));
  CHECK_FALSE(holds("not (windows == 0)", v));
  CHECK_FALSE(holds("not windows == 0", v));  // not (windows == 0): not binds looser than ==
  CHECK(parse("not windows == 0").structure() == "(not (windows == 0))");
  // or(true, and(false, false)); (true or false) and false would be false.
  CHECK(holds("storm_s > 600 or windows > 0 and requests_504 > 5", v));
  CHECK(parse("storm_s > 600 or windows > 0 and requests_504 > 5").structure() ==
        "((storm_s > 600) or ((windows > 0) and (requests_504 > 5)))");
  // (not false) and false; not (false and false) would be true.
  CHECK_FALSE(holds("not windows > 0 and storm_s > 1000", v));
  CHECK(holds("not not (windows == 0)", v));
  CHECK(holds("! (windows == 0) || storm_s > 600 && requests_504 >= 3", v));
  CHECK(parse("! windows > 1 && windows < 2 || storm_s == 0").structure() ==
        "(((not (windows > 1)) and (windows < 2)) or (storm_s == 0))");
  CHECK(holds("(storm_s > 600 or windows > 0) and requests_504 > 5", v) == false);
}

TEST_CASE("threshold division by zero follows IEEE and nan compares false") {
  const std::map<std::string, double> v = {{"storm_s", 646.5}, {"windows", 0}};
  CHECK(holds("storm_s / windows > 1000", v));     // +inf
  CHECK(holds("-storm_s / windows < -1000", v));   // -inf
  CHECK_FALSE(holds("windows / windows == windows / windows", v));  // nan == nan
  CHECK_FALSE(holds("windows / windows != 1", v));  // != is false on nan too
  CHECK(holds("not (windows / windows >= 0)", v));
  const std::map<std::string, double> nan = {{"storm_s", std::numeric_limits<double>::quiet_NaN()}};
  CHECK_FALSE(holds("storm_s > 0", nan));
  CHECK_FALSE(holds("storm_s <= 0", nan));
  CHECK_FALSE(holds("storm_s == storm_s", nan));
  CHECK_FALSE(holds("storm_s != 0", nan));
  CHECK(holds("not (storm_s == storm_s)", nan));
}

TEST_CASE("threshold needs a value for every measure it reads") {
  const Threshold t = parse("storm_s > 600 or requests_504 > 0");
  CHECK(t.holds({{"storm_s", 700}, {"requests_504", 0}, {"unrelated", 1}}));
  // storm_s > 600 alone would decide the or; the missing value is still an error.
  CHECK_THROWS_WITH_AS(t.holds({{"storm_s", 700}}),
                       "--fail-if 'storm_s > 600 or requests_504 > 0': no value for measure \"requests_504\"",
                       InputError);
}

TEST_CASE("threshold unknown measures name the column and the closest measure") {
  CHECK(parse_error("strom_s > 120") ==
        "--fail-if 'strom_s > 120': column 1: unknown measure \"strom_s\" (did you mean storm_s?)");
  CHECK(parse_error("windows > 0 and max_windw_s > 30") ==
        "--fail-if 'windows > 0 and max_windw_s > 30': column 17: unknown measure \"max_windw_s\" "
        "(did you mean max_window_s?)");
  CHECK(parse_error("Storm_S > 1").find("(did you mean storm_s?)") != std::string::npos);
  CHECK(parse_error("zzz > 1") == "--fail-if 'zzz > 1': column 1: unknown measure \"zzz\" "
                                  "(measures: storm_s, requests_504, max_window_s, windows)");
  CHECK(parse_error("x > 1").find("(measures: ") != std::string::npos);  // one letter is no basis for a guess
  CHECK_THROWS_WITH_AS(Threshold::parse("storm_s > 1", {}), doctest::Contains("(there are no measures)"), InputError);
}

TEST_CASE("threshold syntax errors give the column of the offending token") {
  CHECK(parse_error("storm_s >> 120") ==
        "--fail-if 'storm_s >> 120': column 10: expected a number, a measure or '(' here");
  CHECK(parse_error("storm_s >") == "--fail-if 'storm_s >': column 10: expected a number, a measure or '(' at the end");
  CHECK(parse_error("and > 1") == "--fail-if 'and > 1': column 1: expected a number, a measure or '(' here");
  // Trailing garbage.
  CHECK(parse_error("storm_s > 120 120") ==
        "--fail-if 'storm_s > 120 120': column 15: expected an operator or the end, found \"120\"");
  CHECK(parse_error("storm_s > 120)") == "--fail-if 'storm_s > 120)': column 14: unmatched ')'");
  // Missing ')'.
  CHECK(parse_error("(storm_s > 1") ==
        "--fail-if '(storm_s > 1': column 13: expected ')' at the end to close the '(' at column 1");
  CHECK(parse_error("windows > 0 and (storm_s > 1 windows") ==
        "--fail-if 'windows > 0 and (storm_s > 1 windows': column 30: expected ')' here to close the '(' at "
        "column 17");
  // Empty.
  CHECK(parse_error("") == "--fail-if '': column 1: the expression is empty (write a condition, e.g. \"storm_s > 0\")");
  CHECK(parse_error("   ").find("the expression is empty") != std::string::npos);
  // Characters and spellings from elsewhere.
  CHECK(parse_error("storm_s = 120") ==
        "--fail-if 'storm_s = 120': column 9: '=' is not an operator; write '==' to compare");
  CHECK(parse_error("storm_s => 120") == "--fail-if 'storm_s => 120': column 9: '=>' is not an operator; write '>='");
  CHECK(parse_error("windows > 0 & storm_s > 1").find("column 13: '&' is not an operator; write '&&' or 'and'") !=
        std::string::npos);
  CHECK(parse_error("windows > 0 | storm_s > 1").find("column 13: '|' is not an operator; write '||' or 'or'") !=
        std::string::npos);
  CHECK(parse_error("storm_s > 120 $") == "--fail-if 'storm_s > 120 $': column 15: unexpected character '$'");
  CHECK(parse_error("storm_s \u2265 120") ==
        "--fail-if 'storm_s \u2265 120': column 9: unexpected character '\u2265'");
  CHECK(parse_error("storm_s > 2m") == "--fail-if 'storm_s > 2m': column 11: \"2m\" is not a number (numbers are like "
                                       "120, 0.5 or 1e3, without units)");
  CHECK(parse_error("storm_s > 1.2.3").find("column 11: \"1.2.3\" is not a number") != std::string::npos);
  CHECK(parse_error("storm_s > 1e999") == "--fail-if 'storm_s > 1e999': column 11: 1e999 is out of range");
  // The flag names itself.
  CHECK(parse_error("storm_s >", "--pass-if").rfind("--pass-if 'storm_s >': column 10: ", 0) == 0);
}

TEST_CASE("threshold comparisons do not chain") {
  CHECK(parse_error("storm_s < windows < 3") ==
        "--fail-if 'storm_s < windows < 3': column 19: comparisons do not chain (write a < b and b < c)");
  CHECK(parse_error("1 == 1 != 0").find("column 8: comparisons do not chain") != std::string::npos);
}

TEST_CASE("threshold conditions and numbers do not mix") {
  // Bare arithmetic is not a condition, at the top or under and/or/not.
  CHECK(parse_error("storm_s + 1") == "--fail-if 'storm_s + 1': column 1: expected a comparison (\"storm_s + 1\" is a "
                                      "number; compare it, e.g. \"storm_s + 1 > 0\")");
  CHECK(parse_error("120").find("column 1: expected a comparison (\"120\" is a number") != std::string::npos);
  CHECK(parse_error("windows > 0 and storm_s * 2").find("column 17: expected a comparison (\"storm_s * 2\"") !=
        std::string::npos);
  CHECK(parse_error("storm_s or windows > 0").find("column 1: expected a comparison (\"storm_s\"") !=
        std::string::npos);
  CHECK(parse_error("not storm_s").find("column 5: expected a comparison (\"storm_s\"") != std::string::npos);
  CHECK(parse_error("(storm_s)").find("column 1: expected a comparison (\"(storm_s)\"") != std::string::npos);
  // Conditions are not numbers.
  CHECK(parse_error("(windows > 0) == (storm_s > 1)") ==
        "--fail-if '(windows > 0) == (storm_s > 1)': column 1: '==' needs a number on each side (\"(windows > 0)\" "
        "is a condition)");
  CHECK(parse_error("windows == (storm_s > 1)")
            .find("column 12: '==' needs a number on each side (\"(storm_s > 1)\"") != std::string::npos);
  CHECK(parse_error("(windows > 0) + 1 > 0").find("column 1: '+' needs a number on each side") != std::string::npos);
  CHECK(parse_error("2 * (windows > 0) > 0").find("column 5: '*' needs a number on each side") != std::string::npos);
  CHECK(parse_error("-(windows > 0) < 1") ==
        "--fail-if '-(windows > 0) < 1': column 2: '-' needs a number (\"(windows > 0)\" is a condition)");
}

TEST_CASE("threshold nesting is bounded so parsing and evaluation cannot exhaust the stack") {
  CHECK(holds(repeat("(", 150) + "storm_s" + repeat(")", 150) + " > 1", {{"storm_s", 2}}));
  CHECK(holds("storm_s" + repeat(" + storm_s", 150) + " == 151", {{"storm_s", 1}}));
  CHECK(holds(repeat("not ", 150) + "storm_s > 1", {{"storm_s", 2}}));
  CHECK(parse_error(repeat("(", 100000) + "storm_s > 1").find("column 201: the expression nests more than 200 "
                                                              "operators deep") != std::string::npos);
  CHECK(parse_error(repeat("-", 100000) + "1 > 0").find("the expression nests more than 200") != std::string::npos);
  CHECK(parse_error("storm_s" + repeat(" + storm_s", 300) + " > 1").find("the expression nests more than 200") !=
        std::string::npos);
}

TEST_CASE("threshold measures_used lists each measure read once, sorted") {
  CHECK(parse("windows > 0 and storm_s / windows > storm_s - 1 or max_window_s > 1").measures_used() ==
        std::vector<std::string>{"max_window_s", "storm_s", "windows"});
  CHECK(parse("storm_s > 120").measures_used() == std::vector<std::string>{"storm_s"});
  CHECK(parse("1 < 2").measures_used().empty());
}

TEST_CASE("threshold explain shows the text with the values it read") {
  CHECK(parse("storm_s > 120").explain({{"storm_s", 646.5}}) == "storm_s > 120 (storm_s = 646.5)");
  // In order of first appearance; values not read are left out; whitespace around the text is dropped.
  CHECK(parse("  requests_504 > 0 and max_window_s >= 30 ")
            .explain({{"max_window_s", 12}, {"requests_504", 3}, {"windows", 0}}) ==
        "requests_504 > 0 and max_window_s >= 30 (requests_504 = 3, max_window_s = 12)");
  CHECK(parse("storm_s / windows > 1 or windows < 0").explain({{"storm_s", 1e6}, {"windows", 0.25}}) ==
        "storm_s / windows > 1 or windows < 0 (storm_s = 1000000, windows = 0.25)");
  CHECK(parse("storm_s > 120").explain({{"storm_s", std::numeric_limits<double>::infinity()}}) ==
        "storm_s > 120 (storm_s = inf)");
  CHECK(parse("storm_s > 120").explain({}) == "storm_s > 120 (storm_s = (no value))");
  CHECK(parse("1 < 2").explain({}) == "1 < 2");
}

TEST_CASE("threshold keeps its text and copies evaluate alike") {
  const Threshold t = parse(" storm_s > 120 ");
  CHECK(t.text() == " storm_s > 120 ");
  const Threshold copy = t;  // nodes are held by value: a copy shares nothing
  CHECK(copy.holds({{"storm_s", 121}}));
  CHECK_FALSE(copy.holds({{"storm_s", 120}}));
  CHECK(copy.structure() == "(storm_s > 120)");
  CHECK(parse("-storm_s < -1.5").structure() == "((-storm_s) < (-1.5))");
}
