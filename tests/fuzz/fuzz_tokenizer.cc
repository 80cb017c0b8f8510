// libFuzzer target for WordPieceTokenizer, both modes (fast and legacy), and for the tokenizer.json
// tokenizers of tests/data/tokenizers (BPE, Unigram, WordPiece and the variants): arbitrary bytes
// through tokenize, encode, encode_pair and decode. Invalid UTF-8 must surface as lowbit::Error;
// anything else escaping, a sanitizer report, or a broken invariant (checked below) is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "lowbit/tokenizer.h"

namespace {

using lowbit::TokenizerOptions;
using lowbit::WordPieceTokenizer;

std::vector<std::string> fuzz_vocab() {
  std::vector<std::string> v = {
      "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",  "##aff", "##able", "hello", "world",
      "σ",     "##ς",   "中",    "é",     "##é",    "i",   "##̇",    "a",      "##a",   "[",
      "]",     ",",     ".",     "sep",   "##́",     "##σ", "ο",     "##δ",    "##ο"};
  // Every printable ASCII character, alone and as a continuation, so that most words split.
  for (char c = '!'; c <= '~'; ++c) {
    v.emplace_back(1, c);
    v.push_back(std::string("##") + c);
  }
  return v;
}

// Three option sets, each in fast and legacy mode.
const std::vector<WordPieceTokenizer>& tokenizers() {
  static const std::vector<WordPieceTokenizer> toks = [] {
    std::vector<WordPieceTokenizer> t;
    for (bool legacy : {false, true}) {
      TokenizerOptions opts;
      opts.legacy = legacy;
      t.push_back(WordPieceTokenizer::from_vocab(fuzz_vocab(), opts));
      opts.lower_case = false;
      t.push_back(WordPieceTokenizer::from_vocab(fuzz_vocab(), opts));
      opts.strip_accents = true;
      opts.tokenize_chinese_chars = false;
      opts.max_input_chars_per_word = 5;
      t.push_back(WordPieceTokenizer::from_vocab(fuzz_vocab(), opts));
    }
    return t;
  }();
  return toks;
}

void check(bool ok) {
  if (!ok) std::abort();
}

const std::vector<std::unique_ptr<lowbit::Tokenizer>>& json_tokenizers() {
  static const std::vector<std::unique_ptr<lowbit::Tokenizer>> toks = [] {
    std::vector<std::unique_ptr<lowbit::Tokenizer>> t;
    const std::string dir = LOWBIT_TEST_DATA "/tokenizers/";
    for (const char* name : {"bpe", "unigram", "wordpiece"})
      t.push_back(lowbit::Tokenizer::from_dir(dir + name));
    for (const char* name : {"wordpiece_parts", "bpe_suffix", "bpe_prefix_split", "llama_bpe",
                             "unigram_bytes", "bytelevel_prefix", "qwen_split", "llama3_split"})
      t.push_back(lowbit::Tokenizer::from_tokenizer_json(dir + "variants/" + name + ".json"));
    return t;
  }();
  return toks;
}

void check_encoding(const lowbit::Encoding& enc, size_t max_length) {
  check(enc.ids.size() <= max_length && enc.ids.size() == enc.type_ids.size());
  check(enc.ids.size() <= enc.untruncated_length);
  check(enc.untruncated_length > max_length || enc.ids.size() == enc.untruncated_length);
}

// Any tokenizer through the common interface.
void run_json(const lowbit::Tokenizer& tok, std::string_view a, std::string_view b,
              size_t max_length) {
  try {
    const std::vector<int32_t> ids = tok.tokenize_ids(a);
    for (int32_t id : ids) check(id >= 0 && static_cast<size_t>(id) < tok.vocab_size());
    tok.decode(ids);
    check_encoding(tok.encode(a, max_length), max_length);
    check_encoding(tok.encode_pair(a, b, max_length + 2), max_length + 2);
  } catch (const lowbit::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& toks = tokenizers();
  const WordPieceTokenizer& tok = toks[data[0] % toks.size()];
  const size_t max_length = 2 + data[0] / 4;  // 2 .. 65
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const std::vector<int32_t> ids = tok.tokenize_ids(text);
    const std::vector<std::string> pieces = tok.tokenize(text);
    check(pieces.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) check(tok.id_to_token(ids[i]) == pieces[i]);

    const lowbit::Encoding enc = tok.encode(text, max_length);
    check(enc.ids.size() <= max_length && enc.ids.size() == enc.type_ids.size());
    check(enc.untruncated_length == ids.size() + 2);
    check(enc.ids.front() == tok.cls_id() && enc.ids.back() == tok.sep_id());
    for (size_t i = 1; i + 1 < enc.ids.size(); ++i) check(enc.ids[i] == ids[i - 1]);
  } catch (const lowbit::Error&) {
  }
  // The pair: the text split where its second byte says.
  if (size < 2) return 0;
  const size_t cut = 1 + data[1] % (size - 1);
  const std::string_view a(reinterpret_cast<const char*>(data) + 1, cut - 1);
  const std::string_view b(reinterpret_cast<const char*>(data) + cut, size - cut);
  const auto& json = json_tokenizers();
  run_json(*json[data[0] % json.size()], a, b, max_length + 1);
  try {
    const lowbit::Encoding enc = tok.encode_pair(a, b, max_length + 1);
    check(enc.ids.size() <= max_length + 1 && enc.ids.size() == enc.type_ids.size());
    check(enc.ids.size() <= enc.untruncated_length);
    if (b.empty() && !tok.options().legacy) {
      // Fast mode: an empty second text is no second text.
      const lowbit::Encoding single = tok.encode(a, max_length + 1);
      check(enc.ids == single.ids && enc.type_ids == single.type_ids &&
            enc.untruncated_length == single.untruncated_length);
    } else {
      check(enc.ids.size() >= 3 && enc.type_ids.front() == 0 && enc.type_ids.back() == 1);
      // Both segments end with [SEP]; the cut (a's [SEP]) is where the type ids turn to 1.
      const size_t n_a = static_cast<size_t>(
          std::find(enc.type_ids.begin(), enc.type_ids.end(), 1) - enc.type_ids.begin());
      check(n_a >= 2 && enc.ids[n_a - 1] == tok.sep_id() && enc.ids.back() == tok.sep_id());
    }
  } catch (const lowbit::Error&) {
  }
  return 0;
}
