// A tokenizer.json tokenizer (Hugging Face `tokenizers`), step by step as Tokenizer::encode:
//  1. added tokens whose `normalized` is false are cut out of the raw text (AddedVocabulary,
//     leftmost-longest, with single_word / lstrip / rstrip);
//  2. each remaining piece is normalized and the normalized added tokens are cut out of it;
//  3. the pre-tokenizer splits the pieces into words, the model turns each word into ids;
//  4. truncation (longest_first for pairs) leaves room for the post-processor's special tokens,
//     which are added last.
// Tokenizer::from_dir, which chooses between this and WordPieceTokenizer, is here too.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "lowbit/tokenizer.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace lowbit {
namespace text {

std::pair<size_t, size_t> longest_first(size_t la, size_t lb, size_t room) {
  size_t n1 = std::min(la, lb);
  size_t n2 = n1 > room ? n1 : std::max(n1, room - n1);
  if (n1 + n2 > room) {
    n1 = room / 2;
    n2 = room - n1;
  }
  if (la > lb) std::swap(n1, n2);
  return {std::min(la, n1), std::min(lb, n2)};
}

std::string wordpiece_decode(const std::vector<std::string>& tokens, std::string_view prefix,
                             bool cleanup) {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string t = tokens[i];
    if (i != 0) {
      if (!prefix.empty() && t.starts_with(prefix)) {
        t.erase(0, prefix.size());
      } else {
        t = " " + t;
      }
    }
    if (cleanup) {
      // tokenizers' decoders::wordpiece::cleanup, on each token.
      static const std::pair<const char*, const char*> kRules[] = {
          {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
          {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
          {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
      for (const auto& [from, to] : kRules) {
        const std::string f = from;
        std::string r;
        size_t prev = 0;
        for (size_t p = t.find(f); p != std::string::npos; p = t.find(f, prev)) {
          r.append(t, prev, p - prev);
          r += to;
          prev = p + f.size();
        }
        r.append(t, prev, std::string::npos);
        t = std::move(r);
      }
    }
    out += t;
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Decoders.

class ByteLevelDecoder final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      std::string mapped;
      bool ok = true;
      for (char32_t c : decode_utf8(t)) {
        const int b = byte_from_char(c);
        if (b < 0) {
          ok = false;
          break;
        }
        mapped.push_back(static_cast<char>(b));
      }
      bytes += ok ? mapped : t;
    }
    return {utf8_lossy(bytes)};
  }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string rep, bool prefix) : rep_(std::move(rep)), prefix_(prefix) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string r;
      for (size_t p = 0; p < t.size();) {
        if (t.compare(p, rep_.size(), rep_) == 0) {
          if (!(i == 0 && prefix_)) r.push_back(' ');
          p += rep_.size();
        } else {
          r.push_back(t[p++]);
        }
      }
      t = std::move(r);
    }
    return tokens;
  }

 private:
  std::string rep_;
  bool prefix_;
};

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    return {wordpiece_decode(tokens, prefix_, cleanup_)};
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// <0xAB> tokens back to bytes; a run that is not UTF-8 gives one U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_len = 0;
    auto flush = [&] {
      if (run_len == 0) return;
      try {
        decode_utf8(run);
        out.push_back(run);
      } catch (const Error&) {
        for (size_t k = 0; k < run_len; ++k) out.push_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_len = 0;
    };
    for (std::string& t : tokens) {
      unsigned v = 0;
      if (t.size() == 6 && t.starts_with("<0x") && t[5] == '>' && std::isxdigit(uint8_t(t[3])) &&
          std::isxdigit(uint8_t(t[4])) && std::sscanf(t.c_str() + 3, "%2X", &v) == 1) {
        run.push_back(static_cast<char>(v));
        ++run_len;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class FuseDecoder final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern p, std::u32string content)
      : p_(std::move(p)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      const std::u32string s = decode_utf8(t);
      std::u32string r;
      size_t prev = 0;
      for (const Span& m : p_.find_all(s)) {
        r.append(s, prev, m.first - prev);
        r += content_;
        prev = m.second;
      }
      r.append(s, prev, std::u32string::npos);
      t = encode_utf8(r);
    }
    return tokens;
  }

 private:
  Pattern p_;
  std::u32string content_;
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t c, size_t start, size_t stop) : c_(c), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::u32string s = decode_utf8(t);
      size_t b = 0, e = s.size();
      while (b < std::min(start_, s.size()) && s[b] == c_) ++b;
      for (size_t k = 0; k < stop_ && e > b && s[e - 1] == c_; ++k) --e;
      t = encode_utf8(s.substr(b, e - b));
    }
    return tokens;
  }

 private:
  char32_t c_;
  size_t start_, stop_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& p : parts_) tokens = p->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

size_t get_count(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& v = field(j, key, where);
  if (!v.is_number_unsigned()) fail(where, ": field '", key, "' must be a count");
  return v.get<size_t>();
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where) {
  const std::string type = get_string(j, "type", where);
  const std::string at = where + " (" + type + ")";
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    bool prefix = get_bool(j, "add_prefix_space", at, true);
    if (j.contains("prepend_scheme")) prefix = get_string(j, "prepend_scheme", at) != "never";
    return std::make_unique<MetaspaceDecoder>(get_string(j, "replacement", at), prefix);
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(
        j.contains("prefix") ? get_string(j, "prefix", at) : "##",
        get_bool(j, "cleanup", at, true));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(Pattern::from_json(field(j, "pattern", at), at),
                                            decode_utf8(get_string(j, "content", at), at));
  }
  if (type == "Strip") {
    const std::u32string c = decode_utf8(get_string(j, "content", at), at);
    if (c.size() != 1) fail(at, ": 'content' must be one character");
    return std::make_unique<StripDecoder>(c[0], get_count(j, "start", at),
                                          get_count(j, "stop", at));
  }
  if (type == "Sequence") {
    const nlohmann::json& list = field(j, "decoders", at);
    if (!list.is_array()) fail(at, ": 'decoders' must be an array");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  fail(where, ": decoder type '", type, "' is not supported");
}

}  // namespace text

namespace {

using text::Piece;

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open tokenizer file '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read tokenizer file '", path, "'");
  return ss.str();
}

bool file_exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

struct AddedToken {
  int32_t id;
  std::string content;  // as matched: normalized for the normalized ones
  bool single_word, lstrip, rstrip, normalized, special;
};

// One item of a post-processing template: special token ids, or sequence A (0) / B (1).
struct TemplateItem {
  std::vector<int32_t> ids;
  int sequence = -1;
  int32_t type_id = 0;
};
using Template = std::vector<TemplateItem>;

size_t count_special(const Template& t) {
  size_t n = 0;
  for (const auto& item : t) n += item.ids.size();
  return n;
}

std::string_view first_char(std::string_view s, size_t at) {
  if (at >= s.size()) return {};
  const auto lead = static_cast<unsigned char>(s[at]);
  return s.substr(at, lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4);
}

// Where the character holding byte `i` starts.
size_t char_start(std::string_view s, size_t i) {
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

char32_t char_at(std::string_view s, size_t i) { return text::decode_utf8(first_char(s, i))[0]; }

// The character that ends at byte `end` (> 0).
char32_t char_before(std::string_view s, size_t end) { return char_at(s, char_start(s, end - 1)); }

bool is_word_char(char32_t c) { return text::is_rust_alphanumeric(c) || c == U'_'; }

class JsonTokenizer final : public Tokenizer {
 public:
  explicit JsonTokenizer(const std::string& path);

  std::vector<int32_t> tokenize_ids(std::string_view text) const override;
  Encoding encode(std::string_view text, size_t max_length) const override;
  Encoding encode_pair(std::string_view a, std::string_view b, size_t max_length) const override;
  int32_t token_to_id(std::string_view token) const override {
    for (const Added& a : added_)
      if (a.original == token) return a.token.id;
    return model_->token_to_id(token);
  }
  const std::string& id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size())
      fail("token id ", id, " is outside the vocabulary of '", path_, "' (size ", tokens_.size(),
           ")");
    return tokens_[static_cast<size_t>(id)];
  }
  size_t vocab_size() const override { return vocab_size_; }
  int32_t pad_id() const override { return pad_id_; }
  std::string kind() const override { return model_->kind(); }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;

  void set_pad_id(int32_t id) { pad_id_ = id; }

 private:
  struct Added {
    AddedToken token;
    std::string original;  // the content as written in the file
  };
  void read_added_tokens(const nlohmann::json& list);
  void read_post_processor(const nlohmann::json& j, const std::string& where);
  // AddedVocabulary::split_with_indices on one piece: the matches of `set` cut out.
  void split_added(const Piece& piece, const std::vector<const AddedToken*>& set,
                   std::vector<Piece>& out) const;
  Encoding finish(std::vector<int32_t> a, const std::vector<int32_t>* b, size_t max_length) const;

  std::string path_;
  std::unique_ptr<text::Normalizer> normalizer_;
  std::unique_ptr<text::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<text::Model> model_;
  std::unique_ptr<text::Decoder> decoder_;
  std::vector<Added> added_;
  std::vector<const AddedToken*> raw_set_, normalized_set_;  // longest content first
  std::unordered_set<int32_t> special_ids_;
  std::vector<std::string> tokens_;  // id -> token, added tokens included
  size_t vocab_size_ = 0;
  int32_t pad_id_ = -1;
  bool has_post_ = false;
  Template single_, pair_;
};

JsonTokenizer::JsonTokenizer(const std::string& path) : path_(path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("malformed JSON in '", path, "': ", e.what());
  }
  if (!j.is_object()) fail("'", path, "' must hold a JSON object");
  const std::string where = "'" + path + "'";
  auto part = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (!part("model")) fail(where, ": no 'model'");
  model_ = text::make_model(*part("model"), where + ": model");
  if (auto* n = part("normalizer")) normalizer_ = text::make_normalizer(*n, where + ": normalizer");
  if (auto* p = part("pre_tokenizer"))
    pre_tokenizer_ = text::make_pre_tokenizer(*p, where + ": pre_tokenizer");
  if (auto* d = part("decoder")) decoder_ = text::make_decoder(*d, where + ": decoder");
  if (auto* p = part("post_processor")) read_post_processor(*p, where + ": post_processor");
  if (auto* a = part("added_tokens")) read_added_tokens(*a);

  tokens_ = model_->vocab();
  for (const Added& a : added_) {
    const size_t id = static_cast<size_t>(a.token.id);
    if (id >= tokens_.size()) tokens_.resize(id + 1);
    tokens_[id] = a.token.content;  // normalized, as tokenizers' id_to_token gives it
  }
  // len(tokenizer): the distinct tokens of the model and of the added vocabulary.
  const std::vector<std::string>& mv = model_->vocab();
  for (size_t i = 0; i < mv.size(); ++i)
    vocab_size_ += model_->token_to_id(mv[i]) == static_cast<int32_t>(i);
  for (const Added& a : added_) vocab_size_ += model_->token_to_id(a.original) < 0;

  if (auto* p = part("padding");
      p && p->is_object() && p->contains("pad_id") && (*p)["pad_id"].is_number_unsigned()) {
    pad_id_ = (*p)["pad_id"].get<int32_t>();
  } else {
    for (const char* t : {"<pad>", "[PAD]", "<|pad|>"})
      if (pad_id_ < 0) pad_id_ = token_to_id(t);
  }
}

void JsonTokenizer::read_added_tokens(const nlohmann::json& list) {
  const std::string where = "'" + path_ + "': added_tokens";
  if (!list.is_array()) fail(where, " must be an array");
  added_.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const nlohmann::json& t = list[i];
    const nlohmann::json& id = text::field(t, "id", at);
    if (!id.is_number_unsigned() || id.get<uint64_t>() > INT32_MAX) fail(at, ": bad 'id'");
    Added a;
    a.original = text::get_string(t, "content", at);
    text::decode_utf8(a.original, at);
    a.token = {id.get<int32_t>(),
               a.original,
               text::get_bool(t, "single_word", at, false),
               text::get_bool(t, "lstrip", at, false),
               text::get_bool(t, "rstrip", at, false),
               text::get_bool(t, "normalized", at, !text::get_bool(t, "special", at, false)),
               text::get_bool(t, "special", at, false)};
    // A normalized added token is matched in normalized text, so its content is normalized too.
    if (a.token.normalized && normalizer_) normalizer_->normalize(a.token.content);
    added_.push_back(std::move(a));
  }
  for (const Added& a : added_) {
    if (a.token.special) special_ids_.insert(a.token.id);
    if (a.token.content.empty()) continue;
    (a.token.normalized ? normalized_set_ : raw_set_).push_back(&a.token);
  }
  for (auto* set : {&raw_set_, &normalized_set_}) {
    std::stable_sort(set->begin(), set->end(), [](const AddedToken* x, const AddedToken* y) {
      return x->content.size() > y->content.size();
    });
  }
}

void JsonTokenizer::read_post_processor(const nlohmann::json& j, const std::string& where) {
  const std::string type = text::get_string(j, "type", where);
  const std::string at = where + " (" + type + ")";
  auto token_id = [&](const char* key) {
    const nlohmann::json& v = text::field(j, key, at);
    if (!v.is_array() || v.size() != 2 || !v[1].is_number_unsigned())
      fail(at, ": '", key, "' must be [token, id]");
    return v[1].get<int32_t>();
  };
  if (type == "ByteLevel") return;  // offsets only
  if (type == "Sequence") {
    const nlohmann::json& list = text::field(j, "processors", at);
    if (!list.is_array()) fail(at, ": 'processors' must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      const bool had = has_post_;
      read_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]");
      if (had && has_post_ && text::get_string(list[i], "type", at) != "ByteLevel")
        fail(at, ": more than one processor that adds special tokens is not supported");
    }
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const int32_t cls = token_id("cls"), sep = token_id("sep");
    const bool bert = type == "BertProcessing";
    single_ = {{{cls}, -1, 0}, {{}, 0, 0}, {{sep}, -1, 0}};
    if (bert) {
      pair_ = {{{cls}, -1, 0}, {{}, 0, 0}, {{sep}, -1, 0}, {{}, 1, 1}, {{sep}, -1, 1}};
    } else {
      pair_ = {{{cls}, -1, 0}, {{}, 0, 0}, {{sep, sep}, -1, 0}, {{}, 1, 0}, {{sep}, -1, 0}};
    }
    has_post_ = true;
    return;
  }
  if (type == "TemplateProcessing") {
    const nlohmann::json& specials = text::field(j, "special_tokens", at);
    auto read = [&](const char* key) {
      const nlohmann::json& list = text::field(j, key, at);
      if (!list.is_array()) fail(at, ": '", key, "' must be an array");
      Template t;
      for (const nlohmann::json& item : list) {
        TemplateItem ti;
        if (item.contains("SpecialToken")) {
          const nlohmann::json& s = item["SpecialToken"];
          const std::string name = text::get_string(s, "id", at);
          auto it = specials.find(name);
          if (it == specials.end() || !it->contains("ids") || !(*it)["ids"].is_array())
            fail(at, ": special token '", name, "' is not in 'special_tokens'");
          for (const auto& id : (*it)["ids"]) ti.ids.push_back(id.get<int32_t>());
          ti.type_id = s.value("type_id", 0);
        } else if (item.contains("Sequence")) {
          const nlohmann::json& s = item["Sequence"];
          const std::string name = text::get_string(s, "id", at);
          if (name != "A" && name != "B") fail(at, ": sequence '", name, "' must be A or B");
          ti.sequence = name == "A" ? 0 : 1;
          ti.type_id = s.value("type_id", 0);
        } else {
          fail(at, ": template item ", item.dump(), " is neither SpecialToken nor Sequence");
        }
        t.push_back(std::move(ti));
      }
      return t;
    };
    single_ = read("single");
    pair_ = read("pair");
    has_post_ = true;
    return;
  }
  fail(where, ": post-processor type '", type, "' is not supported");
}

void JsonTokenizer::split_added(const Piece& piece, const std::vector<const AddedToken*>& set,
                                std::vector<Piece>& out) const {
  const std::string& s = piece.text;
  auto plain = [&](size_t b, size_t e) {
    if (e <= b) return;
    Piece p;
    p.text = s.substr(b, e - b);
    p.at_start = piece.at_start && b == 0;
    out.push_back(std::move(p));
  };
  size_t start_offset = 0;  // end of the last split
  size_t search = 0;        // where the automaton goes on (after the last match)
  while (search < s.size() && !set.empty()) {
    // Leftmost, then longest.
    const AddedToken* hit = nullptr;
    size_t at = search;
    for (; at < s.size() && hit == nullptr; ++at) {
      for (const AddedToken* t : set) {
        if (s.compare(at, t->content.size(), t->content) == 0) {
          hit = t;
          break;
        }
      }
    }
    if (hit == nullptr) break;
    size_t start = at - 1, stop = start + hit->content.size();
    search = stop;
    if (hit->single_word) {
      const bool start_space = start == 0 || !is_word_char(char_before(s, start));
      const bool stop_space = stop == s.size() || !is_word_char(char_at(s, stop));
      if (!start_space || !stop_space) continue;
    }
    if (start < start_offset) continue;  // inside the spaces a previous rstrip took
    if (hit->lstrip) {
      size_t k = start;
      while (k > 0 && text::fast::is_whitespace(char_before(s, k))) k = char_start(s, k - 1);
      start = std::max(k, start_offset);
    }
    if (hit->rstrip) {
      while (stop < s.size() && text::fast::is_whitespace(char_at(s, stop)))
        stop += first_char(s, stop).size();
    }
    plain(start_offset, start);
    Piece p;
    p.id = hit->id;
    out.push_back(std::move(p));
    start_offset = stop;
    search = std::max(search, stop);
  }
  plain(start_offset, s.size());
}

std::vector<int32_t> JsonTokenizer::tokenize_ids(std::string_view text) const {
  text::decode_utf8(text, "tokenizer input");  // validates
  std::vector<Piece> pieces, next;
  Piece whole;
  whole.text = std::string(text);
  whole.at_start = true;
  split_added(whole, raw_set_, pieces);
  for (Piece& p : pieces) {
    if (p.id >= 0) {
      next.push_back(std::move(p));
      continue;
    }
    if (normalizer_) normalizer_->normalize(p.text);
    if (!p.text.empty()) split_added(p, normalized_set_, next);
  }
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(next);
  std::vector<int32_t> ids;
  for (const Piece& p : next) {
    if (p.id >= 0) {
      ids.push_back(p.id);
    } else if (!p.text.empty()) {
      model_->tokenize(p.text, ids);
    }
  }
  return ids;
}

Encoding JsonTokenizer::finish(std::vector<int32_t> a, const std::vector<int32_t>* b,
                               size_t max_length) const {
  const Template* t = has_post_ ? (b ? &pair_ : &single_) : nullptr;
  const size_t specials = t ? count_special(*t) : 0;
  Encoding enc;
  enc.untruncated_length = a.size() + (b ? b->size() : 0) + specials;
  if (max_length < specials)
    fail("encode: max_length ", max_length, " leaves no room for the ", specials,
         " special tokens of '", path_, "'");
  const size_t room = max_length - specials;
  std::vector<int32_t> bb = b ? *b : std::vector<int32_t>{};
  if (a.size() + bb.size() > room) {
    if (b) {
      const auto [ka, kb] = text::longest_first(a.size(), bb.size(), room);
      a.resize(ka);
      bb.resize(kb);
    } else {
      a.resize(room);
    }
  }
  if (!t) {  // no post-processor: the sequences as they are, B with type id 1
    enc.ids = a;
    enc.type_ids.assign(a.size(), 0);
    enc.ids.insert(enc.ids.end(), bb.begin(), bb.end());
    enc.type_ids.resize(enc.ids.size(), 1);
    return enc;
  }
  for (const TemplateItem& item : *t) {
    const std::vector<int32_t>& src = item.sequence == 0 ? a : item.sequence == 1 ? bb : item.ids;
    enc.ids.insert(enc.ids.end(), src.begin(), src.end());
    enc.type_ids.resize(enc.ids.size(), item.type_id);
  }
  return enc;
}

Encoding JsonTokenizer::encode(std::string_view text, size_t max_length) const {
  return finish(tokenize_ids(text), nullptr, max_length);
}

Encoding JsonTokenizer::encode_pair(std::string_view a, std::string_view b,
                                    size_t max_length) const {
  // transformers 5 passes `[(a, b)] if b else [a]` to the Rust tokenizer.
  if (b.empty()) return encode(a, max_length);
  const std::vector<int32_t> ib = tokenize_ids(b);
  return finish(tokenize_ids(a), &ib, max_length);
}

std::string JsonTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && special_ids_.count(id)) continue;
    tokens.push_back(id_to_token(id));
  }
  std::string out;
  if (!decoder_) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const std::string& t : decoder_->decode_chain(std::move(tokens))) out += t;
  return out;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_tokenizer_json(const std::string& path) {
  return std::make_unique<JsonTokenizer>(path);
}

std::unique_ptr<Tokenizer> Tokenizer::from_dir(const std::string& dir) {
  const std::string json_path = dir + "/tokenizer.json";
  if (file_exists(json_path)) {
    auto tok = std::make_unique<JsonTokenizer>(json_path);
    // transformers takes the padding token from tokenizer_config.json.
    const std::string cfg_path = dir + "/tokenizer_config.json";
    if (file_exists(cfg_path)) {
      nlohmann::json cfg;
      try {
        cfg = nlohmann::json::parse(read_text_file(cfg_path));
      } catch (const nlohmann::json::exception& e) {
        fail("malformed JSON in '", cfg_path, "': ", e.what());
      }
      if (cfg.is_object() && cfg.contains("pad_token")) {
        const nlohmann::json& p = cfg["pad_token"];
        std::string name = p.is_string() ? p.get<std::string>()
                           : p.is_object() && p.contains("content") && p["content"].is_string()
                               ? p["content"].get<std::string>()
                               : std::string();
        if (!name.empty() && tok->token_to_id(name) >= 0) tok->set_pad_id(tok->token_to_id(name));
      }
    }
    return tok;
  }
  if (file_exists(dir + "/vocab.txt"))
    return std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_dir(dir));
  fail("no tokenizer in '", dir, "': neither tokenizer.json nor vocab.txt is there");
}

}  // namespace lowbit
