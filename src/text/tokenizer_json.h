// The parts of a tokenizer.json pipeline (Hugging Face `tokenizers`): normalizers, pre-tokenizers,
// models and decoders, each built from its JSON object. The pipeline itself (added tokens,
// post-processing, truncation) is in tokenizer_json.cc.
//
// Text is UTF-8 throughout (std::string); components that work on characters decode it.
// Every factory throws lowbit::Error naming `where` (the file and the JSON path) and the
// component's type when the component or one of its options is not supported.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::text {

// A piece of the text on its way through the pipeline.
struct Piece {
  std::string text;
  int32_t id = -1;        // >= 0: an added token, tokenized already
  bool at_start = false;  // starts at offset 0 of the original text (Metaspace's "first")
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece that is not an added token; empty pieces are dropped.
  void pre_tokenize(std::vector<Piece>& pieces) const;
  // The pieces of one piece, in order (empty ones allowed, dropped by the caller).
  virtual void split(const Piece& piece, std::vector<Piece>& out) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string kind() const = 0;
  // Ids of one pre-tokenized word (non-empty).
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
  // id -> token of the model's vocabulary (ids 0 .. size-1; gaps are empty strings).
  virtual const std::vector<std::string>& vocab() const = 0;
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when absent
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // tokenizers' decode_chain: the tokens transformed, later concatenated.
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Model> make_model(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where);

// What a split does with the matches of its pattern (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
SplitBehavior parse_split_behavior(const nlohmann::json& j, const std::string& where);

// A match [begin, end) in code points.
using Span = std::pair<size_t, size_t>;

// A pattern of tokenizers' Split / Replace: {"String": s} or {"Regex": r}. Regexes go through
// text/regex.h (groups, (?i:...), look-ahead, greedy and lazy quantifiers, Unicode classes); the
// GPT-2 pattern is recognised and run by the ByteLevel matcher. What the engine does not support
// (anchors, look-behind, back-references) throws lowbit::Error naming `where` and the pattern.
class Pattern {
 public:
  static Pattern from_json(const nlohmann::json& j, const std::string& where);
  // Non-overlapping leftmost matches, none empty.
  std::vector<Span> find_all(std::u32string_view s) const;
  ~Pattern();
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;

 private:
  struct Impl;
  explicit Pattern(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The pieces of `s` given its matches (sorted, non-overlapping), as NormalizedString::split.
std::vector<std::u32string> split_by_matches(std::u32string_view s,
                                             const std::vector<Span>& matches,
                                             SplitBehavior behavior);

// GPT-2's pre-tokenization regex, by hand:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<Span> gpt2_split(std::u32string_view s);
extern const char* const kGpt2Pattern;

// GPT-2's byte <-> printable character map (bytes_to_unicode).
char32_t byte_to_char(uint8_t b);
int byte_from_char(char32_t c);  // -1 when `c` is not one of the 256

// Bytes as UTF-8 text, each maximal invalid sequence replaced by U+FFFD (Rust's
// String::from_utf8_lossy).
std::string utf8_lossy(std::string_view bytes);

// Rust's char classes used by tokenizers beyond those of text/unicode.h.
bool is_rust_alphanumeric(char32_t c);  // char::is_alphanumeric (L*, N*, the rest of Alphabetic)
bool is_rust_numeric(char32_t c);       // char::is_numeric: N*
bool is_regex_word(char32_t c);         // \w of Oniguruma (Alphabetic, M*, Nd, Pc, ZWJ, ZWNJ)

// tokenizers' LongestFirst truncation of a pair of la + lb > room tokens: how many of each to
// keep. The shorter sequence is kept whole when it takes at most half the room, the longer one
// getting the rest; otherwise each gets half, the longer one (the second when they are equal)
// keeping the odd token.
std::pair<size_t, size_t> longest_first(size_t la, size_t lb, size_t room);

// The WordPiece decoder: tokens joined by spaces, `prefix` glued to the token before it, and
// tokenizers' cleanup (" ." -> ".", " n't" -> "n't", ...) when asked.
std::string wordpiece_decode(const std::vector<std::string>& tokens, std::string_view prefix,
                             bool cleanup);

// JSON helpers that name the field at fault.
const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where);
std::string get_string(const nlohmann::json& j, const char* key, const std::string& where);
bool get_bool(const nlohmann::json& j, const char* key, const std::string& where, bool dflt);

}  // namespace lowbit::text
