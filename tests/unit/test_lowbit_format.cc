// The lowbit format loader against an independent writer: tests/fuzz/make_lowbit_seeds.py
// writes tiny lowbit models (also the fuzzer's seeds) in Python; each must load and run here,
// and a corrupted copy must be refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/error.h"
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

}  // namespace
}  // namespace lowbit
