// tokenizers' normalizers, SentencePiece's Precompiled charsmap (XLM-R, T5, ALBERT...) included.
#include <utf8proc.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace lowbit::text {

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object()) fail(where, ": expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) fail(where, ": missing field '", key, "'");
  return *it;
}

std::string get_string(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& v = field(j, key, where);
  if (!v.is_string()) fail(where, ": field '", key, "' must be a string");
  return v.get<std::string>();
}

bool get_bool(const nlohmann::json& j, const char* key, const std::string& where, bool dflt) {
  if (!j.is_object()) fail(where, ": expected a JSON object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) fail(where, ": field '", key, "' must be a boolean");
  return it->get<bool>();
}

namespace {

// A normalizer that works on code points.
class CharNormalizer : public Normalizer {
 public:
  void normalize(std::string& s) const final {
    std::u32string u = decode_utf8(s, "normalizer input");
    apply(u);
    s = encode_utf8(u);
  }
  virtual void apply(std::u32string& s) const = 0;
};

// BertNormalizer: clean (drop NUL, U+FFFD and controls; white space to ' '), CJK padding, accent
// stripping (default: when lower-casing), lower-casing; the classes of text::fast.
class BertNorm final : public CharNormalizer {
 public:
  BertNorm(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}
  void apply(std::u32string& in) const override {
    std::u32string s;
    s.reserve(in.size());
    for (char32_t c : in) {
      if (clean_ && (c == 0 || c == 0xFFFD || fast::is_control(c))) continue;
      if (clean_ && fast::is_whitespace(c)) {
        s.push_back(U' ');
      } else if (chinese_ && fast::is_cjk_char(c)) {
        s.push_back(U' ');
        s.push_back(c);
        s.push_back(U' ');
      } else {
        s.push_back(c);
      }
    }
    if (strip_) s = fast::strip_accents(s);
    if (lower_) s = fast::lower(s);
    in = std::move(s);
  }

 private:
  bool clean_, chinese_, strip_, lower_;
};

class LowercaseNorm final : public CharNormalizer {
 public:
  void apply(std::u32string& s) const override { s = fast::lower(s); }
};

// StripAccents removes the combining marks (Mn, Mc, Me); it does not decompose (real pipelines
// put NFD before it).
class StripAccentsNorm final : public CharNormalizer {
 public:
  void apply(std::u32string& s) const override {
    s.erase(std::remove_if(s.begin(), s.end(), fast::is_combining_mark), s.end());
  }
};

class UnicodeNorm final : public CharNormalizer {
 public:
  explicit UnicodeNorm(std::string form) : form_(std::move(form)) {}
  void apply(std::u32string& s) const override {
    if (form_ == "NFD") {
      s = fast::nfd(s);
      return;
    }
    int options = UTF8PROC_STABLE;
    if (form_ == "NFC") options |= UTF8PROC_COMPOSE;
    if (form_ == "NFKC") options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    if (form_ == "NFKD") options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    const std::string in = encode_utf8(s);
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(in.data()),
                                            static_cast<utf8proc_ssize_t>(in.size()), &out,
                                            static_cast<utf8proc_option_t>(options));
    if (n < 0) fail(form_, " normalizer: ", utf8proc_errmsg(n));
    std::string r(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
    std::free(out);
    s = decode_utf8(r);
  }

 private:
  std::string form_;
};

class StripNorm final : public CharNormalizer {
 public:
  StripNorm(bool left, bool right) : left_(left), right_(right) {}
  void apply(std::u32string& s) const override {
    size_t b = 0, e = s.size();
    if (left_)
      while (b < e && fast::is_whitespace(s[b])) ++b;
    if (right_)
      while (e > b && fast::is_whitespace(s[e - 1])) --e;
    s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class ReplaceNorm final : public CharNormalizer {
 public:
  ReplaceNorm(Pattern p, std::u32string content) : p_(std::move(p)), content_(std::move(content)) {}
  void apply(std::u32string& s) const override {
    std::u32string out;
    size_t prev = 0;
    for (const Span& m : p_.find_all(s)) {
      out.append(s, prev, m.first - prev);
      out += content_;
      prev = m.second;
    }
    out.append(s, prev, std::u32string::npos);
    s = std::move(out);
  }

 private:
  Pattern p_;
  std::u32string content_;
};

class PrependNorm final : public Normalizer {
 public:
  explicit PrependNorm(std::string p) : p_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, p_);  // NormalizedString::prepend leaves an empty string alone
  }

 private:
  std::string p_;
};

class SequenceNorm final : public Normalizer {
 public:
  explicit SequenceNorm(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// ---------------------------------------------------------------------------------------------
// Precompiled: SentencePiece's normalization rules compiled into a darts-clone double-array trie
// from UTF-8 input to an offset into a blob of NUL-terminated replacements. precompiled_charsmap
// is base64 of: trie size in bytes (uint32, little-endian), the trie (uint32 units), the blob.

std::string base64_decode(const std::string& in, const std::string& where) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) fail(where, ": precompiled_charsmap is not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

class PrecompiledNorm final : public Normalizer {
 public:
  PrecompiledNorm(const std::string& b64, const std::string& where) {
    const std::string blob = base64_decode(b64, where);
    if (blob.size() < 4) fail(where, ": precompiled_charsmap is too short");
    uint32_t trie_bytes = 0;
    for (int k = 3; k >= 0; --k)
      trie_bytes = (trie_bytes << 8) | static_cast<unsigned char>(blob[static_cast<size_t>(k)]);
    if (trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4 || trie_bytes == 0)
      fail(where, ": precompiled_charsmap has a bad trie size ", trie_bytes);
    units_.resize(trie_bytes / 4);
    for (size_t u = 0; u < units_.size(); ++u) {
      uint32_t v = 0;
      for (int k = 3; k >= 0; --k)
        v = (v << 8) | static_cast<unsigned char>(blob[4 + u * 4 + static_cast<size_t>(k)]);
      units_[u] = v;
    }
    normalized_ = blob.substr(4 + trie_bytes);
  }

  // tokenizers' Precompiled::normalize: per extended grapheme cluster, the whole cluster when it
  // is shorter than 6 bytes and the trie knows a prefix of it (the first, shortest match then
  // replaces the whole cluster, as in spm_precompiled), else character by character.
  void normalize(std::string& s) const override {
    const std::u32string u = decode_utf8(s, "normalizer input");
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < u.size()) {
      size_t j = i + 1;
      utf8proc_int32_t state = 0;
      while (j < u.size() &&
             !utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(u[j - 1]),
                                               static_cast<utf8proc_int32_t>(u[j]), &state))
        ++j;
      const std::string g = encode_utf8(u.substr(i, j - i));
      std::string tmp;
      if (g.size() < 6 && transform(g, tmp)) {
        out += tmp;
      } else {
        for (size_t k = i; k < j; ++k) {
          std::string c;
          append_utf8(c, u[k]);
          if (transform(c, tmp)) {
            out += tmp;
          } else {
            out += c;
          }
        }
      }
      i = j;
    }
    s = std::move(out);
  }

 private:
  // The replacement of the first (shortest) key of the trie that is a prefix of `chunk`.
  bool transform(const std::string& chunk, std::string& out) const {
    const int64_t v = first_prefix_value(chunk);
    if (v < 0) return false;
    const size_t start = static_cast<size_t>(v);
    if (start >= normalized_.size()) return false;
    const size_t end = normalized_.find('\0', start);
    out = normalized_.substr(start, end == std::string::npos ? std::string::npos : end - start);
    return true;
  }

  // darts-clone's commonPrefixSearch, stopped at the first result.
  int64_t first_prefix_value(const std::string& key) const {
    auto offset = [](uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); };
    auto label = [](uint32_t unit) { return unit & ((1u << 31) | 0xFF); };
    auto has_leaf = [](uint32_t unit) { return ((unit >> 8) & 1) == 1; };
    size_t pos = 0;
    uint32_t unit = units_[0];
    pos ^= offset(unit);
    for (unsigned char c : key) {
      pos ^= c;
      if (pos >= units_.size()) return -1;
      unit = units_[pos];
      if (label(unit) != c) return -1;
      pos ^= offset(unit);
      if (pos >= units_.size()) return -1;
      if (has_leaf(unit)) return static_cast<int64_t>(units_[pos] & ((1u << 31) - 1));
    }
    return -1;
  }

  std::vector<uint32_t> units_;
  std::string normalized_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where) {
  const std::string type = get_string(j, "type", where);
  const std::string at = where + " (" + type + ")";
  if (type == "BertNormalizer") {
    const bool lower = get_bool(j, "lowercase", at, true);
    return std::make_unique<BertNorm>(get_bool(j, "clean_text", at, true),
                                      get_bool(j, "handle_chinese_chars", at, true),
                                      get_bool(j, "strip_accents", at, lower), lower);
  }
  if (type == "Lowercase") return std::make_unique<LowercaseNorm>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNorm>();
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
    return std::make_unique<UnicodeNorm>(type);
  if (type == "Strip") {
    return std::make_unique<StripNorm>(get_bool(j, "strip_left", at, true),
                                       get_bool(j, "strip_right", at, true));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceNorm>(Pattern::from_json(field(j, "pattern", at), at),
                                         decode_utf8(get_string(j, "content", at), at));
  }
  if (type == "Prepend") return std::make_unique<PrependNorm>(get_string(j, "prepend", at));
  if (type == "Precompiled") {
    const nlohmann::json& map = field(j, "precompiled_charsmap", at);
    // No rules (null or ""): nothing to do.
    if (map.is_null() || (map.is_string() && map.get<std::string>().empty()))
      return std::make_unique<SequenceNorm>(std::vector<std::unique_ptr<Normalizer>>{});
    if (!map.is_string()) fail(at, ": 'precompiled_charsmap' must be a base64 string");
    return std::make_unique<PrecompiledNorm>(map.get<std::string>(), at);
  }
  if (type == "Sequence") {
    const nlohmann::json& list = field(j, "normalizers", at);
    if (!list.is_array()) fail(at, ": 'normalizers' must be an array");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceNorm>(std::move(parts));
  }
  fail(where, ": normalizer type '", type, "' is not supported");
}

}  // namespace lowbit::text
