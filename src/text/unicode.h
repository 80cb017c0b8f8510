// UTF-8 decoding with strict validation, and the Unicode character classes that Hugging Face's
// BertTokenizer uses, built on utf8proc.
//
// The classes follow Python's unicodedata and str methods, because the reference tokenizer is
// Python code. utf8proc's Unicode version (15.0 for utf8proc 2.8) may be newer than the one of
// the Python that generated a reference (3.11: 14.0); characters assigned in between are
// unassigned (category Cn, hence "control") to that Python and may be classified differently.
#pragma once

#include <string>
#include <string_view>

namespace lowbit::text {

// Strict UTF-8 (what Python's "utf-8" codec accepts). Throws lowbit::Error naming the byte
// offset of the first bad sequence: overlong forms, surrogates, code points above U+10FFFF,
// truncated sequences, stray continuation bytes and bytes that never occur in UTF-8.
// `what` names the input in the message ("tokenizer input", a file path, ...).
std::u32string decode_utf8(std::string_view bytes, std::string_view what = "input");
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view cps);

// BertTokenizer's classes (transformers' _is_whitespace, _is_control, _is_punctuation).
// Whitespace: ' ', \t, \n, \r and category Zs.
bool is_bert_whitespace(char32_t cp);
// Control: any category C* (Cc, Cf, Cs, Co, Cn) except \t, \n, \r.
bool is_bert_control(char32_t cp);
// Punctuation: every non-alphanumeric printable ASCII character, and category P*.
bool is_bert_punctuation(char32_t cp);
// The CJK ideograph blocks of BasicTokenizer._is_chinese_char (not kana, not hangul).
bool is_cjk_char(char32_t cp);

// Python's str.isspace(): category Zs or bidirectional class WS, B or S. This is what
// str.split() splits on, a wider set than is_bert_whitespace (U+2028, U+2029, U+001C...).
bool is_python_space(char32_t cp);

// Python's str.lower(): full lower-case mapping (U+0130 -> "i\u0307") with the Final_Sigma
// context for U+03A3, which looks at the neighbours within `s`.
std::u32string python_lower(std::u32string_view s);

// NFD, then every character of category Mn removed (BasicTokenizer._run_strip_accents).
std::u32string strip_accents(std::u32string_view s);

// Canonical composition (NFC).
std::u32string nfc(std::u32string_view s);

}  // namespace lowbit::text
