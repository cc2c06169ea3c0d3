#include "app/threshold.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "app/input_error.h"

namespace epsim::app {

namespace {

// Deeper trees are refused at parse time, which bounds the recursion of the
// parser and of evaluation (fuzzed and ASan builds have small stacks).
constexpr int kMaxDepth = 200;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_word(char c) { return is_word_start(c) || is_digit(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Optimal string alignment distance, case-insensitive: Levenshtein plus a swap
// of two neighbours as one edit, the commonest typo (strom_s for storm_s).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = lower(a[i - 1]) == lower(b[j - 1]);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string trimmed(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace

class Threshold::Parser {
 public:
  Parser(Threshold& t, const std::vector<std::string>& measures) : t_(t), text_(t.text_), measures_(measures) {}

  void run() {
    next();
    if (tok_.kind == Kind::kEnd) {
      fail(tok_.begin, fmt::format("the expression is empty (write a condition, e.g. \"{} > 0\")",
                                   measures_.empty() ? std::string("x") : measures_.front()));
    }
    const Parsed root = parse_or();
    if (tok_.kind == Kind::kRParen) fail(tok_.begin, "unmatched ')'");
    if (tok_.kind != Kind::kEnd) {
      fail(tok_.begin, fmt::format("expected an operator or the end, found \"{}\"", spelling()));
    }
    require_condition(root);
    t_.root_ = root.node;
  }

 private:
  enum class Kind { kEnd, kNumber, kName, kAnd, kOr, kNot, kLt, kLe, kGt, kGe, kEq, kNe,
                    kPlus, kMinus, kStar, kSlash, kLParen, kRParen };
  struct Token {
    Kind kind = Kind::kEnd;
    std::size_t begin = 0, end = 0;  // byte offsets into the text
    double value = 0;                // kNumber
  };
  // A parsed subexpression: its node, its type and where it is in the text (for messages).
  struct Parsed {
    std::size_t node = 0;
    bool boolean = false;
    std::size_t begin = 0, end = 0;
    int depth = 1;
  };

  // Columns count code points, not bytes, so they match what the user sees.
  std::size_t column(std::size_t offset) const {
    std::size_t col = 1;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++col;
    }
    return col;
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& why) const {
    throw InputError(fmt::format("{} '{}': column {}: {}", t_.flag_, text_, column(offset), why));
  }

  std::string spelling() const { return text_.substr(tok_.begin, tok_.end - tok_.begin); }
  std::string excerpt(const Parsed& p) const { return text_.substr(p.begin, p.end - p.begin); }
  const char* here() const { return tok_.kind == Kind::kEnd ? "at the end" : "here"; }

  // --- lexer: one token of lookahead, read on demand so the leftmost error is the one reported.

  void next() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    tok_ = Token{};
    tok_.begin = pos_;
    if (pos_ == text_.size()) {
      tok_.end = pos_;
      return;
    }
    const char c = text_[pos_];
    const char d = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(d))) return lex_number();
    if (is_word_start(c)) {
      std::size_t e = pos_;
      while (e < text_.size() && is_word(text_[e])) ++e;
      const std::string word = text_.substr(pos_, e - pos_);
      tok_.kind = word == "and" ? Kind::kAnd : word == "or" ? Kind::kOr : word == "not" ? Kind::kNot : Kind::kName;
      tok_.end = pos_ = e;
      return;
    }
    auto two = [&](Kind kind) {
      tok_.kind = kind;
      tok_.end = pos_ += 2;
    };
    auto one = [&](Kind kind) {
      tok_.kind = kind;
      tok_.end = pos_ += 1;
    };
    switch (c) {
      case '<': return d == '=' ? two(Kind::kLe) : one(Kind::kLt);
      case '>': return d == '=' ? two(Kind::kGe) : one(Kind::kGt);
      case '!': return d == '=' ? two(Kind::kNe) : one(Kind::kNot);
      case '=':
        if (d == '=') return two(Kind::kEq);
        // Spellings from other languages get the one this grammar uses.
        if (d == '<' || d == '>') fail(pos_, fmt::format("'={0}' is not an operator; write '{0}='", d));
        fail(pos_, "'=' is not an operator; write '==' to compare");
      case '&':
        if (d == '&') return two(Kind::kAnd);
        fail(pos_, "'&' is not an operator; write '&&' or 'and'");
      case '|':
        if (d == '|') return two(Kind::kOr);
        fail(pos_, "'|' is not an operator; write '||' or 'or'");
      case '+': return one(Kind::kPlus);
      case '-': return one(Kind::kMinus);
      case '*': return one(Kind::kStar);
      case '/': return one(Kind::kSlash);
      case '(': return one(Kind::kLParen);
      case ')': return one(Kind::kRParen);
      default: break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) fail(pos_, fmt::format("unexpected character \\x{:02X}", u));
    std::size_t e = pos_ + 1;  // the whole UTF-8 sequence, not a stray byte of it
    while (e < text_.size() && (static_cast<unsigned char>(text_[e]) & 0xC0) == 0x80) ++e;
    fail(pos_, fmt::format("unexpected character '{}'", text_.substr(pos_, e - pos_)));
  }

  void lex_number() {
    const std::size_t begin = pos_;
    std::size_t e = pos_;
    while (e < text_.size() && is_digit(text_[e])) ++e;
    if (e < text_.size() && text_[e] == '.' && e + 1 < text_.size() && is_digit(text_[e + 1])) {
      ++e;
      while (e < text_.size() && is_digit(text_[e])) ++e;
    }
    if (e < text_.size() && (text_[e] == 'e' || text_[e] == 'E')) {
      std::size_t x = e + 1;
      if (x < text_.size() && (text_[x] == '+' || text_[x] == '-')) ++x;
      if (x < text_.size() && is_digit(text_[x])) {
        e = x;
        while (e < text_.size() && is_digit(text_[e])) ++e;
      }
    }
    // "120s", "2m", "1.5.2", "1e": refused whole rather than read as a number
    // followed by a measure, which would give a confusing message.
    if (e < text_.size() && (is_word(text_[e]) || text_[e] == '.')) {
      while (e < text_.size() && (is_word(text_[e]) || text_[e] == '.')) ++e;
      fail(begin, fmt::format("\"{}\" is not a number (numbers are like 120, 0.5 or 1e3, without units)",
                              text_.substr(begin, e - begin)));
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text_.data() + begin, text_.data() + e, value);
    if (ec != std::errc() || end != text_.data() + e) {
      fail(begin, fmt::format("{} is out of range", text_.substr(begin, e - begin)));
    }
    tok_.kind = Kind::kNumber;
    tok_.value = value;
    tok_.end = pos_ = e;
  }

  // --- parser: one function per precedence level, loosest first (see the grammar in threshold.h).

  Parsed make(Op op, const Parsed& lhs, const Parsed& rhs, bool boolean) {
    Node n;
    n.op = op;
    n.lhs = lhs.node;
    n.rhs = rhs.node;
    return add(std::move(n), boolean, lhs.begin, rhs.end, std::max(lhs.depth, rhs.depth) + 1);
  }

  Parsed add(Node n, bool boolean, std::size_t begin, std::size_t end, int depth) {
    if (depth > kMaxDepth) fail(begin, fmt::format("the expression nests more than {} operators deep", kMaxDepth));
    t_.nodes_.push_back(std::move(n));
    return Parsed{t_.nodes_.size() - 1, boolean, begin, end, depth};
  }

  // Bounds the recursion on "((((" and "- - - -" before any node exists.
  struct Nesting {
    Parser& p;
    Nesting(Parser& parser, std::size_t offset) : p(parser) {
      if (++p.nesting_ > kMaxDepth) {
        p.fail(offset, fmt::format("the expression nests more than {} operators deep", kMaxDepth));
      }
    }
    ~Nesting() { --p.nesting_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
  };

  void require_condition(const Parsed& p) const {
    if (p.boolean) return;
    const std::string s = excerpt(p);
    fail(p.begin, fmt::format("expected a comparison (\"{0}\" is a number; compare it, e.g. \"{0} > 0\")", s));
  }

  void require_number(const Parsed& p, const std::string& what) const {
    if (!p.boolean) return;
    fail(p.begin, fmt::format("{} (\"{}\" is a condition)", what, excerpt(p)));
  }

  Parsed parse_or() {
    Parsed left = parse_and();
    while (tok_.kind == Kind::kOr) {
      require_condition(left);
      next();
      const Parsed right = parse_and();
      require_condition(right);
      left = make(Op::kOr, left, right, true);
    }
    return left;
  }

  Parsed parse_and() {
    Parsed left = parse_not();
    while (tok_.kind == Kind::kAnd) {
      require_condition(left);
      next();
      const Parsed right = parse_not();
      require_condition(right);
      left = make(Op::kAnd, left, right, true);
    }
    return left;
  }

  Parsed parse_not() {
    if (tok_.kind != Kind::kNot) return parse_comparison();
    const Nesting guard(*this, tok_.begin);
    const std::size_t begin = tok_.begin;
    next();
    const Parsed operand = parse_not();
    require_condition(operand);
    Node n;
    n.op = Op::kNot;
    n.lhs = operand.node;
    return add(std::move(n), true, begin, operand.end, operand.depth + 1);
  }

  static bool comparison(Kind k) {
    return k == Kind::kLt || k == Kind::kLe || k == Kind::kGt || k == Kind::kGe || k == Kind::kEq || k == Kind::kNe;
  }

  Parsed parse_comparison() {
    const Parsed left = parse_sum();
    if (!comparison(tok_.kind)) return left;
    const Kind kind = tok_.kind;
    const std::string what = fmt::format("'{}' needs a number on each side", spelling());
    require_number(left, what);
    next();
    const Parsed right = parse_sum();
    require_number(right, what);
    if (comparison(tok_.kind)) fail(tok_.begin, "comparisons do not chain (write a < b and b < c)");
    const Op op = kind == Kind::kLt ? Op::kLt : kind == Kind::kLe ? Op::kLe : kind == Kind::kGt ? Op::kGt
                : kind == Kind::kGe ? Op::kGe : kind == Kind::kEq ? Op::kEq : Op::kNe;
    return make(op, left, right, true);
  }

  Parsed parse_sum() {
    Parsed left = parse_product();
    while (tok_.kind == Kind::kPlus || tok_.kind == Kind::kMinus) {
      const Op op = tok_.kind == Kind::kPlus ? Op::kAdd : Op::kSub;
      const std::string what = fmt::format("'{}' needs a number on each side", spelling());
      require_number(left, what);
      next();
      const Parsed right = parse_product();
      require_number(right, what);
      left = make(op, left, right, false);
    }
    return left;
  }

  Parsed parse_product() {
    Parsed left = parse_unary();
    while (tok_.kind == Kind::kStar || tok_.kind == Kind::kSlash) {
      const Op op = tok_.kind == Kind::kStar ? Op::kMul : Op::kDiv;
      const std::string what = fmt::format("'{}' needs a number on each side", spelling());
      require_number(left, what);
      next();
      const Parsed right = parse_unary();
      require_number(right, what);
      left = make(op, left, right, false);
    }
    return left;
  }

  Parsed parse_unary() {
    if (tok_.kind != Kind::kMinus) return parse_primary();
    const Nesting guard(*this, tok_.begin);
    const std::size_t begin = tok_.begin;
    next();
    const Parsed operand = parse_unary();
    require_number(operand, "'-' needs a number");
    Node n;
    n.op = Op::kNeg;
    n.lhs = operand.node;
    return add(std::move(n), false, begin, operand.end, operand.depth + 1);
  }

  Parsed parse_primary() {
    const Token tok = tok_;
    if (tok.kind == Kind::kNumber) {
      next();
      Node n;
      n.op = Op::kNumber;
      n.number = tok.value;
      return add(std::move(n), false, tok.begin, tok.end, 1);
    }
    if (tok.kind == Kind::kName) {
      const std::string name = spelling();
      if (std::find(measures_.begin(), measures_.end(), name) == measures_.end()) unknown_measure(name);
      next();
      if (std::find(t_.appearance_.begin(), t_.appearance_.end(), name) == t_.appearance_.end()) {
        t_.appearance_.push_back(name);
      }
      Node n;
      n.op = Op::kMeasure;
      n.measure = name;
      return add(std::move(n), false, tok.begin, tok.end, 1);
    }
    if (tok.kind == Kind::kLParen) {
      const Nesting guard(*this, tok.begin);
      next();
      Parsed inner = parse_or();
      if (tok_.kind != Kind::kRParen) {
        fail(tok_.begin, fmt::format("expected ')' {} to close the '(' at column {}", here(), column(tok.begin)));
      }
      // The parentheses belong to the operand, so messages quote "(a > 1)", not "a > 1".
      inner.begin = tok.begin;
      inner.end = tok_.end;
      next();
      return inner;
    }
    fail(tok.begin, fmt::format("expected a number, a measure or '(' {}", here()));
  }

  [[noreturn]] void unknown_measure(const std::string& name) const {
    std::string best;
    std::size_t best_distance = 3;  // suggest only within two edits, and never a whole rewrite of a short name
    for (const std::string& m : measures_) {
      const std::size_t d = edit_distance(name, m);
      if (d < best_distance && d < name.size()) {
        best_distance = d;
        best = m;
      }
    }
    const std::string hint = !best.empty()          ? fmt::format("did you mean {}?", best)
                             : measures_.empty() ? std::string("there are no measures")
                                                  : fmt::format("measures: {}", join(measures_));
    fail(tok_.begin, fmt::format("unknown measure \"{}\" ({})", name, hint));
  }

  Threshold& t_;
  const std::string& text_;
  const std::vector<std::string>& measures_;
  std::size_t pos_ = 0;
  Token tok_;
  int nesting_ = 0;
};

Threshold Threshold::parse(const std::string& text, const std::vector<std::string>& measures,
                           const std::string& flag) {
  Threshold t;
  t.text_ = text;
  t.flag_ = flag;
  Parser(t, measures).run();
  return t;
}

bool Threshold::holds(const std::map<std::string, double>& values) const {
  // Checked up front so a missing value is an error even in a branch that
  // and/or would not need for these values.
  for (const std::string& m : appearance_) {
    if (values.find(m) == values.end()) {
      throw InputError(fmt::format("{} '{}': no value for measure \"{}\"", flag_, text_, m));
    }
  }
  return condition(root_, values);
}

double Threshold::number(std::size_t node, const std::map<std::string, double>& values) const {
  const Node& n = nodes_[node];
  switch (n.op) {
    case Op::kNumber: return n.number;
    case Op::kMeasure: return values.find(n.measure)->second;  // present: holds() checked
    case Op::kNeg: return -number(n.lhs, values);
    case Op::kAdd: return number(n.lhs, values) + number(n.rhs, values);
    case Op::kSub: return number(n.lhs, values) - number(n.rhs, values);
    case Op::kMul: return number(n.lhs, values) * number(n.rhs, values);
    case Op::kDiv: return number(n.lhs, values) / number(n.rhs, values);
    default: return 0;  // not reached: the parser checked the types
  }
}

bool Threshold::condition(std::size_t node, const std::map<std::string, double>& values) const {
  const Node& n = nodes_[node];
  switch (n.op) {
    case Op::kNot: return !condition(n.lhs, values);
    case Op::kAnd: return condition(n.lhs, values) && condition(n.rhs, values);
    case Op::kOr: return condition(n.lhs, values) || condition(n.rhs, values);
    default: break;
  }
  const double a = number(n.lhs, values);
  const double b = number(n.rhs, values);
  // IEEE already makes < <= > >= == false on nan; != is made false too, so no
  // comparison fires on an undefined value.
  if (std::isnan(a) || std::isnan(b)) return false;
  switch (n.op) {
    case Op::kLt: return a < b;
    case Op::kLe: return a <= b;
    case Op::kGt: return a > b;
    case Op::kGe: return a >= b;
    case Op::kEq: return a == b;
    case Op::kNe: return a != b;
    default: return false;  // not reached: the parser checked the types
  }
}

std::vector<std::string> Threshold::measures_used() const {
  std::vector<std::string> out = appearance_;  // already unique
  std::sort(out.begin(), out.end());
  return out;
}

std::string Threshold::explain(const std::map<std::string, double>& values) const {
  std::string out = trimmed(text_);
  if (appearance_.empty()) return out;
  std::vector<std::string> shown;
  for (const std::string& m : appearance_) {
    const auto it = values.find(m);
    shown.push_back(it == values.end() ? m + " = (no value)" : fmt::format("{} = {}", m, it->second));
  }
  return out + " (" + join(shown) + ")";
}

std::string Threshold::structure() const { return render(root_); }

std::string Threshold::render(std::size_t node) const {
  const Node& n = nodes_[node];
  const char* op = "";
  switch (n.op) {
    case Op::kNumber: return fmt::format("{}", n.number);
    case Op::kMeasure: return n.measure;
    case Op::kNeg: return "(-" + render(n.lhs) + ")";
    case Op::kNot: return "(not " + render(n.lhs) + ")";
    case Op::kAdd: op = "+"; break;
    case Op::kSub: op = "-"; break;
    case Op::kMul: op = "*"; break;
    case Op::kDiv: op = "/"; break;
    case Op::kLt: op = "<"; break;
    case Op::kLe: op = "<="; break;
    case Op::kGt: op = ">"; break;
    case Op::kGe: op = ">="; break;
    case Op::kEq: op = "=="; break;
    case Op::kNe: op = "!="; break;
    case Op::kAnd: op = "and"; break;
    case Op::kOr: op = "or"; break;
  }
  return fmt::format("({} {} {})", render(n.lhs), op, render(n.rhs));
}

}  // namespace epsim::app
