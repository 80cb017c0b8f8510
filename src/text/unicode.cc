#include "text/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

#include "core/error.h"

namespace lowbit::text {
namespace {

std::string hex_byte(unsigned char b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 15];
}

[[noreturn]] void bad_utf8(std::string_view what, size_t offset, const std::string& why) {
  fail(what, " is not valid UTF-8: ", why, " at byte offset ", offset);
}

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// Python's Case_Ignorable (DerivedCoreProperties): categories Mn, Me, Cf, Lm, Sk, plus the
// characters whose Word_Break value is MidLetter, MidNumLet or Single_Quote. utf8proc has no
// Word_Break property, so those 17 characters (WordBreakProperty.txt, unchanged since Unicode
// 6.3) are listed here.
constexpr char32_t kWordBreakMid[] = {0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F,
                                      0x05F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                      0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};

bool is_case_ignorable(char32_t cp) {
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      return std::find(std::begin(kWordBreakMid), std::end(kWordBreakMid), cp) !=
             std::end(kWordBreakMid);
  }
}

// Python's Cased (Lowercase or Uppercase or Lt). Letters with a case mapping cover nearly all
// of it; Other_Lowercase / Other_Uppercase adds a few characters that have no mapping: the
// ordinal indicators and the squared / negative circled / negative squared Latin capitals.
bool is_cased(char32_t cp) {
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
      return true;
    default:
      break;
  }
  const auto c = static_cast<utf8proc_int32_t>(cp);
  if (utf8proc_tolower(c) != c || utf8proc_toupper(c) != c || utf8proc_totitle(c) != c) return true;
  return cp == 0xAA || cp == 0xBA || (cp >= 0x1F130 && cp <= 0x1F149) ||
         (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
}

// CPython's handle_capital_sigma: U+03A3 becomes final sigma when preceded by a cased letter
// and not followed by one, case-ignorable characters being skipped on both sides.
char32_t lower_capital_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  char32_t c = 0;
  bool found = false;
  while (j > 0) {
    c = s[--j];
    if (!is_case_ignorable(c)) {
      found = true;
      break;
    }
  }
  bool final_sigma = found && is_cased(c);
  if (final_sigma) {
    for (j = i + 1; j < s.size(); ++j) {
      if (!is_case_ignorable(s[j])) break;
    }
    final_sigma = j == s.size() || !is_cased(s[j]);
  }
  return final_sigma ? 0x3C2 : 0x3C3;
}

// Canonical decomposition (with canonical reordering, which utf8proc_decompose does).
std::vector<utf8proc_int32_t> decompose(std::u32string_view s) {
  const std::string utf8 = encode_utf8(s);
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  const auto len = static_cast<utf8proc_ssize_t>(utf8.size());
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  std::vector<utf8proc_int32_t> out(s.size() + 8);
  for (;;) {
    const utf8proc_ssize_t n = utf8proc_decompose(
        bytes, len, out.data(), static_cast<utf8proc_ssize_t>(out.size()), options);
    if (n < 0) fail("utf8proc_decompose failed: ", utf8proc_errmsg(n));
    if (static_cast<size_t>(n) <= out.size()) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
    out.resize(static_cast<size_t>(n));
  }
}

bool all_below(std::u32string_view s, char32_t limit) {
  for (char32_t c : s)
    if (c >= limit) return false;
  return true;
}

}  // namespace

std::u32string decode_utf8(std::string_view bytes, std::string_view what) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    size_t len;
    char32_t cp;
    char32_t min;
    if (b < 0xC0) {
      bad_utf8(what, i, "unexpected continuation byte " + hex_byte(b));
    } else if (b < 0xE0) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if (b < 0xF0) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if (b < 0xF8) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      bad_utf8(what, i, "byte " + hex_byte(b) + " never occurs in UTF-8");
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
        bad_utf8(what, i, "truncated " + std::to_string(len) + "-byte sequence");
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min) bad_utf8(what, i, "overlong encoding");
    if (cp >= 0xD800 && cp <= 0xDFFF) bad_utf8(what, i, "encoded surrogate");
    if (cp > 0x10FFFF) bad_utf8(what, i, "code point above U+10FFFF");
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

bool is_bert_whitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  return category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool is_bert_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
      return true;
    default:
      return false;
  }
}

bool is_bert_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126))
    return true;
  const auto cat = category(cp);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_cjk_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_python_space(char32_t cp) {
  if (cp > 0x10FFFF) return false;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

std::u32string python_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else if (c == 0x130) {
      // The one unconditional multi-character lower-case mapping in SpecialCasing.txt.
      out.push_back(U'i');
      out.push_back(0x307);
    } else if (c == 0x3A3) {
      out.push_back(lower_capital_sigma(s, i));
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

std::u32string strip_accents(std::u32string_view s) {
  // Below U+00C0 nothing decomposes and nothing is Mn.
  if (all_below(s, 0xC0)) return std::u32string(s);
  std::u32string out;
  for (utf8proc_int32_t c : decompose(s)) {
    if (category(static_cast<char32_t>(c)) != UTF8PROC_CATEGORY_MN)
      out.push_back(static_cast<char32_t>(c));
  }
  return out;
}

std::u32string nfc(std::u32string_view s) {
  // Below U+0300 every character is its own NFC and none combines with what precedes it.
  if (all_below(s, 0x300)) return std::u32string(s);
  std::vector<utf8proc_int32_t> buf = decompose(s);
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  const utf8proc_ssize_t n =
      utf8proc_normalize_utf32(buf.data(), static_cast<utf8proc_ssize_t>(buf.size()), options);
  if (n < 0) fail("utf8proc_normalize_utf32 failed: ", utf8proc_errmsg(n));
  std::u32string out;
  out.reserve(static_cast<size_t>(n));
  for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<char32_t>(buf[i]));
  return out;
}

}  // namespace lowbit::text
