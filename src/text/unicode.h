// UTF-8 decoding with strict validation, and the Unicode character classes of Hugging Face's two
// BERT tokenizers, built on utf8proc.
//
// Legacy (transformers' Python BertTokenizer): the classes follow Python's unicodedata and str
// methods. utf8proc's Unicode version (15.0 for utf8proc 2.8) may be newer than the one of the
// Python that generated a reference (3.11: 14.0); characters assigned in between are unassigned
// (category Cn, hence "control") to that Python and may be classified differently.
//
// Fast (the Rust `tokenizers` BertNormalizer and BertPreTokenizer): see namespace `fast` below.
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

// The classes of the Rust `tokenizers` library (checked against tokenizers 0.23.3 on every code
// point). They come from three sources frozen at different Unicode versions, which is why they
// do not follow utf8proc's: the unicode_categories crate (0.1.1: Unicode 8.0) for control,
// punctuation and nonspacing marks, unicode-normalization-alignments (Unicode 9.0) for NFD, and
// Rust's std (Unicode 17.0 in the 0.23.3 wheels) for white space and lower-casing.
namespace fast {

// Cleaned away: categories Cc, Cf, Co of Unicode 8.0 except \t, \n, \r. Unassigned code
// points (Cn, noncharacters such as U+FFFF included) are kept, and so are the format
// characters assigned after 8.0 (U+0890, U+110CD, U+13430...).
bool is_control(char32_t cp);
// Rust's char::is_whitespace (the White_Space property): \t-\r, ' ', U+0085, Zs, U+2028, U+2029.
bool is_whitespace(char32_t cp);
// ASCII punctuation and category P* of Unicode 8.0.
bool is_punctuation(char32_t cp);
// BertNormalizer's CJK blocks: those of is_cjk_char, except that CJK Extension E starts at
// U+2B920 instead of U+2B820.
bool is_cjk_char(char32_t cp);
// Rust's char::to_lowercase on every character: no Final_Sigma context (U+03A3 -> U+03C3
// always); U+0130 -> "i\u0307".
std::u32string lower(std::u32string_view s);
// NFD with Unicode 9.0 data, then every nonspacing mark (Mn) of Unicode 8.0 removed.
std::u32string strip_accents(std::u32string_view s);
// The NFD normalizer (Unicode 9.0 data, as in strip_accents).
std::u32string nfd(std::u32string_view s);
// What the StripAccents normalizer removes: General_Category Mark (Mn, Mc, Me) of Unicode 9.0.
bool is_combining_mark(char32_t cp);

}  // namespace fast

}  // namespace lowbit::text
