// A small backtracking regex engine for the patterns of tokenizer.json (Split, Replace), with
// Oniguruma's semantics: leftmost-first alternation, greedy (or lazy) quantifiers, and the
// character classes of text/unicode.h and utf8proc.
#include "text/regex.h"

#include <utf8proc.h>

#include <algorithm>
#include <functional>
#include <string>

#include "core/error.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace lowbit::text {
namespace {

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

bool is_letter(char32_t c) {
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

bool is_number(char32_t c) {
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

bool is_mark(char32_t c) {
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME;
}

struct Range {
  char32_t lo, hi;
};

template <size_t N>
bool in_ranges(const Range (&table)[N], char32_t cp) {
  const Range* it = std::upper_bound(std::begin(table), std::end(table), cp,
                                     [](char32_t c, const Range& r) { return c < r.lo; });
  return it != std::begin(table) && cp <= (it - 1)->hi;
}

// What Oniguruma's \w (Unicode 16 in tokenizers 0.23.3) matches beyond utf8proc's Letter, Mark,
// Decimal_Number and Connector_Punctuation: the rest of Alphabetic (Nl, the circled and squared
// letters of Other_Alphabetic), Join_Control, and letters newer than utf8proc. Checked against
// tokenizers' Whitespace pre-tokenizer on every code point.
constexpr Range kWordExtra[] = {
    {0x0897, 0x0897},   {0x16EE, 0x16F0},   {0x1C89, 0x1C8A},   {0x200C, 0x200D},
    {0x2160, 0x2182},   {0x2185, 0x2188},   {0x24B6, 0x24E9},   {0x3007, 0x3007},
    {0x3021, 0x3029},   {0x3038, 0x303A},   {0xA6E6, 0xA6EF},   {0xA7CB, 0xA7CD},
    {0xA7DA, 0xA7DC},   {0x10140, 0x10174}, {0x10341, 0x10341}, {0x1034A, 0x1034A},
    {0x103D1, 0x103D5}, {0x105C0, 0x105F3}, {0x10D40, 0x10D65}, {0x10D69, 0x10D6D},
    {0x10D6F, 0x10D85}, {0x10EC2, 0x10EC4}, {0x10EFC, 0x10EFC}, {0x11380, 0x11389},
    {0x1138B, 0x1138B}, {0x1138E, 0x1138E}, {0x11390, 0x113B5}, {0x113B7, 0x113C0},
    {0x113C2, 0x113C2}, {0x113C5, 0x113C5}, {0x113C7, 0x113CA}, {0x113CC, 0x113D3},
    {0x113E1, 0x113E2}, {0x116D0, 0x116E3}, {0x11BC0, 0x11BE0}, {0x11BF0, 0x11BF9},
    {0x11F5A, 0x11F5A}, {0x12400, 0x1246E}, {0x13460, 0x143FA}, {0x16100, 0x16139},
    {0x16D40, 0x16D6C}, {0x16D70, 0x16D79}, {0x18CFF, 0x18CFF}, {0x1CCF0, 0x1CCF9},
    {0x1E5D0, 0x1E5FA}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
    {0x2EBF0, 0x2EE5D}};

// Oniguruma's \w: Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control.
bool is_word(char32_t c) {
  return is_letter(c) || is_mark(c) || category(c) == UTF8PROC_CATEGORY_ND ||
         category(c) == UTF8PROC_CATEGORY_PC || in_ranges(kWordExtra, c);
}

}  // namespace

bool is_unicode_letter(char32_t c) { return is_letter(c); }
bool is_unicode_number(char32_t c) { return is_number(c); }
bool is_regex_word(char32_t c) { return is_word(c); }
bool is_rust_numeric(char32_t c) { return is_number(c); }
bool is_rust_alphanumeric(char32_t c) {
  return is_letter(c) || is_number(c) || (c != 0x200C && c != 0x200D && in_ranges(kWordExtra, c));
}

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);
constexpr size_t kMaxGroupRepeats = 200;

struct CharClass {
  enum Prop { kSpace, kDigit, kWord, kLetter, kNumber, kPunct, kSymbol, kSeparator, kMark, kCat };
  struct PropItem {
    Prop prop;
    bool negated;
    utf8proc_category_t cat;  // kCat
  };
  std::vector<std::pair<char32_t, char32_t>> ranges;
  std::vector<PropItem> props;
  bool negated = false;
  bool any = false;  // '.': anything but \n

  static bool has(const PropItem& p, char32_t c) {
    const auto k = category(c);
    bool r = false;
    switch (p.prop) {
      case kSpace:
        r = fast::is_whitespace(c);
        break;
      case kDigit:
        r = k == UTF8PROC_CATEGORY_ND;
        break;
      case kWord:
        r = is_word(c);
        break;
      case kLetter:
        r = is_letter(c);
        break;
      case kNumber:
        r = is_number(c);
        break;
      case kPunct:
        r = k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
        break;
      case kSymbol:
        r = k >= UTF8PROC_CATEGORY_SM && k <= UTF8PROC_CATEGORY_SO;
        break;
      case kSeparator:
        r = k >= UTF8PROC_CATEGORY_ZS && k <= UTF8PROC_CATEGORY_ZP;
        break;
      case kMark:
        r = is_mark(c);
        break;
      case kCat:
        r = k == p.cat;
        break;
    }
    return r != p.negated;
  }
  bool matches(char32_t c) const {
    if (any) return c != '\n';
    bool in = false;
    for (const auto& [lo, hi] : ranges) in = in || (c >= lo && c <= hi);
    for (const auto& p : props) in = in || has(p, c);
    return in != negated;
  }
};

// A node of the parsed pattern.
struct Node {
  enum Kind { kClass, kSeq, kAlt, kRepeat, kLook } kind = kClass;
  CharClass cls;             // kClass
  bool icase = false;        // kClass inside (?i:...)
  std::vector<size_t> kids;  // kSeq, kAlt; kRepeat and kLook: one
  size_t min = 1, max = 1;   // kRepeat
  bool lazy = false;         // kRepeat
  bool negated = false;      // kLook: (?!...) rather than (?=...)
};

class RegexParser {
 public:
  RegexParser(std::u32string_view re, const std::string& where, const std::string& source,
              std::vector<Node>& nodes)
      : re_(re), where_(where), source_(source), nodes_(nodes) {}

  size_t parse() {
    const size_t root = parse_alt(false);
    if (i_ < re_.size()) unsupported("unbalanced ')'");
    return root;
  }

 private:
  size_t add(Node n) {
    nodes_.push_back(std::move(n));
    return nodes_.size() - 1;
  }

  size_t parse_alt(bool icase) {
    Node alt;
    alt.kind = Node::kAlt;
    alt.kids.push_back(parse_seq(icase));
    while (i_ < re_.size() && re_[i_] == '|') {
      ++i_;
      alt.kids.push_back(parse_seq(icase));
    }
    return alt.kids.size() == 1 ? alt.kids[0] : add(std::move(alt));
  }

  size_t parse_seq(bool icase) {
    Node seq;
    seq.kind = Node::kSeq;
    while (i_ < re_.size() && re_[i_] != '|' && re_[i_] != ')') {
      const char32_t c = re_[i_];
      if (c == '^' || c == '$' || c == '*' || c == '+' || c == '?' || c == '{')
        unsupported(quoted(c));
      size_t atom;
      if (c == '(') {
        atom = parse_group(icase);
      } else {
        Node n;
        n.icase = icase;
        if (c == '.') {
          n.cls.any = true;
          ++i_;
        } else if (c == '[') {
          n.cls = parse_class();
        } else if (c == '\\') {
          n.cls = parse_escape();
        } else {
          n.cls.ranges.emplace_back(c, c);
          ++i_;
        }
        atom = add(std::move(n));
      }
      seq.kids.push_back(parse_quantifier(atom));
    }
    return add(std::move(seq));
  }

  // After '(': (...), (?:...), (?i:...), (?=...), (?!...).
  size_t parse_group(bool icase) {
    ++i_;
    int look = 0;  // 1: (?=, -1: (?!
    if (i_ < re_.size() && re_[i_] == '?') {
      ++i_;
      if (re_.substr(i_).starts_with(U":")) {
        i_ += 1;
      } else if (re_.substr(i_).starts_with(U"i:")) {
        icase = true;
        i_ += 2;
      } else if (re_.substr(i_).starts_with(U"=")) {
        look = 1, i_ += 1;
      } else if (re_.substr(i_).starts_with(U"!")) {
        look = -1, i_ += 1;
      } else {
        unsupported("group '(?" + encode_utf8(re_.substr(i_, 2)) + "'");
      }
    }
    const size_t inner = parse_alt(icase);
    if (i_ >= re_.size() || re_[i_] != ')') unsupported("unbalanced '('");
    ++i_;
    if (look == 0) return inner;
    Node n;
    n.kind = Node::kLook;
    n.negated = look < 0;
    n.kids.push_back(inner);
    return add(std::move(n));
  }

  size_t parse_quantifier(size_t atom) {
    if (i_ >= re_.size()) return atom;
    Node r;
    r.kind = Node::kRepeat;
    r.kids.push_back(atom);
    const char32_t q = re_[i_];
    if (q == '?') {
      r.min = 0, r.max = 1;
    } else if (q == '*') {
      r.min = 0, r.max = kNone;
    } else if (q == '+') {
      r.min = 1, r.max = kNone;
    } else if (q == '{') {
      ++i_;
      r.min = parse_number();
      r.max = r.min;
      if (i_ < re_.size() && re_[i_] == ',') {
        ++i_;
        r.max = (i_ < re_.size() && re_[i_] == '}') ? kNone : parse_number();
      }
      if (i_ >= re_.size() || re_[i_] != '}' || r.max < r.min) unsupported("bad {n,m}");
    } else {
      return atom;
    }
    ++i_;
    if (i_ < re_.size() && re_[i_] == '?') {
      r.lazy = true;
      ++i_;
    } else if (i_ < re_.size() && re_[i_] == '+') {
      unsupported("possessive quantifier");
    }
    return add(std::move(r));
  }

  static std::string quoted(char32_t c) {
    std::string q(1, '\'');
    append_utf8(q, c);
    q.push_back('\'');
    return q;
  }

  [[noreturn]] void unsupported(const std::string& what) {
    fail(where_, ": regex '", source_, "' is not supported (", what,
         "); lowbit's matcher supports literals, '.', classes, escapes, greedy and lazy "
         "quantifiers, '|', (...), (?:...), (?i:...), (?=...) and (?!...)");
  }

  size_t parse_number() {
    size_t v = 0, digits = 0;
    while (i_ < re_.size() && re_[i_] >= '0' && re_[i_] <= '9' && digits < 6) {
      v = v * 10 + (re_[i_++] - '0');
      ++digits;
    }
    if (digits == 0) unsupported("bad {n,m}");
    return v;
  }

  // After '\': a class or one character.
  CharClass parse_escape() {
    ++i_;
    if (i_ >= re_.size()) unsupported("trailing '\\'");
    const char32_t e = re_[i_++];
    CharClass cls;
    auto prop = [&](CharClass::Prop p, bool neg) {
      cls.props.push_back({p, neg, UTF8PROC_CATEGORY_CN});
      return cls;
    };
    switch (e) {
      case 's':
        return prop(CharClass::kSpace, false);
      case 'S':
        return prop(CharClass::kSpace, true);
      case 'd':
        return prop(CharClass::kDigit, false);
      case 'D':
        return prop(CharClass::kDigit, true);
      case 'w':
        return prop(CharClass::kWord, false);
      case 'W':
        return prop(CharClass::kWord, true);
      case 'p':
      case 'P':
        return parse_property(e == 'P');
      case 'n':
        cls.ranges.emplace_back('\n', '\n');
        return cls;
      case 't':
        cls.ranges.emplace_back('\t', '\t');
        return cls;
      case 'r':
        cls.ranges.emplace_back('\r', '\r');
        return cls;
      case 'f':
        cls.ranges.emplace_back('\f', '\f');
        return cls;
      case 'v':
        cls.ranges.emplace_back('\v', '\v');
        return cls;
      case 'x': {
        const char32_t c = parse_hex();
        cls.ranges.emplace_back(c, c);
        return cls;
      }
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
          unsupported("escape " + quoted(e));
        cls.ranges.emplace_back(e, e);
        return cls;
    }
  }

  char32_t parse_hex() {
    const bool braced = i_ < re_.size() && re_[i_] == '{';
    if (braced) ++i_;
    char32_t v = 0;
    size_t digits = 0;
    while (i_ < re_.size() && digits < (braced ? 6u : 2u)) {
      const char32_t h = re_[i_];
      const int d = h >= '0' && h <= '9'   ? int(h - '0')
                    : h >= 'a' && h <= 'f' ? int(h - 'a' + 10)
                    : h >= 'A' && h <= 'F' ? int(h - 'A' + 10)
                                           : -1;
      if (d < 0) break;
      v = v * 16 + static_cast<char32_t>(d);
      ++i_, ++digits;
    }
    if (digits == 0 || (braced && (i_ >= re_.size() || re_[i_++] != '}')) || v > 0x10FFFF)
      unsupported("bad \\x escape");
    return v;
  }

  CharClass parse_property(bool negated) {
    std::u32string name;
    if (i_ < re_.size() && re_[i_] == '{') {
      ++i_;
      while (i_ < re_.size() && re_[i_] != '}') name.push_back(re_[i_++]);
      if (i_ >= re_.size()) unsupported("unterminated \\p{");
      ++i_;
    } else if (i_ < re_.size()) {
      name.push_back(re_[i_++]);
    }
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.erase(0, 1);
    }
    CharClass cls;
    static const std::pair<const char*, CharClass::Prop> kGroups[] = {
        {"L", CharClass::kLetter},      {"Letter", CharClass::kLetter}, {"N", CharClass::kNumber},
        {"Number", CharClass::kNumber}, {"P", CharClass::kPunct},       {"S", CharClass::kSymbol},
        {"Z", CharClass::kSeparator},   {"M", CharClass::kMark}};
    const std::string n = encode_utf8(name);
    for (const auto& [g, p] : kGroups) {
      if (n == g) {
        cls.props.push_back({p, negated, UTF8PROC_CATEGORY_CN});
        return cls;
      }
    }
    static const char* const kCats[] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd",
                                        "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm",
                                        "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"};
    for (size_t k = 0; k < std::size(kCats); ++k) {
      if (n == kCats[k]) {
        cls.props.push_back({CharClass::kCat, negated, static_cast<utf8proc_category_t>(k)});
        return cls;
      }
    }
    unsupported("property \\p{" + n + "}");
  }

  CharClass parse_class() {
    ++i_;  // '['
    CharClass cls;
    if (i_ < re_.size() && re_[i_] == '^') {
      cls.negated = true;
      ++i_;
    }
    bool first = true;
    while (i_ < re_.size() && (re_[i_] != ']' || first)) {
      first = false;
      char32_t lo;
      if (re_[i_] == '[') unsupported("nested class");
      if (re_[i_] == '\\') {
        CharClass e = parse_escape();
        if (!e.props.empty() || e.ranges.size() != 1) {
          cls.props.insert(cls.props.end(), e.props.begin(), e.props.end());
          cls.ranges.insert(cls.ranges.end(), e.ranges.begin(), e.ranges.end());
          continue;
        }
        lo = e.ranges[0].first;
      } else {
        lo = re_[i_++];
      }
      char32_t hi = lo;
      if (i_ + 1 < re_.size() && re_[i_] == '-' && re_[i_ + 1] != ']') {
        ++i_;
        if (re_[i_] == '\\') {
          CharClass e = parse_escape();
          if (!e.props.empty() || e.ranges.size() != 1) unsupported("bad range");
          hi = e.ranges[0].first;
        } else {
          hi = re_[i_++];
        }
        if (hi < lo) unsupported("bad range");
      }
      cls.ranges.emplace_back(lo, hi);
    }
    if (i_ >= re_.size()) unsupported("unterminated class");
    ++i_;  // ']'
    return cls;
  }

  std::u32string_view re_;
  const std::string& where_;
  const std::string& source_;
  std::vector<Node>& nodes_;
  size_t i_ = 0;
};

bool class_matches(const Node& n, char32_t c) {
  if (n.cls.matches(c)) return true;
  if (!n.icase) return false;
  const auto u = static_cast<utf8proc_int32_t>(c);
  return n.cls.matches(static_cast<char32_t>(utf8proc_tolower(u))) ||
         n.cls.matches(static_cast<char32_t>(utf8proc_toupper(u)));
}

using Cont = std::function<bool(size_t)>;

class Matcher {
 public:
  Matcher(const std::vector<Node>& nodes, std::u32string_view s) : nodes_(nodes), s_(s) {}

  bool match(size_t id, size_t pos, const Cont& k) const {
    const Node& n = nodes_[id];
    switch (n.kind) {
      case Node::kClass:
        return pos < s_.size() && class_matches(n, s_[pos]) && k(pos + 1);
      case Node::kSeq:
        return seq(n, 0, pos, k);
      case Node::kAlt:
        for (size_t kid : n.kids)
          if (match(kid, pos, k)) return true;
        return false;
      case Node::kLook: {
        const bool found = match(n.kids[0], pos, [](size_t) { return true; });
        return found != n.negated && k(pos);
      }
      case Node::kRepeat:
        return repeat(n, pos, k);
    }
    return false;
  }

 private:
  bool seq(const Node& n, size_t i, size_t pos, const Cont& k) const {
    if (i == n.kids.size()) return k(pos);
    return match(n.kids[i], pos, [&](size_t p) { return seq(n, i + 1, p, k); });
  }

  // Whether `n` always matches exactly one character: a class, or an alternation or a group of
  // such nodes ((?:a|[bc])). Repeating one needs no backtracking into it.
  bool single_char(const Node& n) const {
    switch (n.kind) {
      case Node::kClass:
        return true;
      case Node::kAlt:
        return std::all_of(n.kids.begin(), n.kids.end(),
                           [&](size_t k) { return single_char(nodes_[k]); });
      case Node::kSeq:
        return n.kids.size() == 1 && single_char(nodes_[n.kids[0]]);
      default:
        return false;
    }
  }

  bool char_matches(const Node& n, char32_t c) const {
    if (n.kind == Node::kClass) return class_matches(n, c);
    return std::any_of(n.kids.begin(), n.kids.end(),
                       [&](size_t k) { return char_matches(nodes_[k], c); });
  }

  bool repeat(const Node& n, size_t pos, const Cont& k) const {
    const Node& kid = nodes_[n.kids[0]];
    if (single_char(kid)) {
      // One character at a time: no recursion per repetition.
      size_t run = 0;
      while (run < n.max && pos + run < s_.size() && char_matches(kid, s_[pos + run])) ++run;
      if (run < n.min) return false;
      if (n.lazy) {
        for (size_t m = n.min; m <= run; ++m)
          if (k(pos + m)) return true;
        return false;
      }
      for (size_t m = run;; --m) {
        if (k(pos + m)) return true;
        if (m == n.min) return false;
      }
    }
    return repeat_group(n, 0, pos, k);
  }

  bool repeat_group(const Node& n, size_t count, size_t pos, const Cont& k) const {
    // Each repetition of a group nests a call: bound the depth rather than the stack.
    if (count > kMaxGroupRepeats)
      fail("regex: a repeated group matched more than ", kMaxGroupRepeats, " times in a row");
    auto more = [&] {
      return count < n.max && match(n.kids[0], pos, [&](size_t p) {
               return p != pos && repeat_group(n, count + 1, p, k);  // no empty iterations
             });
    };
    if (count < n.min) return more();
    if (n.lazy) return k(pos) || more();
    return more() || k(pos);
  }

  const std::vector<Node>& nodes_;
  std::u32string_view s_;
};

}  // namespace

struct Regex::Impl {
  std::vector<Node> nodes;
  size_t root = 0;
};

Regex::Regex() = default;
Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

Regex Regex::compile(const std::string& pattern, const std::string& where) {
  Regex r;
  r.impl_ = std::make_unique<Impl>();
  const std::u32string u = decode_utf8(pattern, where);
  r.impl_->root = RegexParser(u, where, pattern, r.impl_->nodes).parse();
  return r;
}

size_t Regex::match_at(std::u32string_view s, size_t pos) const {
  size_t end = npos;
  Matcher(impl_->nodes, s).match(impl_->root, pos, [&](size_t e) {
    end = e;
    return true;
  });
  return end;
}

}  // namespace lowbit::text
