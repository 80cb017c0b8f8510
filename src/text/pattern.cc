// The patterns of tokenizers' Split and Replace (a small backtracking regex engine), GPT-2's
// byte-level pre-tokenization regex matched by hand, NormalizedString::split's behaviours and the
// byte-level character map; character classes from utf8proc.
#include <utf8proc.h>

#include <algorithm>
#include <array>
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

constexpr size_t kNone = static_cast<size_t>(-1);

}  // namespace

bool is_regex_word(char32_t c) { return is_word(c); }
bool is_rust_numeric(char32_t c) { return is_number(c); }
bool is_rust_alphanumeric(char32_t c) {
  return is_letter(c) || is_number(c) || (c != 0x200C && c != 0x200D && in_ranges(kWordExtra, c));
}

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::vector<Span> gpt2_split(std::u32string_view s) {
  std::vector<Span> out;
  const size_t n = s.size();
  bool (*other)(char32_t) = [](char32_t c) {
    return !fast::is_whitespace(c) && !is_letter(c) && !is_number(c);
  };
  size_t i = 0;
  while (i < n) {
    const char32_t c = s[i];
    size_t end = kNone;
    if (c == '\'' && i + 1 < n) {
      const char32_t d = s[i + 1];
      if (d == 's' || d == 't' || d == 'm' || d == 'd') {
        end = i + 2;
      } else if (i + 2 < n && ((d == 'r' && s[i + 2] == 'e') || (d == 'v' && s[i + 2] == 'e') ||
                               (d == 'l' && s[i + 2] == 'l'))) {
        end = i + 3;
      }
    }
    if (end == kNone) {
      // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional space then a run of one
      // class (a space is in none of them, so without the space s[i] itself must be).
      const size_t j = (c == ' ' && i + 1 < n) ? i + 1 : i;
      bool (*cls)(char32_t) = nullptr;
      if (is_letter(s[j])) {
        cls = is_letter;
      } else if (is_number(s[j])) {
        cls = is_number;
      } else if (other(s[j])) {
        cls = other;
      }
      if (cls != nullptr) {
        size_t k = j;
        while (k < n && cls(s[k])) ++k;
        end = k;
      }
    }
    if (end == kNone) {
      // '\s+(?!\S)' then '\s+': a white space run, less its last character when a non-space
      // follows and the run is longer than one.
      size_t k = i;
      while (k < n && fast::is_whitespace(s[k])) ++k;
      if (k == i) {
        end = i + 1;  // unreachable: every character is in one of the classes
      } else if (k == n || k - i == 1) {
        end = k;
      } else {
        end = k - 1;
      }
    }
    out.emplace_back(i, end);
    i = end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Patterns.

namespace {

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

struct Atom {
  CharClass cls;
  size_t min = 1, max = 1;
};
using Branch = std::vector<Atom>;

class RegexParser {
 public:
  RegexParser(std::u32string_view re, const std::string& where, const std::string& source)
      : re_(re), where_(where), source_(source) {}

  std::vector<Branch> parse() {
    std::vector<Branch> alts(1);
    while (i_ < re_.size()) {
      const char32_t c = re_[i_];
      if (c == '|') {
        ++i_;
        alts.emplace_back();
        continue;
      }
      if (c == '(' || c == ')' || c == '^' || c == '$' || c == '*' || c == '+' || c == '?' ||
          c == '{')
        unsupported(quoted(c));
      Atom a;
      if (c == '.') {
        a.cls.any = true;
        ++i_;
      } else if (c == '[') {
        a.cls = parse_class();
      } else if (c == '\\') {
        a.cls = parse_escape();
      } else {
        a.cls.ranges.emplace_back(c, c);
        ++i_;
      }
      parse_quantifier(a);
      alts.back().push_back(std::move(a));
    }
    return alts;
  }

 private:
  static std::string quoted(char32_t c) {
    std::string q(1, '\'');
    append_utf8(q, c);
    q.push_back('\'');
    return q;
  }

  [[noreturn]] void unsupported(const std::string& what) {
    fail(where_, ": regex '", source_, "' is not supported (", what,
         "); lowbit's matcher supports literals, '.', classes, escapes, quantifiers and '|'");
  }

  void parse_quantifier(Atom& a) {
    if (i_ >= re_.size()) return;
    const char32_t q = re_[i_];
    if (q == '?') {
      a.min = 0, a.max = 1;
    } else if (q == '*') {
      a.min = 0, a.max = kNone;
    } else if (q == '+') {
      a.min = 1, a.max = kNone;
    } else if (q == '{') {
      ++i_;
      a.min = parse_number();
      a.max = a.min;
      if (i_ < re_.size() && re_[i_] == ',') {
        ++i_;
        a.max = (i_ < re_.size() && re_[i_] == '}') ? kNone : parse_number();
      }
      if (i_ >= re_.size() || re_[i_] != '}' || a.max < a.min) unsupported("bad {n,m}");
    } else {
      return;
    }
    ++i_;
    if (i_ < re_.size() && (re_[i_] == '?' || re_[i_] == '+'))
      unsupported("lazy or possessive quantifier");
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
  size_t i_ = 0;
};

size_t match_atoms(const Branch& b, size_t k, std::u32string_view s, size_t pos) {
  if (k == b.size()) return pos;
  const Atom& a = b[k];
  size_t n = 0;
  while (n < a.max && pos + n < s.size() && a.cls.matches(s[pos + n])) ++n;
  if (n < a.min) return kNone;
  for (size_t m = n;; --m) {
    const size_t r = match_atoms(b, k + 1, s, pos + m);
    if (r != kNone) return r;
    if (m == a.min) break;
  }
  return kNone;
}

}  // namespace

struct Pattern::Impl {
  enum Kind { kLiteral, kRegex, kGpt2 } kind = kLiteral;
  std::u32string literal;
  std::vector<Branch> alts;
};

Pattern::Pattern(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pattern::~Pattern() = default;
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;

Pattern Pattern::from_json(const nlohmann::json& j, const std::string& where) {
  auto impl = std::make_unique<Impl>();
  if (j.is_object() && j.contains("String") && j["String"].is_string()) {
    impl->literal = decode_utf8(j["String"].get<std::string>(), where);
  } else if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    const std::string re = j["Regex"].get<std::string>();
    if (re == kGpt2Pattern) {
      impl->kind = Impl::kGpt2;
    } else {
      impl->kind = Impl::kRegex;
      const std::u32string u = decode_utf8(re, where);
      impl->alts = RegexParser(u, where, re).parse();
    }
  } else {
    fail(where, ": 'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
  }
  return Pattern(std::move(impl));
}

std::vector<Span> Pattern::find_all(std::u32string_view s) const {
  std::vector<Span> out;
  if (impl_->kind == Impl::kGpt2) return gpt2_split(s);
  if (impl_->kind == Impl::kLiteral) {
    const std::u32string& lit = impl_->literal;
    if (lit.empty()) return out;
    for (size_t i = 0; i + lit.size() <= s.size();) {
      if (s.compare(i, lit.size(), lit) == 0) {
        out.emplace_back(i, i + lit.size());
        i += lit.size();
      } else {
        ++i;
      }
    }
    return out;
  }
  for (size_t i = 0; i < s.size();) {
    size_t end = kNone;
    for (const Branch& b : impl_->alts) {
      end = match_atoms(b, 0, s, i);
      if (end != kNone) break;
    }
    if (end != kNone && end > i) {
      out.emplace_back(i, end);
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<std::u32string> split_by_matches(std::u32string_view s,
                                             const std::vector<Span>& matches,
                                             SplitBehavior behavior) {
  // Alternating segments, as NormalizedString::split sees them.
  std::vector<std::pair<Span, bool>> segs;
  size_t prev = 0;
  for (const Span& m : matches) {
    if (m.first > prev) segs.push_back({{prev, m.first}, false});
    segs.push_back({m, true});
    prev = m.second;
  }
  if (prev < s.size()) segs.push_back({{prev, s.size()}, false});

  std::vector<Span> spans;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const auto& [sp, m] : segs)
        if (!m) spans.push_back(sp);
      break;
    case SplitBehavior::kIsolated:
      for (const auto& seg : segs) spans.push_back(seg.first);
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& [sp, m] : segs) {
        if (m && !previous_match && !spans.empty()) {
          spans.back().second = sp.second;
        } else {
          spans.push_back(sp);
        }
        previous_match = m;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->second && !previous_match && !spans.empty()) {
          spans.back().first = it->first.first;
        } else {
          spans.push_back(it->first);
        }
        previous_match = it->second;
      }
      std::reverse(spans.begin(), spans.end());
      break;
    case SplitBehavior::kContiguous:
      for (const auto& [sp, m] : segs) {
        if (m == previous_match && !spans.empty()) {
          spans.back().second = sp.second;
        } else {
          spans.push_back(sp);
        }
        previous_match = m;
      }
      break;
  }
  std::vector<std::u32string> out;
  out.reserve(spans.size());
  for (const Span& sp : spans) out.emplace_back(s.substr(sp.first, sp.second - sp.first));
  return out;
}

SplitBehavior parse_split_behavior(const nlohmann::json& j, const std::string& where) {
  const std::string b = j.is_string() ? j.get<std::string>() : "";
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  fail(where, ": unknown split behavior ", j.dump());
}

// ---------------------------------------------------------------------------------------------
// Byte-level map.

namespace {

struct ByteMap {
  std::array<char32_t, 256> to_char{};
  ByteMap() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      to_char[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

char32_t byte_to_char(uint8_t b) { return byte_map().to_char[b]; }

int byte_from_char(char32_t c) {
  if (c < 256) {
    const bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
    return printable ? static_cast<int>(c) : -1;
  }
  const auto& m = byte_map().to_char;
  for (size_t b = 0; b < 256; ++b)
    if (m[b] == c) return static_cast<int>(b);
  return -1;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    // Length and the allowed range of the second byte (Unicode's table 3-7).
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    size_t k = 1;
    if (len > 0) {
      for (; k < len && i + k < n; ++k) {
        const unsigned char c = p[i + k];
        if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
      }
    }
    if (len > 0 && k == len) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // the maximal invalid prefix becomes one U+FFFD
      i += std::max<size_t>(k, 1);
    }
  }
  return out;
}

}  // namespace lowbit::text
