// Quantized encoders on the CPU: the FP32 recipe equals the FP32 reference exactly, a saved and
// reloaded lowbit model equals the one quantized in memory, W8A8 stays within its accuracy
// budget, and broken lowbit folders give clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/hash.h"
#include "io/model_dir.h"
#include "lowbit/engine.h"
#include "quant/ptq.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace lowbit {
namespace {

using lowbit::testing::engine_load_error;
using lowbit::testing::minilm_dir;
using lowbit::testing::TempDir;
using Json = nlohmann::json;

std::vector<std::string> golden_texts() {
  std::ifstream in(lowbit::testing::data_path("hf_golden.json"));
  const Json golden = Json::parse(in);
  std::vector<std::string> texts;
  for (const Json& c : golden["cases"]) texts.push_back(c["text"]);
  EXPECT_GE(texts.size(), 60u);
  return texts;
}

double cosine(const float* a, const float* b, int64_t n) {
  double d = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < n; ++i) {
    d += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return d / std::sqrt(na * nb);
}

std::string quantize(const TempDir& tmp, const std::string& name, const std::string& recipe,
                     bool asym = false, std::vector<int> parts = {0, 1, 2, 3}) {
  QuantizeOptions o;
  o.src_dir = minilm_dir();
  o.out_dir = tmp.str(name);
  o.recipe = recipe;
  o.asym = asym;
  o.parts = parts;
  quantize_model(o);
  return o.out_dir;
}

class QuantModel : public ::testing::Test {
 protected:
  void SetUp() override { LOWBIT_REQUIRE_MINILM(); }
};

TEST_F(QuantModel, Fp32RecipeEqualsReferenceExactly) {
  TempDir tmp;
  const auto texts = golden_texts();
  const Embeddings ref = Engine::load(minilm_dir())->embed(texts);
  const Embeddings q = Engine::load(quantize(tmp, "fp32", "fp32"))->embed(texts);
  ASSERT_EQ(ref.data.size(), texts.size() * 384);
  EXPECT_EQ(ref.data, q.data);  // bit for bit
}

TEST_F(QuantModel, W8A8WithinBudgetAndReloadIsIdentical) {
  TempDir tmp;
  const auto texts = golden_texts();
  const auto fp = Engine::load(minilm_dir());
  const Embeddings ref = fp->embed(texts);
  const std::string dir = quantize(tmp, "w8a8", "w8a8");
  const auto q = Engine::load(dir);
  EXPECT_EQ(q->info().quantization, "w8a8 on q1,q2,q3,q4");
  const Embeddings a = q->embed(texts);
  double mean = 0, worst = 1;
  for (int64_t i = 0; i < a.rows; ++i) {
    const double c = cosine(a.row(i), ref.row(i), a.dim);
    mean += c / double(a.rows);
    worst = std::min(worst, c);
  }
  std::printf("[quant] w8a8 vs fp32 on %lld golden texts: mean cosine %.6f, worst %.6f\n",
              (long long)a.rows, mean, worst);
  // Symmetric round-to-nearest on the adversarial golden texts measures 0.9957 (the real-text
  // numbers, and what closes the gap to 0.999, are in docs/accuracy.md).
  EXPECT_GE(mean, 0.995);
  // Quantizing the same checkpoint again gives byte-identical weights (deterministic).
  const std::string again = quantize(tmp, "w8a8-again", "w8a8");
  EXPECT_EQ(sha256_file(dir + "/model.safetensors"), sha256_file(again + "/model.safetensors"));
  EXPECT_EQ(Engine::load(again)->embed(texts).data, a.data);
}

TEST_F(QuantModel, EveryRecipeLoadsAndRuns) {
  TempDir tmp;
  const auto fp = Engine::load(minilm_dir());
  const std::vector<std::string> texts{"A man is playing a guitar.", "Stocks fell sharply."};
  const Embeddings ref = fp->embed(texts);
  struct Case {
    const char* recipe;
    bool asym;
    std::vector<int> parts;
    double min_cos;
  };
  // Sanity floors for round-to-nearest on two short sentences, not accuracy targets
  // (docs/accuracy.md measures those on 2,000 real sentences).
  for (const Case& c : std::vector<Case>{{"fp16", false, {0, 1, 2, 3}, 0.9999},
                                         {"w8a8", true, {0, 1, 2, 3}, 0.998},
                                         {"w4a8", false, {0, 1, 2, 3}, 0.85},
                                         {"w4a4", false, {2}, 0.8},
                                         {"w4a4", true, {0, 1, 2, 3}, 0.3},
                                         {"fp8", false, {0, 1, 2, 3}, 0.99},
                                         {"w4a8-fp8", false, {0, 1, 2, 3}, 0.7}}) {
    const std::string name =
        std::string(c.recipe) + (c.asym ? "-asym" : "") + "-" + std::to_string(c.parts.size());
    const auto e = Engine::load(quantize(tmp, name, c.recipe, c.asym, c.parts));
    const Embeddings q = e->embed(texts);
    for (int64_t i = 0; i < q.rows; ++i)
      EXPECT_GE(cosine(q.row(i), ref.row(i), q.dim), c.min_cos) << name << " text " << i;
  }
}

TEST_F(QuantModel, BrokenLowbitFoldersGiveClearErrors) {
  TempDir tmp;
  const std::string dir = quantize(tmp, "w4a4", "w4a4");
  auto copy = [&](const std::string& name) {
    const std::string d = tmp.str(name);
    fs::copy(dir, d, fs::copy_options::recursive);
    return d;
  };
  auto edit_recipe = [](const std::string& d, const std::function<void(Json&)>& f) {
    Json r = Json::parse(std::ifstream(d + "/recipe.json"));
    f(r);
    std::ofstream(d + "/recipe.json") << r.dump();
  };
  {  // a flipped byte in the weights
    const std::string d = copy("flipped");
    std::fstream f(d + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    f.put('\x5a');
    f.close();
    const std::string msg = engine_load_error(d);
    EXPECT_NE(msg.find("recipe.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hash"), std::string::npos) << msg;
  }
  {  // the recipe says w8a8 for one GEMM, the tensors are 4-bit
    const std::string d = copy("mismatch");
    edit_recipe(d, [](Json& r) {
      r["layers"][2]["q3"] = {{"mode", "w8a8"}, {"weight", "int8"}, {"activation", "int8"}};
    });
    const std::string msg = engine_load_error(d);
    EXPECT_NE(msg.find("encoder.layer.2.intermediate.dense.qweight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("recipe.json implies"), std::string::npos) << msg;
  }
  {  // scheme that contradicts the mode
    const std::string d = copy("contradiction");
    edit_recipe(d, [](Json& r) { r["layers"][0]["q1"]["weight"] = "int8"; });
    const std::string msg = engine_load_error(d);
    EXPECT_NE(msg.find("layer 0 q1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("do not match mode w4a4"), std::string::npos) << msg;
  }
  {  // unknown mode, missing layer, bad JSON
    const std::string d = copy("badmode");
    edit_recipe(d, [](Json& r) { r["layers"][1]["q2"]["mode"] = "w3a3"; });
    EXPECT_NE(engine_load_error(d).find("w3a3"), std::string::npos);
    const std::string d2 = copy("layers");
    edit_recipe(d2, [](Json& r) { r["layers"].erase(5); });
    EXPECT_NE(engine_load_error(d2).find("has 5 layers"), std::string::npos);
    const std::string d3 = copy("badjson");
    std::ofstream(d3 + "/recipe.json") << "{\"format\": ";
    EXPECT_NE(engine_load_error(d3).find("invalid JSON"), std::string::npos);
  }
}

TEST_F(QuantModel, QuantizeRefusesBadRequests) {
  TempDir tmp;
  QuantizeOptions o;
  o.src_dir = minilm_dir();
  o.out_dir = tmp.str("x");
  o.recipe = "w5a5";
  EXPECT_THROW(quantize_model(o), Error);
  o.recipe = "fp8";
  o.asym = true;
  EXPECT_THROW(quantize_model(o), Error);
  o.asym = false;
  o.recipe = "w4a4";
  o.group_size = 100;  // does not divide 384
  EXPECT_THROW(quantize_model(o), Error);
  EXPECT_FALSE(fs::exists(tmp.str("x"))) << "a failed quantize must leave nothing behind";
  o.group_size = 128;
  quantize_model(o);
  EXPECT_THROW(quantize_model(o), Error) << "an existing output needs overwrite";
  o.src_dir = tmp.str("x");
  o.out_dir = tmp.str("y");
  EXPECT_THROW(quantize_model(o), Error) << "a lowbit model is not a source";
}

// MiniLM's q3 (FFN in) in `recipe`, with a clip search on the first `texts` golden texts.
QuantizeOptions clip_search_options(const TempDir& tmp, const std::string& recipe, size_t texts) {
  QuantizeOptions o;
  o.src_dir = minilm_dir();
  o.out_dir = tmp.str("clip-" + recipe);
  o.recipe = recipe;
  o.parts = {2};
  o.calib = golden_texts();
  o.calib.resize(texts);
  return o;
}

TEST_F(QuantModel, ClipSearchReportsPerLayer) {
  TempDir tmp;
  const QuantizeOptions o = clip_search_options(tmp, "w4a4", 20);
  const QuantizeReport r = quantize_model(o);
  ASSERT_EQ(r.clips.size(), 6u);  // 6 layers x q3
  const Json recipe = Json::parse(std::ifstream(o.out_dir + "/recipe.json"));
  EXPECT_EQ(recipe["calibration"]["clips"].size(), 6u);
  int clipped = 0;
  for (const ClipChoice& c : r.clips) {
    EXPECT_GT(c.absmax, 0);
    // The chosen clip is the one the saved recipe applies to that layer's activations.
    const QuantScheme act = QuantScheme::parse(
        recipe["layers"][size_t(c.layer)]["q3"]["activation"].get<std::string>());
    if (c.clip > 0) {
      ++clipped;
      EXPECT_LT(c.err_clip, c.err_noclip) << "layer " << c.layer;
      ASSERT_TRUE(act.clip.has_value()) << "layer " << c.layer << ": clip not in recipe.json";
      EXPECT_EQ(*act.clip, c.clip) << "layer " << c.layer;
    } else {
      EXPECT_FALSE(act.clip.has_value()) << "layer " << c.layer;
    }
  }
  // 4-bit activations of the FFN input gain from clipping their outliers on some layer.
  EXPECT_GT(clipped, 0);
  EXPECT_NO_THROW(Engine::load(o.out_dir)->embed({"hello"}));
}

// The clip search runs the GEMM as it will run: for w4a8-fp8, FP8 activations against the
// weights widened to E4M3 (not the int4 codes, which quantized_matmul cannot pair with FP8).
TEST_F(QuantModel, ClipSearchRunsW4A8Fp8) {
  TempDir tmp;
  const QuantizeOptions o = clip_search_options(tmp, "w4a8-fp8", 8);
  const QuantizeReport r = quantize_model(o);
  ASSERT_EQ(r.clips.size(), 6u);
  for (const ClipChoice& c : r.clips) EXPECT_LE(c.err_clip, c.err_noclip) << "layer " << c.layer;
  EXPECT_NO_THROW(Engine::load(o.out_dir)->embed({"hello"}));
}

}  // namespace
}  // namespace lowbit
