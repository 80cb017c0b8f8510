// BERT WordPiece tokenizer, matching Hugging Face's BertTokenizer (uncased and cased), either
// the current one (default) or the legacy Python one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/error.h"

namespace lowbit {

struct TokenizerOptions {
  bool lower_case = true;
  // nullopt: strip accents exactly when lower-casing (Hugging Face's default).
  std::optional<bool> strip_accents;
  bool tokenize_chinese_chars = true;
  size_t max_input_chars_per_word = 100;
  // false = Hugging Face's current BertTokenizer (the Rust `tokenizers` BertNormalizer /
  // BertPreTokenizer / WordPiece, used by transformers >= 5 and sentence-transformers);
  // true = transformers' legacy Python BertTokenizer (BertTokenizerLegacy). They differ in NFC,
  // Greek final sigma, special tokens revealed by cleaning, unassigned code points, a few
  // character classes, pair truncation and an empty second text of a pair.
  bool legacy = false;
};

struct Encoding {
  std::vector<int32_t> ids;       // with [CLS] ... [SEP] (... [SEP])
  std::vector<int32_t> type_ids;  // 0 for the first segment, 1 for the second
  size_t untruncated_length = 0;  // length the encoding would have had without truncation
  bool truncated() const { return untruncated_length > ids.size(); }
};

class WordPieceTokenizer {
 public:
  // vocab.txt: one token per line, id = line number (0-based). Throws lowbit::Error.
  static WordPieceTokenizer from_vocab_file(const std::string& path, TokenizerOptions opts = {});
  // A model folder: vocab.txt plus, when present, tokenizer_config.json (do_lower_case,
  // strip_accents, tokenize_chinese_chars).
  static WordPieceTokenizer from_dir(const std::string& dir);
  static WordPieceTokenizer from_vocab(std::vector<std::string> vocab, TokenizerOptions opts = {});

  WordPieceTokenizer(WordPieceTokenizer&&) noexcept;
  WordPieceTokenizer& operator=(WordPieceTokenizer&&) noexcept;
  ~WordPieceTokenizer();

  // Word pieces of `text` (no special tokens). Invalid UTF-8 throws lowbit::Error naming the
  // byte offset.
  std::vector<std::string> tokenize(std::string_view text) const;
  std::vector<int32_t> tokenize_ids(std::string_view text) const;
  // [CLS] text [SEP], truncated to max_length (>= 2) by dropping word pieces at the end.
  Encoding encode(std::string_view text, size_t max_length) const;
  // [CLS] a [SEP] b [SEP] with type ids; "longest_first" truncation as Hugging Face does it.
  // Fast mode: an empty `b` gives encode(a, max_length), as tok(a, "") does in transformers 5.
  Encoding encode_pair(std::string_view a, std::string_view b, size_t max_length) const;

  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  const std::string& id_to_token(int32_t id) const;
  size_t vocab_size() const;
  const TokenizerOptions& options() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;

 private:
  struct Impl;
  explicit WordPieceTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit
