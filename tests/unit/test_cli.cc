// The lowbit binary as a user runs it: outputs, exit codes, one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lowbit {
namespace {

using lowbit::testing::minilm_dir;
using lowbit::testing::TempDir;

struct CliRun {
  int status;
  std::string out, err;
};

// Runs `lowbit ARGS` with stdin from `input`, capturing stdout and stderr.
CliRun run(const std::string& args, const std::string& input = "") {
  TempDir tmp;
  std::ofstream(tmp.str("in"), std::ios::binary) << input;
  const std::string cmd = std::string(LOWBIT_CLI) + " " + args + " <" + tmp.str("in") + " >" +
                          tmp.str("out") + " 2>" + tmp.str("err");
  const int rc = std::system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return CliRun{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(tmp.str("out")), slurp(tmp.str("err"))};
}

std::string model_arg() { return "--model '" + minilm_dir() + "'"; }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { LOWBIT_REQUIRE_MINILM(); }
};

TEST_F(Cli, EmbedJson) {
  const CliRun r = run("embed " + model_arg() + " 'A man is eating.' 'Someone eats food.'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["shape"], nlohmann::json::array({2, 384}));
  EXPECT_EQ(j["pooling"], "mean");
  EXPECT_EQ(j["normalized"], true);
  ASSERT_EQ(j["embeddings"].size(), 2u);
  double norm = 0;
  for (double v : j["embeddings"][0]) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST_F(Cli, EmbedStdinTsvAndOptions) {
  const CliRun r = run("embed " + model_arg() + " --format tsv --pooling cls --no-normalize -",
                       "first line\nsecond line\r\nthird\n");
  ASSERT_EQ(r.status, 0) << r.err;
  size_t lines = 0, tabs = 0;
  for (char c : r.out) {
    lines += c == '\n';
    tabs += c == '\t';
  }
  EXPECT_EQ(lines, 3u);
  EXPECT_EQ(tabs, 3u * 383u);
}

TEST_F(Cli, SimilarityMatrix) {
  const CliRun r = run("embed " + model_arg() +
                       " --similarity 'A cat sits on the mat.' 'A kitten rests on a rug.' "
                       "'Interest rates rose again.'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("embeddings: 3 x 384"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1.000"), std::string::npos) << r.out;
}

TEST_F(Cli, TruncationWarning) {
  std::string longtext;
  for (int i = 0; i < 400; ++i) longtext += "word ";
  const CliRun r = run("embed " + model_arg() + " '" + longtext + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("text 1 truncated from 402 to 256 tokens"), std::string::npos) << r.err;
}

TEST_F(Cli, InvalidUtf8OnStdin) {
  const CliRun r = run("embed " + model_arg() + " -", "good line\nbad \xff line\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("text 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(Cli, UsageErrors) {
  EXPECT_EQ(run("embed 'text'").status, 2);
  EXPECT_EQ(run("embed " + model_arg() + " --bogus x").status, 2);
  EXPECT_EQ(run("embed " + model_arg() + " --format xml x").status, 2);
  EXPECT_EQ(run("embed " + model_arg()).status, 2);
  EXPECT_EQ(run("frobnicate").status, 2);
  EXPECT_EQ(run("").status, 2);
  const CliRun bad = run("embed " + model_arg() + " --pooling max x");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("pooling"), std::string::npos);
}

TEST_F(Cli, MissingModelNamesThePath) {
  const CliRun r = run("embed --model /no/such/model hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/no/such/model"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(Cli, Info) {
  const CliRun r = run("info " + model_arg());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("6 layers, hidden 384, 12 heads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean pooling, L2-normalised"), std::string::npos) << r.out;
  const CliRun j = run("info --format json " + model_arg());
  ASSERT_EQ(j.status, 0) << j.err;
  EXPECT_EQ(nlohmann::json::parse(j.out)["hidden"], 384);
}

TEST_F(Cli, Help) {
  const CliRun r = run("embed --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--similarity"), std::string::npos);
}

// bench on the CPU: a JSON row per shape with the timing fields; bad devices and lists are errors.
TEST_F(Cli, BenchCpuJsonAndDeviceErrors) {
  const CliRun r =
      run("bench " + model_arg() + " --device cpu --batch 1,2 --seq 16 --iters 2 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["device"], "cpu");
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& row : j["results"]) {
    EXPECT_EQ(row["seq"], 16);
    EXPECT_GT(row["median_ms"].get<double>(), 0.0);
    EXPECT_GE(row["p90_ms"].get<double>(), row["min_ms"].get<double>());
    EXPECT_GT(row["sequences_per_s"].get<double>(), 0.0);
  }
  const CliRun v = run("bench " + model_arg() +
                       " --device cpu --varlen 5 --batch 2 --max-len 40 --iters 1 --format json");
  ASSERT_EQ(v.status, 0) << v.err;
  const auto vj = nlohmann::json::parse(v.out);
  EXPECT_EQ(vj["results"][0]["varlen"], 5);
  EXPECT_LE(vj["results"][0]["mean_len"].get<double>(), 40.0);
  const CliRun bad = run("embed " + model_arg() + " --device tpu 'x'");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("must be cpu, cuda or auto"), std::string::npos) << bad.err;
  EXPECT_EQ(run("bench " + model_arg() + " --batch 0").status, 2);
  if (std::system("nvidia-smi -L >/dev/null 2>&1") != 0) {
    const CliRun c = run("embed " + model_arg() + " --device cuda 'x'");
    EXPECT_EQ(c.status, 1);
    EXPECT_NE(c.err.find("device cuda"), std::string::npos) << c.err;
  }
}

// tune (qbest): usage errors are exit 2; without a GPU it says why in one line, exit 1, and
// writes no plan; bench names the plan it follows.
TEST_F(Cli, TuneUsageAndNoGpu) {
  const CliRun h = run("tune --help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("qbest.json"), std::string::npos) << h.out;
  EXPECT_EQ(run("tune").status, 2);
  EXPECT_EQ(run("tune " + model_arg() + " --batch 0").status, 2);
  EXPECT_EQ(run("tune " + model_arg() + " --layers -1").status, 2);
  EXPECT_EQ(run("tune " + model_arg() + " --format xml").status, 2);
  if (std::system("nvidia-smi -L >/dev/null 2>&1") != 0) {
    TempDir tmp;
    const CliRun r = run("tune " + model_arg() + " --out " + tmp.str("plan.json"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("device cuda"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::ifstream(tmp.str("plan.json")).good());
  }
  const CliRun b = run("bench " + model_arg() + " --device cpu --iters 1 --seq 8 --batch 1 --format json");
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(nlohmann::json::parse(b.out)["qbest"], "off");
}

// quantize --clips: given activation clips land in recipe.json; malformed files and clips for
// GEMMs the recipe leaves in FP32 are errors.
TEST(CliQuantize, GivenClips) {
  TempDir tmp;
  const std::string src = std::string(LOWBIT_TEST_DATA) + "/tiny-cls";
  std::ofstream(tmp.str("clips.json")) << R"({"0.q1": 2.5, "1.q4": 0.75})";
  const CliRun ok = run("quantize --model " + src + " --out " + tmp.str("m") +
                        " --recipe w4a4 --quiet --clips " + tmp.str("clips.json"));
  ASSERT_EQ(ok.status, 0) << ok.err;
  std::ifstream in(tmp.str("m") + "/recipe.json");
  const std::string recipe((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(recipe.find("int4_c2.5"), std::string::npos) << recipe;
  EXPECT_NE(recipe.find("int4_c0.75"), std::string::npos) << recipe;
  std::ofstream(tmp.str("bad.json")) << R"({"layer0": 2.5})";
  const CliRun bad = run("quantize --model " + src + " --out " + tmp.str("b") +
                         " --recipe w4a4 --quiet --clips " + tmp.str("bad.json"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("<layer>.q<1-4>"), std::string::npos) << bad.err;
  const CliRun fp = run("quantize --model " + src + " --out " + tmp.str("f") +
                        " --recipe w4a4 --parts q2 --quiet --clips " + tmp.str("clips.json"));
  EXPECT_EQ(fp.status, 1);
  EXPECT_NE(fp.err.find("must be quantized"), std::string::npos) << fp.err;
}

// quantize --lkd hands the work to the Python toolkit and says so when it cannot import it; its
// options are checked first (python/tests/test_lkd.py runs the distillation itself).
TEST(CliQuantize, LkdNeedsThePythonToolkit) {
  TempDir tmp;
  const std::string src = std::string(LOWBIT_TEST_DATA) + "/tiny-cls";
  std::ofstream(tmp.str("texts.txt")) << "a text\n";
  const std::string base =
      "quantize --model " + src + " --out " + tmp.str("m") + " --lkd " + tmp.str("texts.txt");
  EXPECT_EQ(run(base + " --recipe fp32").status, 2);
  EXPECT_EQ(run(base + " --recipe w4a4 --parts q1").status, 2);
  const CliRun fp8w4 = run(base + " --recipe w4a8-fp8");  // no power-of-two scales in Python yet
  EXPECT_EQ(fp8w4.status, 2);
  EXPECT_NE(fp8w4.err.find("w4a8-fp8"), std::string::npos) << fp8w4.err;
  const std::string cmd = "LOWBIT_PYTHON=false " + std::string(LOWBIT_CLI) + " " + base +
                          " --recipe w4a4 >" + tmp.str("out") + " 2>" + tmp.str("err");
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
  std::ifstream in(tmp.str("err"));
  const std::string err((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(err.find("cannot import"), std::string::npos) << err;
}

// tune-gemm: usage errors are exit 2; without a GPU (CI) it says so in one line, exit 1.
TEST(CliTuneGemm, UsageAndNoGpu) {
  const CliRun h = run("tune-gemm --help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("LOWBIT_GEMM_PLAN"), std::string::npos) << h.out;
  EXPECT_EQ(run("tune-gemm --m 0").status, 2);
  EXPECT_EQ(run("tune-gemm --shapes 3072").status, 2);
  EXPECT_EQ(run("tune-gemm --shapes 3072x768+gelux").status, 2);
  EXPECT_EQ(run("tune-gemm --model gpt").status, 2);
  EXPECT_EQ(run("tune-gemm --kernels w2a2 --shapes 8x128 --m 1").status, 2);
  if (std::system("nvidia-smi -L >/dev/null 2>&1") != 0) {
    const CliRun r = run("tune-gemm --shapes 8x128 --m 1");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("needs a CUDA"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace lowbit
