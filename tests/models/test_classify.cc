// Sequence classification (BertForSequenceClassification): lowbit's head (pooler + classifier on
// [CLS]) against transformers' FP32 logits on tests/data/tiny-cls (gen_cls_golden.py: a random
// 2-layer BERT stored in FP16, 3 labels, a word-level vocab). Also: the head survives
// quantization into a lowbit model, a model without a head refuses to classify, the CLI.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "lowbit/engine.h"
#include "quant/ptq.h"
#include "test_util.h"

namespace lowbit {
namespace {

using testing::data_path;
using testing::TempDir;

struct Golden {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<double>> logits;
};

Golden golden() {
  std::ifstream in(data_path("tiny-cls/golden.json"));
  const auto j = nlohmann::json::parse(in);
  Golden g;
  for (const auto& s : j["sentences"]) {
    g.texts.push_back(s["text"]);
    g.ids.push_back(s["ids"].get<std::vector<int32_t>>());
    g.logits.push_back(s["logits"].get<std::vector<double>>());
  }
  return g;
}

int64_t argmax(const std::vector<double>& v) {
  return int64_t(std::max_element(v.begin(), v.end()) - v.begin());
}

LoadOptions cpu() {
  LoadOptions o;
  o.device = "cpu";
  return o;
}

TEST(Classify, MatchesTransformersLogits) {
  const Golden g = golden();
  const auto e = Engine::load(data_path("tiny-cls"), cpu());
  EXPECT_EQ(e->info().labels, (std::vector<std::string>{"negative", "neutral", "positive"}));
  for (size_t i = 0; i < g.texts.size(); ++i)
    EXPECT_EQ(e->tokenizer().encode(g.texts[i], 64).ids, g.ids[i]) << g.texts[i];
  EmbedOptions small;
  small.batch_tokens = 20;  // several ragged batches
  const Classifications c = e->classify(g.texts, small);
  ASSERT_EQ(c.rows, int64_t(g.texts.size()));
  double worst = 0;
  for (size_t i = 0; i < g.texts.size(); ++i) {
    for (size_t l = 0; l < 3; ++l)
      worst = std::max(worst, std::fabs(double(c.row(int64_t(i))[l]) - g.logits[i][l]));
    EXPECT_EQ(c.predicted(int64_t(i)), argmax(g.logits[i])) << g.texts[i];
  }
  std::printf("tiny-cls: largest |logit - transformers| %.3g\n", worst);
  EXPECT_LE(worst, 1e-4);
}

TEST(Classify, HeadSurvivesQuantization) {
  const Golden g = golden();
  TempDir dir;
  for (const char* recipe : {"fp32", "w8a8"}) {
    QuantizeOptions q;
    q.src_dir = data_path("tiny-cls");
    q.out_dir = dir.str(recipe);
    q.recipe = recipe;
    quantize_model(q);
    const auto e = Engine::load(q.out_dir, cpu());
    EXPECT_EQ(e->info().labels.size(), 3u);
    const Classifications c = e->classify(g.texts);
    double worst = 0;
    for (size_t i = 0; i < g.texts.size(); ++i)
      for (size_t l = 0; l < 3; ++l)
        worst = std::max(worst, std::fabs(double(c.row(int64_t(i))[l]) - g.logits[i][l]));
    std::printf("tiny-cls %s lowbit model: largest |logit - transformers FP32| %.3g\n", recipe,
                worst);
    EXPECT_LE(worst, std::string(recipe) == "fp32" ? 1e-4 : 0.25) << recipe;
  }
}

TEST(Classify, ModelWithoutHeadSaysSo) {
  LOWBIT_REQUIRE_MINILM();
  const auto e = Engine::load(testing::minilm_dir(), cpu());
  EXPECT_TRUE(e->info().labels.empty());
  try {
    e->classify({"hello"});
    ADD_FAILURE() << "classified without a head";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("no classification head"), std::string::npos)
        << err.what();
  }
}

TEST(Classify, Cli) {
  TempDir tmp;
  const std::string cmd = std::string(LOWBIT_CLI) + " classify --model " + data_path("tiny-cls") +
                          " --device cpu --format json 'the movie was great .' 'we watched it .' >" +
                          tmp.str("out") + " 2>" + tmp.str("err");
  ASSERT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0);
  std::ifstream in(tmp.str("out"));
  const auto j = nlohmann::json::parse(in);
  const Golden g = golden();
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["label"], j["labels"][size_t(argmax(g.logits[0]))]);
  EXPECT_EQ(j["results"][1]["label"], j["labels"][size_t(argmax(g.logits.back()))]);
  const double p = j["results"][0]["probability"];
  EXPECT_GT(p, 1.0 / 3);
  EXPECT_LE(p, 1.0);
  const std::string bad = std::string(LOWBIT_CLI) + " classify --model " + data_path("tiny-cls") +
                          " >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 2);  // no texts
}

}  // namespace
}  // namespace lowbit
