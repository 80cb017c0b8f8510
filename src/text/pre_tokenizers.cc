// tokenizers' pre-tokenizers. Their patterns and split behaviours are in text/pattern.cc.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace lowbit::text {

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers.

void PreTokenizer::pre_tokenize(std::vector<Piece>& pieces) const {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  std::vector<Piece> parts;
  for (Piece& p : pieces) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    parts.clear();
    split(p, parts);
    for (Piece& q : parts)
      if (!q.text.empty()) out.push_back(std::move(q));
  }
  pieces = std::move(out);
}

namespace {

// The pieces of `piece` as split_by_matches gives them; the first keeps its at_start.
void emit(const Piece& piece, const std::vector<std::u32string>& parts, std::vector<Piece>& out) {
  for (size_t i = 0; i < parts.size(); ++i) {
    Piece q;
    q.text = encode_utf8(parts[i]);
    q.at_start = piece.at_start && i == 0;
    out.push_back(std::move(q));
  }
}

template <class Pred>
std::vector<Span> char_matches(std::u32string_view s, Pred&& pred) {
  std::vector<Span> m;
  for (size_t i = 0; i < s.size(); ++i)
    if (pred(s[i])) m.emplace_back(i, i + 1);
  return m;
}

template <class Pred>
void split_chars(const Piece& p, std::vector<Piece>& out, SplitBehavior b, Pred&& pred) {
  const std::u32string s = decode_utf8(p.text);
  emit(p, split_by_matches(s, char_matches(s, pred), b), out);
}

class BertPre final : public PreTokenizer {
 public:
  void split(const Piece& p, std::vector<Piece>& out) const override {
    std::vector<Piece> words;
    split_chars(p, words, SplitBehavior::kRemoved, fast::is_whitespace);
    for (const Piece& w : words)
      split_chars(w, out, SplitBehavior::kIsolated, fast::is_punctuation);
  }
};

class WhitespaceSplitPre final : public PreTokenizer {
 public:
  void split(const Piece& p, std::vector<Piece>& out) const override {
    split_chars(p, out, SplitBehavior::kRemoved, fast::is_whitespace);
  }
};

// \w+|[^\w\s]+, the matches kept and the rest removed.
class WhitespacePre final : public PreTokenizer {
 public:
  void split(const Piece& p, std::vector<Piece>& out) const override {
    const std::u32string s = decode_utf8(p.text);
    std::vector<std::u32string> parts;
    for (size_t i = 0; i < s.size();) {
      if (fast::is_whitespace(s[i])) {
        ++i;
        continue;
      }
      const bool w = is_regex_word(s[i]);
      size_t j = i;
      while (j < s.size() && !fast::is_whitespace(s[j]) && is_regex_word(s[j]) == w) ++j;
      parts.emplace_back(s.substr(i, j - i));
      i = j;
    }
    emit(p, parts, out);
  }
};

class PunctuationPre final : public PreTokenizer {
 public:
  explicit PunctuationPre(SplitBehavior b) : b_(b) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    split_chars(p, out, b_, fast::is_punctuation);
  }

 private:
  SplitBehavior b_;
};

class DigitsPre final : public PreTokenizer {
 public:
  explicit DigitsPre(bool individual) : individual_(individual) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    split_chars(p, out, individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                is_rust_numeric);
  }

 private:
  bool individual_;
};

class CharDelimiterPre final : public PreTokenizer {
 public:
  explicit CharDelimiterPre(char32_t d) : d_(d) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    split_chars(p, out, SplitBehavior::kRemoved, [this](char32_t c) { return c == d_; });
  }

 private:
  char32_t d_;
};

class SplitPre final : public PreTokenizer {
 public:
  SplitPre(Pattern pattern, SplitBehavior b, bool invert)
      : pattern_(std::move(pattern)), b_(b), invert_(invert) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    const std::u32string s = decode_utf8(p.text);
    std::vector<Span> m = pattern_.find_all(s);
    if (invert_) {  // the gaps between the matches are the matches
      std::vector<Span> gaps;
      size_t prev = 0;
      for (const Span& sp : m) {
        if (sp.first > prev) gaps.emplace_back(prev, sp.first);
        prev = sp.second;
      }
      if (prev < s.size()) gaps.emplace_back(prev, s.size());
      m = std::move(gaps);
    }
    emit(p, split_by_matches(s, m, b_), out);
  }

 private:
  Pattern pattern_;
  SplitBehavior b_;
  bool invert_;
};

class ByteLevelPre final : public PreTokenizer {
 public:
  ByteLevelPre(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    std::u32string s = decode_utf8(p.text);
    if (add_prefix_space_ && s[0] != U' ') s.insert(s.begin(), U' ');
    std::vector<std::u32string> parts;
    if (use_regex_) {
      parts = split_by_matches(s, gpt2_split(s), SplitBehavior::kIsolated);
    } else {
      parts.push_back(s);
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      Piece q;
      q.at_start = p.at_start && i == 0;
      for (unsigned char b : encode_utf8(parts[i])) append_utf8(q.text, byte_to_char(b));
      out.push_back(std::move(q));
    }
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class MetaspacePre final : public PreTokenizer {
 public:
  enum Scheme { kAlways, kFirst, kNever };
  MetaspacePre(char32_t replacement, Scheme scheme, bool split)
      : rep_(replacement), scheme_(scheme), split_(split) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    std::u32string s = decode_utf8(p.text);
    std::replace(s.begin(), s.end(), U' ', rep_);
    if (s[0] != rep_ && (scheme_ == kAlways || (scheme_ == kFirst && p.at_start)))
      s.insert(s.begin(), rep_);
    if (!split_) {
      emit(p, {s}, out);
      return;
    }
    emit(p,
         split_by_matches(s, char_matches(s, [this](char32_t c) { return c == rep_; }),
                          SplitBehavior::kMergedWithNext),
         out);
  }

 private:
  char32_t rep_;
  Scheme scheme_;
  bool split_;
};

class SequencePre final : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void split(const Piece& p, std::vector<Piece>& out) const override {
    std::vector<Piece> pieces{p};
    for (const auto& part : parts_) part->pre_tokenize(pieces);
    for (Piece& q : pieces) out.push_back(std::move(q));
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

char32_t one_char(const nlohmann::json& j, const char* key, const std::string& where) {
  const std::u32string u = decode_utf8(get_string(j, key, where), where);
  if (u.size() != 1) fail(where, ": '", key, "' must be one character");
  return u[0];
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j,
                                                 const std::string& where) {
  const std::string type = get_string(j, "type", where);
  const std::string at = where + " (" + type + ")";
  if (type == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPre>();
  if (type == "Whitespace") return std::make_unique<WhitespacePre>();
  if (type == "Punctuation") {
    return std::make_unique<PunctuationPre>(j.contains("behavior")
                                                ? parse_split_behavior(j["behavior"], at)
                                                : SplitBehavior::kIsolated);
  }
  if (type == "Digits")
    return std::make_unique<DigitsPre>(get_bool(j, "individual_digits", at, false));
  if (type == "CharDelimiterSplit")
    return std::make_unique<CharDelimiterPre>(one_char(j, "delimiter", at));
  if (type == "Split") {
    return std::make_unique<SplitPre>(Pattern::from_json(field(j, "pattern", at), at),
                                      parse_split_behavior(field(j, "behavior", at), at),
                                      get_bool(j, "invert", at, false));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPre>(get_bool(j, "add_prefix_space", at, true),
                                          get_bool(j, "use_regex", at, true));
  }
  if (type == "Metaspace") {
    MetaspacePre::Scheme scheme = MetaspacePre::kAlways;
    if (j.contains("prepend_scheme")) {
      const std::string s = get_string(j, "prepend_scheme", at);
      if (s == "always") {
        scheme = MetaspacePre::kAlways;
      } else if (s == "first") {
        scheme = MetaspacePre::kFirst;
      } else if (s == "never") {
        scheme = MetaspacePre::kNever;
      } else {
        fail(at, ": unknown prepend_scheme '", s, "'");
      }
    } else if (!get_bool(j, "add_prefix_space", at, true)) {  // tokenizers < 0.14
      scheme = MetaspacePre::kNever;
    }
    return std::make_unique<MetaspacePre>(one_char(j, "replacement", at), scheme,
                                          get_bool(j, "split", at, true));
  }
  if (type == "Sequence") {
    const nlohmann::json& list = field(j, "pretokenizers", at);
    if (!list.is_array()) fail(at, ": 'pretokenizers' must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(
          make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return std::make_unique<SequencePre>(std::move(parts));
  }
  fail(where, ": pre-tokenizer type '", type, "' is not supported");
}

}  // namespace lowbit::text
