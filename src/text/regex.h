// A small backtracking regex engine for the patterns of tokenizer.json (Split, Replace), with
// Oniguruma's semantics (leftmost-first alternation, greedy quantifiers). It supports literals,
// '.', escapes (\s \S \d \D \w \W \p{L} \P{N} \p{Lu}..., \n \t \xHH), classes [...],
// quantifiers ? * + {n} {n,} {n,m} (greedy or lazy), '|', groups (...) (?:...) (?i:...) and
// look-ahead (?=...) (?!...): what GPT-2, Llama 3 and Qwen 2 style Split patterns use. Anchors,
// look-behind, back-references and possessive quantifiers throw lowbit::Error, and so does a
// repeated group ((?:ab)+) that matches more than 200 times in a row (each repetition nests a
// call; groups of one character, (?:a|[bc])+, do not count).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace lowbit::text {

class Regex {
 public:
  static constexpr size_t npos = static_cast<size_t>(-1);
  // Throws lowbit::Error naming `where` and the pattern when it uses what is not supported.
  static Regex compile(const std::string& pattern, const std::string& where);
  // End of the match that starts at `pos` (the first the alternation order finds), or npos.
  size_t match_at(std::u32string_view s, size_t pos) const;

  Regex();
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// utf8proc's general categories L* and N*.
bool is_unicode_letter(char32_t c);
bool is_unicode_number(char32_t c);

}  // namespace lowbit::text
