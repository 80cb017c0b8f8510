// BERT WordPiece tokenization, following one of Hugging Face's two BertTokenizers step by step.
// Both cut special tokens out of the raw text first and end with the same greedy longest-match
// WordPiece; in between:
//  * fast (default; the Rust `tokenizers` library): BertNormalizer (clean, CJK padding, strip
//    accents, lower-case) and BertPreTokenizer (white space split, punctuation isolated);
//  * legacy (transformers' Python BertTokenizer, BertTokenizerLegacy in transformers 5):
//    BasicTokenizer (clean, CJK padding, NFC, str.split(), lower-case with Final_Sigma, strip
//    accents, never_split check, punctuation split).
// They also differ in pair truncation and in an empty second text. The character classes of
// each are in text/unicode.h; tests/data/gen_tokenizer_cases.py lists every known difference.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "lowbit/tokenizer.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace lowbit {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The special tokens' spellings (tokenizer_config.json may rename them).
struct SpecialTokens {
  std::string unk = "[UNK]";
  std::string sep = "[SEP]";
  std::string pad = "[PAD]";
  std::string cls = "[CLS]";
  std::string mask = "[MASK]";
};

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", what, " '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read ", what, " '", path, "'");
  return ss.str();
}

// Python's readlines() in text mode: universal newlines ("\n", "\r\n" and a lone "\r" end a
// line); a final line without a terminator still counts, and no empty line follows a final
// terminator.
std::vector<std::string> split_lines(std::string_view data) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '\n' && data[i] != '\r') continue;
    lines.emplace_back(data.substr(start, i - start));
    if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < data.size()) lines.emplace_back(data.substr(start));
  return lines;
}

// A special token's spelling in tokenizer_config.json: a string or an AddedToken object.
void read_special(const nlohmann::json& cfg, const char* key, const std::string& path,
                  std::string& out) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return;
  if (it->is_string()) {
    out = it->get<std::string>();
  } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    out = (*it)["content"].get<std::string>();
  } else {
    fail(path, ": field '", key, "' must be a string or an object with a string 'content'");
  }
}

bool read_bool(const nlohmann::json& cfg, const char* key, const std::string& path, bool dflt) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) fail(path, ": field '", key, "' must be a boolean");
  return it->get<bool>();
}

nlohmann::json read_json_object(const std::string& path) {
  const std::string text = read_file(path, "tokenizer config");
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("malformed JSON in '", path, "': ", e.what());
  }
  if (!cfg.is_object()) fail("'", path, "' must hold a JSON object");
  return cfg;
}

bool file_exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

}  // namespace

struct WordPieceTokenizer::Impl {
  std::vector<std::string> vocab;  // id -> token
  // token -> id; with duplicate lines the last one wins, as in HF's load_vocab.
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids;
  TokenizerOptions opts;
  bool strip = true;     // opts.strip_accents resolved against lower_case
  size_t max_bytes = 0;  // longest vocab entry, bounds the greedy search
  int32_t unk = -1, cls = -1, sep = -1, pad = -1;
  // Special tokens recognised in the text (those in the vocab), longest first so that the
  // longest one wins where several start at one position.
  std::vector<std::pair<std::u32string, int32_t>> specials;

  void run_wordpiece(std::u32string_view word, std::vector<int32_t>& out) const;
  // The words of a chunk (text between special tokens), each passed to `emit`.
  template <class Emit>
  void legacy_words(std::u32string_view chunk, Emit&& emit) const;
  template <class Emit>
  void fast_words(std::u32string_view chunk, Emit&& emit) const;
  void tokenize_chunk(std::u32string_view chunk, std::vector<int32_t>& out) const;
  std::vector<int32_t> tokenize_ids(std::string_view text) const;
  static std::unique_ptr<Impl> make(std::vector<std::string> vocab, TokenizerOptions opts,
                                    SpecialTokens names, const std::string& source);
  bool is_special(std::u32string_view word) const {
    return std::any_of(specials.begin(), specials.end(),
                       [&](const auto& s) { return s.first == word; });
  }
};

std::unique_ptr<WordPieceTokenizer::Impl> WordPieceTokenizer::Impl::make(
    std::vector<std::string> vocab, TokenizerOptions opts, SpecialTokens names,
    const std::string& source) {
  if (vocab.empty()) fail("vocabulary ", source, " is empty");
  if (vocab.size() > static_cast<size_t>(INT32_MAX)) fail("vocabulary ", source, " is too large");
  auto impl = std::make_unique<WordPieceTokenizer::Impl>();
  impl->ids.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    impl->ids.insert_or_assign(vocab[i], static_cast<int32_t>(i));
    impl->max_bytes = std::max(impl->max_bytes, vocab[i].size());
  }
  impl->vocab = std::move(vocab);
  impl->opts = opts;
  impl->strip = opts.strip_accents.value_or(opts.lower_case);
  auto find = [&](const std::string& tok, bool required) -> int32_t {
    auto it = impl->ids.find(tok);
    if (it != impl->ids.end()) return it->second;
    if (required) fail("vocabulary ", source, " has no special token '", tok, "'");
    return -1;
  };
  impl->unk = find(names.unk, true);
  impl->cls = find(names.cls, true);
  impl->sep = find(names.sep, true);
  impl->pad = find(names.pad, false);
  for (const std::string* s : {&names.unk, &names.sep, &names.pad, &names.cls, &names.mask}) {
    auto it = impl->ids.find(*s);
    if (s->empty() || it == impl->ids.end()) continue;
    std::u32string u = text::decode_utf8(*s, "special token '" + *s + "'");
    if (!impl->is_special(u)) impl->specials.emplace_back(std::move(u), it->second);
  }
  std::stable_sort(impl->specials.begin(), impl->specials.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return impl;
}

// Greedy longest-match-first (WordpieceTokenizer.tokenize) on one word, which holds no
// whitespace. A word with a character that no piece covers becomes a single [UNK].
void WordPieceTokenizer::Impl::run_wordpiece(std::u32string_view word,
                                             std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() > opts.max_input_chars_per_word) {
    out.push_back(unk);
    return;
  }
  const std::string utf8 = text::encode_utf8(word);
  // Byte offset of every character boundary, so that pieces never split a character.
  std::vector<size_t> bounds;
  bounds.reserve(word.size() + 1);
  size_t off = 0;
  for (char32_t c : word) {
    bounds.push_back(off);
    off += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  bounds.push_back(off);

  const size_t first = out.size();
  std::string key;
  size_t start = 0;
  while (start < word.size()) {
    const std::string_view prefix = start > 0 ? "##" : "";
    size_t end = word.size();
    // Pieces longer than every vocab entry cannot match; skipping them changes nothing.
    while (end > start && prefix.size() + bounds[end] - bounds[start] > max_bytes) --end;
    int32_t id = -1;
    for (; end > start; --end) {
      key.assign(prefix);
      key.append(utf8, bounds[start], bounds[end] - bounds[start]);
      auto it = ids.find(key);
      if (it != ids.end()) {
        id = it->second;
        break;
      }
    }
    if (id < 0) {
      out.resize(first);
      out.push_back(unk);
      return;
    }
    out.push_back(id);
    start = end;
  }
}

// BasicTokenizer.tokenize, on text that holds no special token.
template <class Emit>
void WordPieceTokenizer::Impl::legacy_words(std::u32string_view chunk, Emit&& emit) const {
  std::u32string cleaned;
  cleaned.reserve(chunk.size());
  for (char32_t c : chunk) {
    if (c == 0 || c == 0xFFFD || text::is_bert_control(c)) continue;
    if (text::is_bert_whitespace(c)) {
      cleaned.push_back(U' ');
    } else if (opts.tokenize_chinese_chars && text::is_cjk_char(c)) {
      cleaned.push_back(U' ');
      cleaned.push_back(c);
      cleaned.push_back(U' ');
    } else {
      cleaned.push_back(c);
    }
  }
  // HF normalizes to NFC after cleaning (transformers >= 4.31), so a decomposed and a composed
  // spelling give the same pieces even when accents are kept.
  const std::u32string normalized = text::nfc(cleaned);
  const std::u32string_view all = normalized;

  // str.split() separators that survive cleaning include U+2028 and U+2029.
  size_t i = 0;
  while (i < all.size()) {
    while (i < all.size() && text::is_python_space(all[i])) ++i;
    size_t j = i;
    while (j < all.size() && !text::is_python_space(all[j])) ++j;
    if (j == i) break;
    const std::u32string_view orig = all.substr(i, j - i);
    i = j;
    // Special tokens are never lower-cased nor split; one can appear here when cleaning
    // removed characters from inside it ("[SE\u200bP]").
    if (is_special(orig)) {
      emit(orig);
      continue;
    }
    std::u32string word(orig);
    if (opts.lower_case) word = text::python_lower(word);
    if (strip) word = text::strip_accents(word);
    // _run_split_on_punc checks never_split again, after lower-casing and accent stripping.
    if (is_special(word)) {
      emit(std::u32string_view(word));
      continue;
    }
    // Punctuation split; the result is joined with spaces and split again in HF, so spaces
    // separate too.
    size_t k = 0;
    while (k < word.size()) {
      const char32_t c = word[k];
      if (text::is_python_space(c)) {
        ++k;
      } else if (text::is_bert_punctuation(c)) {
        emit(std::u32string_view(word).substr(k, 1));
        ++k;
      } else {
        size_t e = k;
        while (e < word.size() && !text::is_bert_punctuation(word[e]) &&
               !text::is_python_space(word[e]))
          ++e;
        emit(std::u32string_view(word).substr(k, e - k));
        k = e;
      }
    }
  }
}

// The Rust BertNormalizer then BertPreTokenizer, on text that holds no special token. Unlike the
// legacy path: no NFC, accents are stripped before lower-casing, lower-casing has no context,
// and a special token that cleaning reveals ("[SE\u200bP]") is ordinary text.
template <class Emit>
void WordPieceTokenizer::Impl::fast_words(std::u32string_view chunk, Emit&& emit) const {
  std::u32string s;
  s.reserve(chunk.size());
  for (char32_t c : chunk) {
    if (c == 0 || c == 0xFFFD || text::fast::is_control(c)) continue;
    if (text::fast::is_whitespace(c)) {
      s.push_back(U' ');
    } else if (opts.tokenize_chinese_chars && text::fast::is_cjk_char(c)) {
      s.push_back(U' ');
      s.push_back(c);
      s.push_back(U' ');
    } else {
      s.push_back(c);
    }
  }
  if (strip) s = text::fast::strip_accents(s);
  if (opts.lower_case) s = text::fast::lower(s);
  const std::u32string_view all = s;
  size_t k = 0;
  while (k < all.size()) {
    if (text::fast::is_whitespace(all[k])) {
      ++k;
    } else if (text::fast::is_punctuation(all[k])) {
      emit(all.substr(k, 1));
      ++k;
    } else {
      size_t e = k;
      while (e < all.size() && !text::fast::is_whitespace(all[e]) &&
             !text::fast::is_punctuation(all[e]))
        ++e;
      emit(all.substr(k, e - k));
      k = e;
    }
  }
}

void WordPieceTokenizer::Impl::tokenize_chunk(std::u32string_view chunk,
                                              std::vector<int32_t>& out) const {
  auto wordpiece = [&](std::u32string_view word) { run_wordpiece(word, out); };
  if (opts.legacy) {
    legacy_words(chunk, wordpiece);
  } else {
    fast_words(chunk, wordpiece);
  }
}

// PreTrainedTokenizer.tokenize: special tokens are cut out of the raw text first (exact,
// case-sensitive match) and the pieces between them are tokenized on their own.
std::vector<int32_t> WordPieceTokenizer::Impl::tokenize_ids(std::string_view text) const {
  const std::u32string cps = text::decode_utf8(text, "tokenizer input");
  const std::u32string_view all = cps;
  std::vector<int32_t> out;
  size_t chunk_start = 0;
  size_t i = 0;
  while (i < all.size()) {
    const std::pair<std::u32string, int32_t>* hit = nullptr;
    for (const auto& s : specials) {
      if (all.substr(i).starts_with(s.first)) {
        hit = &s;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    tokenize_chunk(all.substr(chunk_start, i - chunk_start), out);
    out.push_back(hit->second);
    i += hit->first.size();
    chunk_start = i;
  }
  tokenize_chunk(all.substr(chunk_start), out);
  return out;
}

namespace {

// "longest_first" truncation of a pair of la + lb > room pieces: how many of each to keep.
// transformers' truncate_sequences: cut the longer one down to the shorter, then share the
// rest, the second sequence losing the odd piece.
std::pair<size_t, size_t> longest_first_legacy(size_t la, size_t lb, size_t room) {
  const size_t remove = la + lb - room;
  const size_t first_remove = std::min(la > lb ? la - lb : lb - la, remove);
  const size_t second_remove = remove - first_remove;
  if (la > lb) {
    return {la - first_remove - second_remove / 2, lb - (second_remove - second_remove / 2)};
  }
  return {la - second_remove / 2, lb - first_remove - (second_remove - second_remove / 2)};
}

// tokenizers' truncate_encodings, LongestFirst (text/tokenizer_json.h).
std::pair<size_t, size_t> longest_first_fast(size_t la, size_t lb, size_t room) {
  return text::longest_first(la, lb, room);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WordPieceTokenizer::WordPieceTokenizer(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer& WordPieceTokenizer::operator=(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer::~WordPieceTokenizer() = default;

WordPieceTokenizer WordPieceTokenizer::from_vocab(std::vector<std::string> vocab,
                                                  TokenizerOptions opts) {
  return WordPieceTokenizer(Impl::make(std::move(vocab), opts, SpecialTokens{}, "(in memory)"));
}

namespace {

std::vector<std::string> read_vocab(const std::string& path) {
  const std::string data = read_file(path, "vocabulary file");
  text::decode_utf8(data, "vocabulary file '" + path + "'");  // HF reads it as strict UTF-8
  return split_lines(data);
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path,
                                                       TokenizerOptions opts) {
  return WordPieceTokenizer(Impl::make(read_vocab(path), opts, SpecialTokens{}, "'" + path + "'"));
}

WordPieceTokenizer WordPieceTokenizer::from_dir(const std::string& dir) {
  const std::string vocab_path = dir + "/vocab.txt";
  TokenizerOptions opts;
  SpecialTokens names;
  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (file_exists(cfg_path)) {
    const nlohmann::json cfg = read_json_object(cfg_path);
    opts.lower_case = read_bool(cfg, "do_lower_case", cfg_path, true);
    opts.tokenize_chinese_chars = read_bool(cfg, "tokenize_chinese_chars", cfg_path, true);
    if (auto it = cfg.find("strip_accents"); it != cfg.end() && !it->is_null()) {
      if (!it->is_boolean()) fail(cfg_path, ": field 'strip_accents' must be a boolean or null");
      opts.strip_accents = it->get<bool>();
    }
    if (!read_bool(cfg, "do_basic_tokenize", cfg_path, true))
      fail(cfg_path, ": do_basic_tokenize=false is not supported");
    if (auto it = cfg.find("never_split");
        it != cfg.end() && !it->is_null() && !(it->is_array() && it->empty()))
      fail(cfg_path, ": a non-empty 'never_split' is not supported");
    for (auto [key, field] : {std::pair{"unk_token", &names.unk},
                              {"sep_token", &names.sep},
                              {"pad_token", &names.pad},
                              {"cls_token", &names.cls},
                              {"mask_token", &names.mask}})
      read_special(cfg, key, cfg_path, *field);
  }
  // special_tokens_map.json, when present, overrides the config's spellings (as in HF).
  const std::string map_path = dir + "/special_tokens_map.json";
  if (file_exists(map_path)) {
    const nlohmann::json map = read_json_object(map_path);
    for (auto [key, field] : {std::pair{"unk_token", &names.unk},
                              {"sep_token", &names.sep},
                              {"pad_token", &names.pad},
                              {"cls_token", &names.cls},
                              {"mask_token", &names.mask}})
      read_special(map, key, map_path, *field);
  }
  return WordPieceTokenizer(
      Impl::make(read_vocab(vocab_path), opts, std::move(names), "'" + vocab_path + "'"));
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> pieces;
  for (int32_t id : impl_->tokenize_ids(text)) pieces.push_back(impl_->vocab[id]);
  return pieces;
}

std::vector<int32_t> WordPieceTokenizer::tokenize_ids(std::string_view text) const {
  return impl_->tokenize_ids(text);
}

Encoding WordPieceTokenizer::encode(std::string_view text, size_t max_length) const {
  if (max_length < 2) fail("encode: max_length ", max_length, " leaves no room for [CLS] [SEP]");
  const std::vector<int32_t> ids = impl_->tokenize_ids(text);
  Encoding enc;
  enc.untruncated_length = ids.size() + 2;
  const size_t keep = std::min(ids.size(), max_length - 2);
  enc.ids.reserve(keep + 2);
  enc.ids.push_back(impl_->cls);
  enc.ids.insert(enc.ids.end(), ids.begin(), ids.begin() + static_cast<ptrdiff_t>(keep));
  enc.ids.push_back(impl_->sep);
  enc.type_ids.assign(enc.ids.size(), 0);
  return enc;
}

Encoding WordPieceTokenizer::encode_pair(std::string_view a, std::string_view b,
                                         size_t max_length) const {
  if (max_length < 3)
    fail("encode_pair: max_length ", max_length, " leaves no room for [CLS] [SEP] [SEP]");
  // transformers 5 passes `[(a, b)] if b else [a]` to the Rust tokenizer: an empty second text
  // is no second text. (Its batch call, tok([a], [b]), keeps the pair.)
  if (!impl_->opts.legacy && b.empty()) return encode(a, max_length);
  std::vector<int32_t> ia = impl_->tokenize_ids(a);
  std::vector<int32_t> ib = impl_->tokenize_ids(b);
  Encoding enc;
  enc.untruncated_length = ia.size() + ib.size() + 3;
  if (enc.untruncated_length > max_length) {
    const auto [keep_a, keep_b] = impl_->opts.legacy
                                      ? longest_first_legacy(ia.size(), ib.size(), max_length - 3)
                                      : longest_first_fast(ia.size(), ib.size(), max_length - 3);
    ia.resize(keep_a);
    ib.resize(keep_b);
  }
  enc.ids.reserve(ia.size() + ib.size() + 3);
  enc.ids.push_back(impl_->cls);
  enc.ids.insert(enc.ids.end(), ia.begin(), ia.end());
  enc.ids.push_back(impl_->sep);
  enc.type_ids.assign(enc.ids.size(), 0);
  enc.ids.insert(enc.ids.end(), ib.begin(), ib.end());
  enc.ids.push_back(impl_->sep);
  enc.type_ids.resize(enc.ids.size(), 1);
  return enc;
}

int32_t WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->ids.find(token);
  return it == impl_->ids.end() ? -1 : it->second;
}

const std::string& WordPieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.size())
    fail("token id ", id, " is outside the vocabulary (size ", impl_->vocab.size(), ")");
  return impl_->vocab[static_cast<size_t>(id)];
}

size_t WordPieceTokenizer::vocab_size() const { return impl_->vocab.size(); }

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids,
                                       bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string& t = id_to_token(id);
    const bool special = std::any_of(impl_->specials.begin(), impl_->specials.end(),
                                     [&](const auto& s) { return s.second == id; });
    if (!(skip_special_tokens && special)) tokens.push_back(t);
  }
  return text::wordpiece_decode(tokens, "##", true);
}
const TokenizerOptions& WordPieceTokenizer::options() const { return impl_->opts; }
int32_t WordPieceTokenizer::cls_id() const { return impl_->cls; }
int32_t WordPieceTokenizer::sep_id() const { return impl_->sep; }
int32_t WordPieceTokenizer::pad_id() const { return impl_->pad; }
int32_t WordPieceTokenizer::unk_id() const { return impl_->unk; }

}  // namespace lowbit
