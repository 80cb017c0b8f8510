// Tokenizers behind one interface (lowbit::Tokenizer), each giving the ids of Hugging Face's:
//  * WordPieceTokenizer: BERT's WordPiece from vocab.txt (+ tokenizer_config.json), matching
//    Hugging Face's BertTokenizer (uncased and cased), the current one (default) or the legacy
//    Python one;
//  * a tokenizer.json reader (src/text/tokenizer_json.cc) for the WordPiece, BPE and Unigram
//    models of the Rust `tokenizers` library with their normalizers, pre-tokenizers, added
//    tokens and post-processors.
// Tokenizer::from_dir picks one for a model folder.
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

// What every tokenizer offers. Implementations are immutable once built: every method is const
// and may be called from several threads at once.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // A model folder: tokenizer.json when present (WordPiece, BPE or Unigram), else vocab.txt
  // (+ tokenizer_config.json, special_tokens_map.json) as WordPieceTokenizer::from_dir; else a
  // lowbit::Error naming both missing files.
  static std::unique_ptr<Tokenizer> from_dir(const std::string& dir);
  // A tokenizer.json file. Unsupported components throw lowbit::Error naming the file and the
  // component.
  static std::unique_ptr<Tokenizer> from_tokenizer_json(const std::string& path);

  // Ids of `text` without special tokens (Hugging Face's add_special_tokens=False). Invalid
  // UTF-8 throws lowbit::Error.
  virtual std::vector<int32_t> tokenize_ids(std::string_view text) const = 0;
  // Special tokens added as the tokenizer's post-processor adds them; truncated to max_length
  // by dropping tokens at the end of the text, the special tokens kept.
  virtual Encoding encode(std::string_view text, size_t max_length) const = 0;
  // A pair, with "longest_first" truncation as Hugging Face's `tokenizers` does it. An empty `b`
  // gives encode(a, max_length), as tok(a, "") does in transformers 5.
  virtual Encoding encode_pair(std::string_view a, std::string_view b, size_t max_length) const = 0;

  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when absent
  virtual const std::string& id_to_token(int32_t id) const = 0;
  // Every id: the model's vocabulary plus the added tokens (Hugging Face's len(tokenizer)).
  virtual size_t vocab_size() const = 0;
  virtual int32_t pad_id() const = 0;  // -1 when the tokenizer has no padding token
  // "wordpiece", "bpe" or "unigram".
  virtual std::string kind() const = 0;
  // Text of `ids`, as the tokenizer's decoder gives it (tokenizers' decode).
  virtual std::string decode(const std::vector<int32_t>& ids,
                             bool skip_special_tokens = true) const = 0;

 protected:
  Tokenizer() = default;
  Tokenizer(const Tokenizer&) = default;
  Tokenizer& operator=(const Tokenizer&) = default;
};

class WordPieceTokenizer final : public Tokenizer {
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
  std::vector<int32_t> tokenize_ids(std::string_view text) const override;
  // [CLS] text [SEP], truncated to max_length (>= 2) by dropping word pieces at the end.
  Encoding encode(std::string_view text, size_t max_length) const override;
  // [CLS] a [SEP] b [SEP] with type ids; "longest_first" truncation as Hugging Face does it.
  // Fast mode: an empty `b` gives encode(a, max_length), as tok(a, "") does in transformers 5.
  Encoding encode_pair(std::string_view a, std::string_view b, size_t max_length) const override;

  int32_t token_to_id(std::string_view token) const override;  // -1 when absent
  const std::string& id_to_token(int32_t id) const override;
  size_t vocab_size() const override;
  std::string kind() const override { return "wordpiece"; }
  // The WordPiece decoder: pieces joined by spaces, "##" glued, tokenizers' cleanup.
  std::string decode(const std::vector<int32_t>& ids,
                     bool skip_special_tokens = true) const override;
  const TokenizerOptions& options() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const override;
  int32_t unk_id() const;

 private:
  struct Impl;
  explicit WordPieceTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit
