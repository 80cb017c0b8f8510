// The patterns of tokenizers' Split and Replace (regexes through text/regex.h), GPT-2's
// byte-level pre-tokenization regex matched by hand, NormalizedString::split's behaviours and the
// byte-level character map; character classes from utf8proc.
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <string>

#include "core/error.h"
#include "text/regex.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace lowbit::text {
namespace {

bool (*const is_letter)(char32_t) = is_unicode_letter;
bool (*const is_number)(char32_t) = is_unicode_number;
constexpr size_t kNone = static_cast<size_t>(-1);

}  // namespace

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

struct Pattern::Impl {
  enum Kind { kLiteral, kRegex, kGpt2 } kind = kLiteral;
  std::u32string literal;
  Regex regex;
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
      impl->regex = Regex::compile(re, where);
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
    const size_t end = impl_->regex.match_at(s, i);
    if (end != Regex::npos && end > i) {
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
