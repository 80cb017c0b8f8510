// Parity with Hugging Face on the real all-MiniLM-L6-v2 checkpoint: token ids exactly, and
// embeddings (sentence-transformers' normalised mean pooling, BertModel's CLS state, sentence
// pairs) at cosine >= 0.99999. Reference outputs: tests/data/hf_golden.json (gen_golden.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lowbit/engine.h"
#include "test_util.h"

namespace lowbit {
namespace {

using lowbit::testing::data_path;
using lowbit::testing::minilm_dir;
using Json = nlohmann::json;

struct Compare {
  double cosine, max_abs;
};

Compare compare(const float* got, const std::vector<float>& want) {
  double dot = 0, na = 0, nb = 0, mx = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    dot += double(got[i]) * want[i];
    na += double(got[i]) * got[i];
    nb += double(want[i]) * want[i];
    mx = std::max(mx, std::fabs(double(got[i]) - want[i]));
  }
  return {dot / std::sqrt(na * nb), mx};
}

class BertParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (minilm_dir().empty()) return;
    engine_ = Engine::load(minilm_dir()).release();
    std::ifstream in(data_path("hf_golden.json"));
    golden_ = new Json(Json::parse(in));
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete golden_;
  }
  void SetUp() override { LOWBIT_REQUIRE_MINILM(); }
  static Engine* engine_;
  static Json* golden_;
};
Engine* BertParity::engine_ = nullptr;
Json* BertParity::golden_ = nullptr;

TEST_F(BertParity, GoldenFileIsLargeAndVaried) {
  EXPECT_GE((*golden_)["cases"].size(), 60u);
  EXPECT_EQ((*golden_)["max_length"].get<int64_t>(), engine_->info().max_length);
}

TEST_F(BertParity, TokenIdsMatchExactly) {
  const size_t max_len = size_t(engine_->info().max_length);
  for (const Json& c : (*golden_)["cases"]) {
    const std::string text = c["text"];
    const Encoding e = engine_->tokenizer().encode(text, max_len);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>()) << "text: " << Json(text).dump();
    EXPECT_EQ(e.untruncated_length, c["untruncated_length"].get<size_t>())
        << "text: " << Json(text).dump();
  }
}

TEST_F(BertParity, MeanPooledNormalizedEmbeddings) {
  std::vector<std::string> texts;
  for (const Json& c : (*golden_)["cases"]) texts.push_back(c["text"]);
  const Embeddings e = engine_->embed(texts);  // the checkpoint's own pooling: mean, normalised
  ASSERT_EQ(e.rows, int64_t(texts.size()));
  double worst_cos = 1, worst_abs = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto want = (*golden_)["cases"][i]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(want.size(), size_t(e.dim));
    const Compare c = compare(e.row(int64_t(i)), want);
    EXPECT_GE(c.cosine, 0.99999) << "text " << i << ": " << Json(texts[i]).dump();
    worst_cos = std::min(worst_cos, c.cosine);
    worst_abs = std::max(worst_abs, c.max_abs);
  }
  std::printf("[parity] %zu texts: worst cosine %.9f, max abs diff %.3g\n", texts.size(), worst_cos,
              worst_abs);
  EXPECT_LT(worst_abs, 1e-4);
}

TEST_F(BertParity, ClsPoolingMatchesBertModel) {
  EmbedOptions opts;
  opts.pooling = "cls";
  opts.normalize = false;
  std::vector<std::string> texts;
  std::vector<std::vector<float>> want;
  for (const Json& c : (*golden_)["cases"])
    if (c.contains("cls")) {
      texts.push_back(c["text"]);
      want.push_back(c["cls"].get<std::vector<float>>());
    }
  ASSERT_GE(texts.size(), 10u);
  const Embeddings e = engine_->embed(texts, opts);
  for (size_t i = 0; i < texts.size(); ++i) {
    const Compare c = compare(e.row(int64_t(i)), want[i]);
    EXPECT_GE(c.cosine, 0.99999) << Json(texts[i]).dump();
    EXPECT_LT(c.max_abs, 1e-3) << Json(texts[i]).dump();
  }
}

TEST_F(BertParity, SentencePairsWithTokenTypes) {
  const size_t max_len = size_t(engine_->info().max_length);
  EmbedOptions opts;
  opts.pooling = "cls";
  opts.normalize = false;
  for (const Json& p : (*golden_)["pairs"]) {
    const Encoding enc = engine_->tokenizer().encode_pair(p["a"].get<std::string>(),
                                                          p["b"].get<std::string>(), max_len);
    EXPECT_EQ(enc.ids, p["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(enc.type_ids, p["type_ids"].get<std::vector<int32_t>>());
    const Embeddings e = engine_->embed_pairs({{p["a"], p["b"]}}, opts);
    const Compare c = compare(e.row(0), p["cls"].get<std::vector<float>>());
    EXPECT_GE(c.cosine, 0.99999);
  }
}

TEST_F(BertParity, BatchedEqualsSingle) {
  std::vector<std::string> texts;
  for (const Json& c : (*golden_)["cases"]) texts.push_back(c["text"]);
  const Embeddings all = engine_->embed(texts);
  EmbedOptions small;
  small.batch_tokens = 1;  // one text per forward pass
  const Embeddings one = engine_->embed(texts, small);
  double mx = 0;
  for (size_t i = 0; i < all.data.size(); ++i)
    mx = std::max(mx, std::fabs(double(all.data[i]) - one.data[i]));
  std::printf("[parity] batched vs single: max abs diff %.3g\n", mx);
  EXPECT_LE(mx, 1e-6);
}

// Offline batching (EmbedOptions::sort_by_length, the default): passes filled longest first,
// results back in input order, each as in a pass of its own.
TEST_F(BertParity, LengthSortedBatchesKeepInputOrder) {
  std::vector<std::string> texts;
  for (const Json& c : (*golden_)["cases"]) texts.push_back(c["text"]);
  EmbedOptions sorted;
  sorted.batch_tokens = 300;  // several passes of several texts each
  const Embeddings e = engine_->embed(texts, sorted);
  EmbedOptions alone;
  alone.batch_tokens = 1;
  alone.sort_by_length = false;
  const Embeddings one = engine_->embed(texts, alone);
  ASSERT_EQ(e.data.size(), one.data.size());
  double mx = 0;
  for (size_t i = 0; i < e.data.size(); ++i)
    mx = std::max(mx, std::fabs(double(e.data[i]) - one.data[i]));
  std::printf("[parity] length-sorted passes vs one text a pass: max abs diff %.3g\n", mx);
  EXPECT_LE(mx, 1e-6);
  ASSERT_EQ(e.truncated.size(), one.truncated.size());
  for (size_t i = 0; i < e.truncated.size(); ++i)
    EXPECT_EQ(e.truncated[i].index, one.truncated[i].index);
}

TEST_F(BertParity, TruncationIsReported) {
  const std::string long_text = (*golden_)["cases"][60]["text"];
  const Embeddings e = engine_->embed({"short", long_text});
  ASSERT_EQ(e.truncated.size(), 1u);
  EXPECT_EQ(e.truncated[0].index, 1u);
  EXPECT_EQ(e.truncated[0].tokens, size_t(engine_->info().max_length));
  EXPECT_GT(e.truncated[0].untruncated, 512u);
}

TEST_F(BertParity, InvalidUtf8IsAnErrorNamingTheText) {
  try {
    engine_->embed({"fine", std::string("bad \xC3\x28 byte")});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
}

TEST_F(BertParity, ModelInfo) {
  const ModelInfo& m = engine_->info();
  EXPECT_EQ(m.layers, 6);
  EXPECT_EQ(m.hidden, 384);
  EXPECT_EQ(m.heads, 12);
  EXPECT_EQ(m.pooling, "mean");
  EXPECT_TRUE(m.normalize);
  EXPECT_EQ(m.max_length, 256);
  // 22,713,216 in the file, less the pooler (384 x 384 + 384) that embeddings never use.
  EXPECT_EQ(m.parameters, 22713216 - 147840);
}

}  // namespace
}  // namespace lowbit
