// The lowbit format loader against an independent writer: tests/fuzz/make_lowbit_seeds.py
// writes tiny lowbit models (also the fuzzer's seeds) in Python; each must load and run here,
// and a corrupted copy must be refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "quant/recipe.h"
#include "test_util.h"
#include "tiny_bert.h"

namespace lowbit {
namespace {

using lowbit::testing::run_tiny_lowbit;
using lowbit::testing::TempDir;

TEST(LowbitFormat, PythonWrittenModelsLoadAndRun) {
  TempDir tmp;
  const std::string cmd = "python3 " + std::string(LOWBIT_TEST_DATA) +
                          "/../fuzz/make_lowbit_seeds.py " + tmp.str("seeds");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const char* mode : {"fp32", "w8a8", "w4a8", "w4a4", "fp8"}) {
    std::ifstream in(tmp.str("seeds/seed_") + mode, std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    ASSERT_GT(bytes.size(), 100u) << mode;
    const Tensor h = run_tiny_lowbit(bytes);
    ASSERT_EQ(h.shape(), (std::vector<int64_t>{6, 8})) << mode;
    for (int64_t i = 0; i < h.numel(); ++i) ASSERT_TRUE(std::isfinite(h.data<float>()[i])) << mode;
    if (std::string(mode) != "fp32") {
      // A quantized GEMM whose weight scales or code sums are missing is refused, naming the
      // tensor: rename the last one in the header.
      std::string bad = bytes;
      const size_t pos = bad.rfind(std::string(mode) == "fp8" ? "wscale" : "wsum");
      if (pos != std::string::npos) {
        bad[pos + 1] = 'X';
        try {
          run_tiny_lowbit(bad);
          ADD_FAILURE() << mode << ": a model with a missing tensor loaded";
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("no tensor named"), std::string::npos) << e.what();
        }
      }
    }
  }
}

// w4a8-fp8 (ZeroQuant-FP): 4-bit weights with power-of-two scales, FP8 activations; the recipe
// round-trips, and a recipe whose schemes do not match the mode, or --asym, is refused.
TEST(LowbitFormat, W4A8Fp8Recipe) {
  EXPECT_EQ(parse_gemm_mode("w4a8-fp8"), GemmMode::W4A8Fp8);
  const GemmQuant q = GemmQuant::make(GemmMode::W4A8Fp8, false, 32);
  EXPECT_EQ(q.weight.str(), "int4_g32_p2");
  EXPECT_EQ(q.act.str(), "fp8");
  EXPECT_THROW(GemmQuant::make(GemmMode::W4A8Fp8, true, 0), Error);
  Recipe r = Recipe::uniform("w4a8-fp8", 2, GemmMode::W4A8Fp8, false, 32);
  r.weights_sha256 = std::string(64, '0');
  nlohmann::json j = r.to_json();
  EXPECT_EQ(j["layers"][1]["q3"]["weight"], "int4_g32_p2");
  EXPECT_EQ(Recipe::from_json(j, "recipe.json", 2).layers[1][2], r.layers[1][2]);
  j["layers"][1]["q3"]["weight"] = "int4_g32";  // the mode's weights must have p2 scales
  EXPECT_THROW(Recipe::from_json(j, "recipe.json", 2), Error);
  // The summary names whole modes ("w4a8-fp8" holds "w4a8" and "fp8").
  Recipe mixed = Recipe::uniform("mixed", 3, GemmMode::W4A8Fp8, false, 0, {0});
  mixed.layers[1][0] = GemmQuant::make(GemmMode::Fp8);
  mixed.layers[2][0] = GemmQuant::make(GemmMode::W4A8);
  EXPECT_NE(mixed.summary().find("w4a8-fp8/fp8/w4a8 on q1"), std::string::npos) << mixed.summary();
}

// Recipes name their GEMMs: each layer is an object keyed by the model's GEMM names, checked
// against what the model declares (the encoder: q1..q4); another model's GEMMs round-trip too.
TEST(LowbitFormat, RecipesNameTheirGemms) {
  Recipe r = Recipe::uniform("w8a8", 2, GemmMode::W8A8, false, 0, {0, 2});
  r.weights_sha256 = std::string(64, '0');
  nlohmann::json j = r.to_json();
  ASSERT_TRUE(j["layers"][0].contains("q3"));
  EXPECT_EQ(j["layers"][0]["q2"]["mode"], "fp32");
  const Recipe back = Recipe::from_json(j, "recipe.json", 2);
  EXPECT_EQ(back.layers[1][2], r.layers[1][2]);
  EXPECT_EQ(back.summary(), "w8a8 on q1,q3; fp32 on q2,q4");
  auto error_of = [](const nlohmann::json& x, const GemmSlots& slots) {
    try {
      Recipe::from_json(x, "recipe.json", 2, slots);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  nlohmann::json extra = j;
  extra["layers"][1]["x1"] = {{"mode", "fp32"}};
  EXPECT_NE(error_of(extra, encoder_gemm_slots()).find("unknown GEMM \"x1\""), std::string::npos);
  nlohmann::json missing = j;
  missing["layers"][0].erase("q4");
  EXPECT_NE(error_of(missing, encoder_gemm_slots()).find("missing q4"), std::string::npos);
  // A model with five GEMMs per layer (say, cross-attention) reads and writes its own names.
  GemmSlots five = encoder_gemm_slots();
  five.push_back({"x1", "cross-attention"});
  Recipe r5 = Recipe::uniform("w4a8", 2, GemmMode::W4A8, false, 0, {4}, five);
  r5.weights_sha256 = std::string(64, '0');
  const Recipe b5 = Recipe::from_json(r5.to_json(), "recipe.json", 2, five);
  EXPECT_EQ(b5.layers[0][4].mode, GemmMode::W4A8);
  EXPECT_EQ(b5.layers[0][0].mode, GemmMode::Fp32);
  EXPECT_EQ(parse_gemm_name("x1", five), 4);
  EXPECT_NE(error_of(r5.to_json(), encoder_gemm_slots()).find("unknown GEMM"), std::string::npos);
  try {
    b5.check_gemms(encoder_gemm_slots(), "model");
    ADD_FAILURE() << "a five-GEMM recipe was accepted for the encoder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("this model has q1, q2, q3, q4"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lowbit
