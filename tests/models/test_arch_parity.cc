// The BERT family beyond BERT on the CPU: RoBERTa, XLM-R, DistilBERT, MPNet, ELECTRA and BERT
// folders saved the transformers-5 way (tokenizer.json only, BF16 / FP16 weights), each a tiny
// random checkpoint with a tokenizer trained on real text (tests/data/gen_arch_golden.py).
// Against transformers in float64: token ids exactly, the last hidden states, CLS and mean
// pooling at cosine >= 0.99999 and small absolute error; a batch equals its sequences alone.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "lowbit/engine.h"
#include "models/encoder.h"
#include "ops/op.h"
#include "test_util.h"

namespace lowbit {
namespace {

using Json = nlohmann::json;
using lowbit::testing::data_path;

struct Stats {
  double worst_cos = 1, worst_abs = 0;
  void add(const float* got, const std::vector<float>& want) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      dot += double(got[i]) * want[i];
      na += double(got[i]) * got[i];
      nb += double(want[i]) * want[i];
      worst_abs = std::max(worst_abs, std::fabs(double(got[i]) - want[i]));
    }
    worst_cos = std::min(worst_cos, dot / std::sqrt(na * nb));
  }
};

Json read_golden(const std::string& dir) {
  std::ifstream in(dir + "/golden.json");
  return Json::parse(in);
}

class ArchParity : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return data_path("arch/" + GetParam()); }
};

// Every case and pair of a golden file, as (ids, type ids, the case's JSON).
std::vector<std::pair<Encoding, const Json*>> golden_inputs(const Json& g) {
  std::vector<std::pair<Encoding, const Json*>> out;
  for (const char* list : {"cases", "pairs"}) {
    if (!g.contains(list)) continue;
    for (const Json& c : g[list]) {
      Encoding e;
      e.ids = c["ids"].get<std::vector<int32_t>>();
      e.type_ids = c.contains("type_ids") ? c["type_ids"].get<std::vector<int32_t>>()
                                          : std::vector<int32_t>(e.ids.size(), 0);
      out.emplace_back(std::move(e), &c);
    }
  }
  return out;
}

TEST_P(ArchParity, HiddenStatesAndPoolingMatchTransformers) {
  const ModelDir md = open_model_dir(dir());
  const SafeTensors file = SafeTensors::open(md.weights_path);
  const Encoder model(md.config, file);
  const Json g = read_golden(dir());
  ASSERT_EQ(g["model_type"].get<std::string>(), md.config.model_type);
  const int64_t h = md.config.hidden_size;
  Stats hidden, cls, mean;
  size_t n_hidden = 0;
  for (const auto& [enc, c] : golden_inputs(g)) {
    RaggedBatch b(md.config);
    b.add(enc.ids, enc.type_ids);
    const Tensor out = model.forward(b);  // [tokens, hidden]
    const int64_t t = out.dim(0);
    if (c->contains("hidden")) {
      const Json& rows = (*c)["hidden"];
      ASSERT_EQ(int64_t(rows.size()), t);
      for (int64_t r = 0; r < t; ++r)
        hidden.add(out.data<float>() + r * h, rows[size_t(r)].get<std::vector<float>>());
      ++n_hidden;
    }
    cls.add(out.data<float>(), (*c)["cls"].get<std::vector<float>>());
    std::vector<float> m(size_t(h), 0.0f);
    for (int64_t r = 0; r < t; ++r)
      for (int64_t j = 0; j < h; ++j) m[size_t(j)] += out.data<float>()[r * h + j] / float(t);
    mean.add(m.data(), (*c)["mean"].get<std::vector<float>>());
  }
  std::printf("[%s] hidden (%zu seqs) cos %.9f abs %.2g | cls cos %.9f abs %.2g | mean cos %.9f\n",
              GetParam().c_str(), n_hidden, hidden.worst_cos, hidden.worst_abs, cls.worst_cos,
              cls.worst_abs, mean.worst_cos);
  EXPECT_GE(n_hidden, 5u);
  EXPECT_GE(hidden.worst_cos, 0.99999);
  EXPECT_GE(cls.worst_cos, 0.99999);
  EXPECT_GE(mean.worst_cos, 0.99999);
  EXPECT_LT(hidden.worst_abs, 2e-4);
}

TEST_P(ArchParity, BatchEqualsSequencesAlone) {
  const ModelDir md = open_model_dir(dir());
  const SafeTensors file = SafeTensors::open(md.weights_path);
  const Encoder model(md.config, file);
  const auto inputs = golden_inputs(read_golden(dir()));
  RaggedBatch all(md.config);
  for (const auto& [enc, c] : inputs) all.add(enc.ids, enc.type_ids);
  const Tensor batched = model.forward(all);
  const int64_t h = md.config.hidden_size;
  double worst = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    RaggedBatch one(md.config);
    one.add(inputs[i].first.ids, inputs[i].first.type_ids);
    const Tensor alone = model.forward(one);
    const float* b = batched.data<float>() + int64_t(all.cu_seqlens[i]) * h;
    for (int64_t k = 0; k < alone.numel(); ++k)
      worst = std::max(worst, std::fabs(double(alone.data<float>()[k]) - b[k]));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST_P(ArchParity, EngineTokenizesAndEmbedsLikeTransformers) {
  const auto engine = Engine::load(dir(), {.device = "cpu"});
  const Json g = read_golden(dir());
  EXPECT_EQ(engine->info().model_type, g["model_type"].get<std::string>());
  const size_t max_len = size_t(g["max_length"].get<int64_t>());
  std::vector<std::string> texts;
  std::vector<std::vector<float>> want;
  for (const Json& c : g["cases"]) {
    const Encoding e = engine->tokenizer().encode(c["text"].get<std::string>(), max_len);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>()) << c["text"].dump();
    EXPECT_EQ(e.untruncated_length, c["untruncated_length"].get<size_t>()) << c["text"].dump();
    texts.push_back(c["text"]);
    want.push_back(c["cls"].get<std::vector<float>>());
  }
  for (const Json& p : g["pairs"]) {
    const Encoding e = engine->tokenizer().encode_pair(p["a"].get<std::string>(),
                                                       p["b"].get<std::string>(), max_len);
    EXPECT_EQ(e.ids, p["ids"].get<std::vector<int32_t>>()) << p["a"].dump();
    if (p.contains("type_ids")) EXPECT_EQ(e.type_ids, p["type_ids"].get<std::vector<int32_t>>());
  }
  EmbedOptions o;
  o.pooling = "cls";
  o.normalize = false;
  const Embeddings e = engine->embed(texts, o);
  Stats s;
  for (size_t i = 0; i < texts.size(); ++i) s.add(e.row(int64_t(i)), want[i]);
  EXPECT_GE(s.worst_cos, 0.99999);
}

INSTANTIATE_TEST_SUITE_P(Families, ArchParity,
                         ::testing::Values("roberta", "xlm-roberta", "distilbert", "mpnet",
                                           "electra", "bert-bf16", "bert-fp16"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// The real all-mpnet-base-v2 on the 64 texts of the parity suite, against sentence-transformers
// (tests/data/mpnet_golden.json, gen_mpnet_golden.py): the encoder on the reference token ids,
// then the engine from text (its tokenizer.json) with the checkpoint's own pooling.
TEST(RealMpnet, EncoderMatchesSentenceTransformers) {
  LOWBIT_REQUIRE_MPNET();
  const ModelDir md = open_model_dir(testing::mpnet_dir());
  EXPECT_EQ(md.config.model_type, "mpnet");
  EXPECT_EQ(md.pooling, Pooling::Mean);
  EXPECT_TRUE(md.normalize);
  const SafeTensors file = SafeTensors::open(md.weights_path);
  const Encoder model(md.config, file);
  std::ifstream in(data_path("mpnet_golden.json"));
  const Json g = Json::parse(in);
  ASSERT_GE(g["cases"].size(), 60u);
  const int64_t h = md.config.hidden_size;
  RaggedBatch batch(md.config);
  for (const Json& c : g["cases"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    batch.add(ids, std::vector<int32_t>(ids.size(), 0));
  }
  const Tensor hidden = model.forward(batch);
  Tensor pooled = Tensor::empty({batch.size(), h});
  ops::pool(hidden, batch.cu_seqlens, true, pooled);
  ops::l2_normalize(pooled);
  Stats s, cls;
  for (size_t i = 0; i < g["cases"].size(); ++i) {
    const Json& c = g["cases"][i];
    s.add(pooled.data<float>() + int64_t(i) * h, c["embedding"].get<std::vector<float>>());
    if (c.contains("cls"))
      cls.add(hidden.data<float>() + int64_t(batch.cu_seqlens[i]) * h,
              c["cls"].get<std::vector<float>>());
  }
  std::printf("[all-mpnet-base-v2] %zu texts: embedding cosine min %.9f, max |diff| %.3g; CLS "
              "cosine min %.9f\n",
              g["cases"].size(), s.worst_cos, s.worst_abs, cls.worst_cos);
  EXPECT_GE(s.worst_cos, 0.99999);
  EXPECT_GE(cls.worst_cos, 0.99999);
  EXPECT_LT(s.worst_abs, 1e-4);
}

TEST(RealMpnet, EngineFromTextMatchesSentenceTransformers) {
  LOWBIT_REQUIRE_MPNET();
  const auto engine = Engine::load(testing::mpnet_dir(), {.device = "cpu"});
  std::ifstream in(data_path("mpnet_golden.json"));
  const Json g = Json::parse(in);
  EXPECT_EQ(engine->info().max_length, g["max_length"].get<int64_t>());
  std::vector<std::string> texts;
  for (const Json& c : g["cases"]) {
    texts.push_back(c["text"]);
    const Encoding e = engine->tokenizer().encode(texts.back(), size_t(engine->info().max_length));
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>()) << c["text"].dump();
  }
  for (const Json& p : g["pairs"]) {
    const Encoding e = engine->tokenizer().encode_pair(
        p["a"].get<std::string>(), p["b"].get<std::string>(), size_t(engine->info().max_length));
    EXPECT_EQ(e.ids, p["ids"].get<std::vector<int32_t>>()) << p["a"].dump();
  }
  const Embeddings e = engine->embed(texts);
  Stats s;
  for (size_t i = 0; i < texts.size(); ++i)
    s.add(e.row(int64_t(i)), g["cases"][i]["embedding"].get<std::vector<float>>());
  EXPECT_GE(s.worst_cos, 0.99999);
}

TEST(ArchParity, RobertaClassificationHead) {
  const std::string dir = data_path("arch/roberta-cls");
  const auto engine = Engine::load(dir, {.device = "cpu"});
  const Json g = read_golden(dir);
  std::vector<std::string> texts;
  for (const Json& c : g["cases"]) texts.push_back(c["text"]);
  const Classifications r = engine->classify(texts);
  ASSERT_EQ(r.labels.size(), 3u);
  EXPECT_EQ(r.labels[2], "positive");
  double worst = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto want = g["cases"][i]["logits"].get<std::vector<float>>();
    for (size_t l = 0; l < want.size(); ++l)
      worst = std::max(worst, std::fabs(double(r.row(int64_t(i))[l]) - want[l]));
  }
  std::printf("[roberta-cls] %zu texts: max |logit - transformers| %.3g\n", texts.size(), worst);
  EXPECT_LT(worst, 1e-4);
}

}  // namespace
}  // namespace lowbit
