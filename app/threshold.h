// A --fail-if expression over a run's measures, e.g. "storm_s > 120",
// "requests_504 > 0 and max_window_s >= 30", "not (windows == 0)".
//
// Grammar, loosest binding first:
//   condition  := or
//   or         := and { ("or" | "||") and }
//   and        := not { ("and" | "&&") not }
//   not        := ("not" | "!") not | comparison
//   comparison := sum [ ("<" | "<=" | ">" | ">=" | "==" | "!=") sum ]
//   sum        := product { ("+" | "-") product }
//   product    := unary { ("*" | "/") unary }
//   unary      := "-" unary | primary
//   primary    := number | measure | "(" or ")"
//   number     := ( digits [ "." digits ] | "." digits ) [ ("e" | "E") [ "+" | "-" ] digits ]
//   measure    := [a-z_][a-z0-9_]*, one of the names given to parse(); and, or, not are reserved
// Arithmetic is left-associative; comparisons do not associate (a < b < c is an
// error: write a < b and b < c). Numbers have no units (120, not 2m).
// Every expression has a type, checked at parse time with the column of the
// offending part: the whole text and each operand of and/or/not is a condition
// (so "storm_s + 1" alone is an error), and each operand of a comparison or of
// arithmetic is a number (so "(a > 1) == (b > 1)" and "(a > 1) + 1" are errors).
//
// Evaluation is IEEE double arithmetic: x / 0 is +inf, -inf or nan, and every
// comparison with a nan on either side is false, != included (a gate does not
// fire on an undefined value; write "not (x == x)" to test for nan).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace epsim::app {

class Threshold {
 public:
  // Parses `text`; `measures` are the valid measure names (used for "unknown measure" errors
  // with a did-you-mean suggestion, or the list of valid names when none is close). `flag`
  // (e.g. "--fail-if") prefixes messages. Throws InputError (app/input_error.h) on any error:
  //   --fail-if 'storm_s >> 120': column 10: expected a number, a measure or '(' here
  //   --fail-if 'strom_s > 120': column 1: unknown measure "strom_s" (did you mean storm_s?)
  // Columns are 1-based character (UTF-8 code point) positions in `text`.
  static Threshold parse(const std::string& text, const std::vector<std::string>& measures,
                         const std::string& flag = "--fail-if");

  // True when the condition holds for these values. Every measure the
  // expression reads must be in `values` (extra ones are ignored); a missing one
  // throws InputError naming it, whichever branch of and/or it is in.
  bool holds(const std::map<std::string, double>& values) const;

  // The text as given to parse().
  const std::string& text() const { return text_; }

  // The measure names the expression reads, sorted, unique.
  std::vector<std::string> measures_used() const;

  // The expression with the values it read, for a failure message:
  // "storm_s > 120 (storm_s = 646.5)"; measures in order of first appearance,
  // a missing one shown as "(no value)" (this never throws: it builds a message).
  std::string explain(const std::map<std::string, double>& values) const;

  // The parse tree, fully parenthesised with canonical operator spellings:
  // "1 + 2 * 3 == 7" gives "((1 + (2 * 3)) == 7)", "!a > 1" gives "(not (a > 1))".
  std::string structure() const;

 private:
  enum class Op { kNumber, kMeasure, kNeg, kAdd, kSub, kMul, kDiv, kLt, kLe, kGt, kGe, kEq, kNe, kNot, kAnd, kOr };
  // Nodes live in one vector and point at each other by index, so a Threshold is
  // copyable and its destruction does not recurse.
  struct Node {
    Op op = Op::kNumber;
    std::size_t lhs = 0;   // operand of kNeg and kNot; left operand of binary ops
    std::size_t rhs = 0;   // right operand of binary ops
    double number = 0;     // kNumber
    std::string measure;   // kMeasure
  };
  class Parser;

  double number(std::size_t node, const std::map<std::string, double>& values) const;
  bool condition(std::size_t node, const std::map<std::string, double>& values) const;
  std::string render(std::size_t node) const;

  std::string text_;
  std::string flag_;
  std::vector<Node> nodes_;
  std::size_t root_ = 0;
  std::vector<std::string> appearance_;  // measures read, unique, in order of first appearance
};

}  // namespace epsim::app
