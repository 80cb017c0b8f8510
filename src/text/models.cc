// tokenizers' models: WordPiece (greedy longest match), BPE (merges by rank, byte fallback) and
// Unigram (Viterbi over the pieces' log probabilities, as Unigram::encode_optimized).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "text/tokenizer_json.h"

namespace lowbit::text {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using IdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

size_t utf8_len(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// The vocabulary as both maps; the inputs come from a {"token": id} object or a list.
class Vocab {
 public:
  void add(std::string token, int32_t id, const std::string& where) {
    if (id < 0) fail(where, ": negative id ", id, " for token '", token, "'");
    if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(static_cast<size_t>(id) + 1);
    tokens_[static_cast<size_t>(id)] = token;
    max_bytes_ = std::max(max_bytes_, token.size());
    ids_.insert_or_assign(std::move(token), id);
  }
  void read_object(const nlohmann::json& v, const std::string& where) {
    if (!v.is_object()) fail(where, ": 'vocab' must be an object {token: id}");
    ids_.reserve(v.size());
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_number_integer())
        fail(where, ": vocab id of '", it.key(), "' is not an integer");
      const int64_t id = it.value().get<int64_t>();
      if (id > std::numeric_limits<int32_t>::max()) fail(where, ": vocab id ", id, " is too large");
      add(it.key(), static_cast<int32_t>(id), where);
    }
  }
  int32_t find(std::string_view t) const {
    auto it = ids_.find(t);
    return it == ids_.end() ? -1 : it->second;
  }
  const std::vector<std::string>& tokens() const { return tokens_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  IdMap ids_;
  std::vector<std::string> tokens_;
  size_t max_bytes_ = 0;
};

std::string opt_string(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) fail(where, ": field '", key, "' must be a string or null");
  return it->get<std::string>();
}

std::string byte_token(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

class WordPieceModel final : public Model {
 public:
  WordPieceModel(const nlohmann::json& j, const std::string& where) : where_(where) {
    vocab_.read_object(field(j, "vocab", where), where);
    unk_token_ = opt_string(j, "unk_token", where);
    prefix_ = opt_string(j, "continuing_subword_prefix", where);
    if (auto it = j.find("max_input_chars_per_word"); it != j.end() && !it->is_null()) {
      if (!it->is_number_unsigned()) fail(where, ": 'max_input_chars_per_word' must be a count");
      max_chars_ = it->get<size_t>();
    }
    unk_ = vocab_.find(unk_token_);
  }
  std::string kind() const override { return "wordpiece"; }
  const std::vector<std::string>& vocab() const override { return vocab_.tokens(); }
  int32_t token_to_id(std::string_view t) const override { return vocab_.find(t); }

  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    size_t chars = 0;
    for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
    if (chars > max_chars_) return push_unk(out);
    const size_t first = out.size();
    std::string key;
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      int32_t id = -1;
      while (end > start) {
        if (end - start + (start > 0 ? prefix_.size() : 0) <= vocab_.max_bytes()) {
          key.assign(start > 0 ? prefix_ : std::string());
          key.append(word.substr(start, end - start));
          id = vocab_.find(key);
          if (id >= 0) break;
        }
        do --end;  // to the previous character boundary
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (id < 0) {
        out.resize(first);
        return push_unk(out);
      }
      out.push_back(id);
      start = end;
    }
  }

 private:
  void push_unk(std::vector<int32_t>& out) const {
    if (unk_ < 0) fail(where_, ": unk_token '", unk_token_, "' is not in the vocabulary");
    out.push_back(unk_);
  }
  std::string where_;
  Vocab vocab_;
  std::string unk_token_, prefix_;
  size_t max_chars_ = 100;
  int32_t unk_ = -1;
};

class BpeModel final : public Model {
 public:
  BpeModel(const nlohmann::json& j, const std::string& where) {
    if (auto it = j.find("dropout"); it != j.end() && !it->is_null())
      fail(where, ": BPE dropout is not supported (it must be null for inference)");
    vocab_.read_object(field(j, "vocab", where), where);
    unk_token_ = opt_string(j, "unk_token", where);
    prefix_ = opt_string(j, "continuing_subword_prefix", where);
    suffix_ = opt_string(j, "end_of_word_suffix", where);
    fuse_unk_ = get_bool(j, "fuse_unk", where, false);
    byte_fallback_ = get_bool(j, "byte_fallback", where, false);
    ignore_merges_ = get_bool(j, "ignore_merges", where, false);
    if (!unk_token_.empty()) {
      unk_ = vocab_.find(unk_token_);
      if (unk_ < 0) fail(where, ": unk_token '", unk_token_, "' is not in the vocabulary");
    }
    const nlohmann::json& merges = field(j, "merges", where);
    if (!merges.is_array()) fail(where, ": 'merges' must be an array");
    merges_.reserve(merges.size());
    for (size_t r = 0; r < merges.size(); ++r) {
      const nlohmann::json& m = merges[r];
      std::string a, b;
      if (m.is_string()) {  // "a b"
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          fail(where, ": merge ", r, " '", s, "' is not two tokens separated by a space");
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
      } else {
        fail(where, ": merge ", r, " must be \"a b\" or [\"a\", \"b\"]");
      }
      const int32_t ia = vocab_.find(a), ib = vocab_.find(b);
      if (ia < 0 || ib < 0) fail(where, ": merge ", r, " uses a token not in the vocabulary");
      const size_t cut = (!prefix_.empty() && b.starts_with(prefix_)) ? prefix_.size() : 0;
      const int32_t merged = vocab_.find(a + b.substr(cut));
      if (merged < 0) fail(where, ": merge ", r, " gives a token not in the vocabulary");
      merges_.emplace(key(ia, ib), std::make_pair(static_cast<uint32_t>(r), merged));
    }
  }
  std::string kind() const override { return "bpe"; }
  const std::vector<std::string>& vocab() const override { return vocab_.tokens(); }
  int32_t token_to_id(std::string_view t) const override { return vocab_.find(t); }

  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    if (ignore_merges_) {
      if (int32_t id = vocab_.find(word); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    // BPE::merge_word: one symbol per character (prefix and suffix added), unknown characters
    // as bytes or [UNK] (fused when fuse_unk).
    std::vector<int32_t> symbols;
    int32_t pending_unk = -1;
    std::string s;
    for (size_t i = 0; i < word.size();) {
      const size_t len = std::min(utf8_len(static_cast<unsigned char>(word[i])), word.size() - i);
      s.assign(i > 0 ? prefix_ : std::string());
      s.append(word.substr(i, len));
      if (i + len == word.size()) s += suffix_;
      i += len;
      if (int32_t id = vocab_.find(s); id >= 0) {
        if (pending_unk >= 0) symbols.push_back(pending_unk);
        pending_unk = -1;
        symbols.push_back(id);
        continue;
      }
      if (byte_fallback_) {
        std::vector<int32_t> bytes;
        for (unsigned char b : s) {
          const int32_t id = vocab_.find(byte_token(b));
          if (id < 0) break;
          bytes.push_back(id);
        }
        if (bytes.size() == s.size()) {  // the pending [UNK] stays pending, as in tokenizers
          symbols.insert(symbols.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      if (unk_ >= 0) {
        if (pending_unk >= 0 && !fuse_unk_) symbols.push_back(pending_unk);
        pending_unk = unk_;
      }
    }
    if (pending_unk >= 0) symbols.push_back(pending_unk);
    merge_all(symbols, out);
  }

 private:
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  // Word::merge_all: the lowest-ranked pair first, the leftmost among equals.
  void merge_all(const std::vector<int32_t>& ids, std::vector<int32_t>& out) const {
    struct Sym {
      int32_t c;
      ptrdiff_t prev, next;
      bool alive;
    };
    struct Merge {
      size_t pos;
      uint32_t rank;
      int32_t id;
      bool operator<(const Merge& o) const {  // priority_queue pops the largest
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    const size_t n = ids.size();
    std::vector<Sym> sym(n);
    for (size_t i = 0; i < n; ++i)
      sym[i] = {ids[i], static_cast<ptrdiff_t>(i) - 1,
                i + 1 < n ? static_cast<ptrdiff_t>(i + 1) : -1, true};
    std::priority_queue<Merge> queue;
    auto find = [&](int32_t a, int32_t b) -> const std::pair<uint32_t, int32_t>* {
      auto it = merges_.find(key(a, b));
      return it == merges_.end() ? nullptr : &it->second;
    };
    for (size_t i = 0; i + 1 < n; ++i)
      if (const auto* m = find(ids[i], ids[i + 1])) queue.push({i, m->first, m->second});
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Sym& cur = sym[top.pos];
      if (!cur.alive || cur.next < 0) continue;
      const size_t next = static_cast<size_t>(cur.next);
      const auto* m = find(cur.c, sym[next].c);
      if (m == nullptr || m->second != top.id) continue;  // an outdated entry
      cur.c = top.id;
      cur.next = sym[next].next;
      sym[next].alive = false;
      if (cur.next >= 0) sym[static_cast<size_t>(cur.next)].prev = static_cast<ptrdiff_t>(top.pos);
      if (cur.prev >= 0) {
        const size_t p = static_cast<size_t>(cur.prev);
        if (const auto* pm = find(sym[p].c, cur.c)) queue.push({p, pm->first, pm->second});
      }
      if (cur.next >= 0) {
        if (const auto* nm = find(cur.c, sym[static_cast<size_t>(cur.next)].c))
          queue.push({top.pos, nm->first, nm->second});
      }
    }
    for (size_t i = 0; i < n; ++i)
      if (sym[i].alive) out.push_back(sym[i].c);
  }

  Vocab vocab_;
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;  // pair -> (rank, merged)
  std::string unk_token_, prefix_, suffix_;
  int32_t unk_ = -1;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
};

class UnigramModel final : public Model {
 public:
  UnigramModel(const nlohmann::json& j, const std::string& where) : where_(where) {
    const nlohmann::json& v = field(j, "vocab", where);
    if (!v.is_array()) fail(where, ": Unigram 'vocab' must be an array of [piece, score]");
    scores_.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const nlohmann::json& e = v[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        fail(where, ": vocab entry ", i, " must be [piece, score]");
      vocab_.add(e[0].get<std::string>(), static_cast<int32_t>(i), where);
      scores_.push_back(e[1].get<double>());
      min_score_ = std::min(min_score_, scores_.back());
    }
    if (auto it = j.find("unk_id"); it != j.end() && !it->is_null()) {
      if (!it->is_number_unsigned() || it->get<size_t>() >= v.size())
        fail(where, ": 'unk_id' must be an index into the vocabulary");
      unk_ = it->get<int32_t>();
    }
    byte_fallback_ = get_bool(j, "byte_fallback", where, false);
  }
  std::string kind() const override { return "unigram"; }
  const std::vector<std::string>& vocab() const override { return vocab_.tokens(); }
  int32_t token_to_id(std::string_view t) const override { return vocab_.find(t); }

  void tokenize(std::string_view s, std::vector<int32_t>& out) const override {
    constexpr double kUnkPenalty = 10.0;
    const double unk_score = min_score_ - kUnkPenalty;
    struct Node {
      int32_t id = -1;
      double score = 0;
      size_t start = 0;
      bool set = false;
    };
    const size_t n = s.size();
    std::vector<Node> best(n + 1);
    std::string key;
    for (size_t start = 0; start < n;) {
      const double here = best[start].score;
      const size_t mblen = std::min(utf8_len(static_cast<unsigned char>(s[start])), n - start);
      bool single = false;
      // Every piece that is a prefix of s[start..], shortest first (the trie's order).
      for (size_t end = start + mblen; end <= n && end - start <= vocab_.max_bytes();) {
        const int32_t id = vocab_.find(s.substr(start, end - start));
        if (id >= 0) {
          const double cand = here + scores_[static_cast<size_t>(id)];
          Node& t = best[end];
          if (!t.set || cand > t.score) t = {id, cand, start, true};
          if (end - start == mblen) single = true;
        }
        if (end == n) break;
        end += std::min(utf8_len(static_cast<unsigned char>(s[end])), n - end);
      }
      if (!single) {
        if (unk_ < 0) fail(where_, ": a character is not in the vocabulary and unk_id is null");
        const double cand = here + unk_score;
        Node& t = best[start + mblen];
        if (!t.set || cand > t.score) t = {unk_, cand, start, true};
      }
      start += mblen;
    }
    // Back from the end; consecutive unknown pieces are fused (fuse_unk).
    std::vector<std::pair<size_t, size_t>> pieces;
    bool prev_unk = false;
    for (size_t end = n; end > 0;) {
      const Node& node = best[end];
      const bool is_unk = node.id == unk_;
      if (is_unk && prev_unk) {
        pieces.back().first = node.start;
      } else {
        pieces.emplace_back(node.start, end);
      }
      prev_unk = is_unk;
      end = node.start;
    }
    std::reverse(pieces.begin(), pieces.end());
    for (const auto& [b, e] : pieces) {
      const std::string_view piece = s.substr(b, e - b);
      const int32_t id = vocab_.find(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      if (byte_fallback_) {
        std::vector<int32_t> bytes;
        for (unsigned char c : piece) {
          const int32_t bid = vocab_.find(byte_token(c));
          if (bid < 0) break;
          bytes.push_back(bid);
        }
        if (bytes.size() == piece.size()) {
          out.insert(out.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      if (unk_ < 0) fail(where_, ": piece not in the vocabulary and unk_id is null");
      out.push_back(unk_);
    }
  }

 private:
  std::string where_;
  Vocab vocab_;
  std::vector<double> scores_;
  double min_score_ = std::numeric_limits<double>::max();
  int32_t unk_ = -1;
  bool byte_fallback_ = false;
};

}  // namespace

std::unique_ptr<Model> make_model(const nlohmann::json& j, const std::string& where) {
  std::string type;
  if (j.is_object() && j.contains("type")) {
    type = get_string(j, "type", where);
  } else if (j.is_object() && j.contains("merges")) {
    type = "BPE";  // old files have no "type" on the model
  } else if (j.is_object() && j.contains("vocab") && j["vocab"].is_array()) {
    type = "Unigram";
  } else if (j.is_object() && j.contains("vocab")) {
    type = "WordPiece";
  }
  const std::string at = where + " (" + type + ")";
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(j, at);
  if (type == "BPE") return std::make_unique<BpeModel>(j, at);
  if (type == "Unigram") return std::make_unique<UnigramModel>(j, at);
  fail(where, ": model type '", type, "' is not supported (WordPiece, BPE and Unigram are)");
}

}  // namespace lowbit::text
