// The GEMM plan of lowbit tune-gemm (src/backends/cuda/gemm/gemm_tuner.h): buckets, lookup,
// save / load round trip and bad files. Host-side only: runs without a GPU.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "backends/cuda/gemm/gemm_tuner.h"
#include "core/error.h"
#include "test_util.h"

namespace lowbit {
namespace {

using cuda::GemmChoice;
using cuda::GemmEngine;

cuda::IntGemmParams params(PackedLayout a, PackedLayout b, int64_t m, int64_t n, int64_t k) {
  cuda::IntGemmParams p;
  p.a_layout = a;
  p.b_layout = b;
  p.m = m;
  p.n = n;
  p.k = k;
  return p;
}

TEST(GemmPlan, BucketsAndKernelNames) {
  EXPECT_EQ(cuda::gemm_m_bucket(1), 1);
  EXPECT_EQ(cuda::gemm_m_bucket(129), 256);
  EXPECT_EQ(cuda::gemm_m_bucket(256), 256);
  EXPECT_EQ(cuda::gemm_kernel_name(PackedLayout::UInt8, PackedLayout::Int4), "w4a8");
  EXPECT_EQ(cuda::gemm_kernel_name(PackedLayout::UInt4, PackedLayout::Int4), "w4a4");
  EXPECT_EQ(cuda::gemm_kernel_name(PackedLayout::Fp8E4M3, PackedLayout::Fp8E4M3), "fp8");
  EXPECT_EQ(cuda::gemm_kernel_name(PackedLayout::Int4, PackedLayout::Int8), "");
}

TEST(GemmPlan, LookupSaveLoad) {
  testing::TempDir dir;
  cuda::gemm_plan_clear();
  GemmChoice c;
  c.engine = GemmEngine::Wgmma;
  c.tokens_tile = 128;
  c.split_k = 6;
  c.schedule = cuda::GemmSchedule::PingPong;
  c.us = 12.5;
  cuda::gemm_plan_set("w8a8", 3072, 768, 128, c);
  const auto hit =
      cuda::gemm_plan_find(params(PackedLayout::UInt8, PackedLayout::Int8, 100, 3072, 768));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->tokens_tile, 128);
  EXPECT_EQ(hit->split_k, 6);
  EXPECT_FALSE(
      cuda::gemm_plan_find(params(PackedLayout::Int8, PackedLayout::Int8, 129, 3072, 768)));
  EXPECT_FALSE(
      cuda::gemm_plan_find(params(PackedLayout::Int8, PackedLayout::Int4, 100, 3072, 768)));

  const std::string path = dir.str("plan.json");
  cuda::gemm_plan_save(path);
  cuda::gemm_plan_clear();
  EXPECT_FALSE(
      cuda::gemm_plan_find(params(PackedLayout::Int8, PackedLayout::Int8, 100, 3072, 768)));
  cuda::gemm_plan_load(path);
  const auto again =
      cuda::gemm_plan_find(params(PackedLayout::Int8, PackedLayout::Int8, 128, 3072, 768));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->engine, GemmEngine::Wgmma);
  EXPECT_EQ(again->split_k, 6);
  EXPECT_EQ(again->schedule, cuda::GemmSchedule::PingPong);
  EXPECT_DOUBLE_EQ(again->us, 12.5);

  // Plans written before the schedule existed load as automatic; an unknown one is refused.
  std::ofstream(dir.str("old.json")) << R"({"entries": [{"kernel": "w8a8", "n": 8, "k": 128,
      "m_bucket": 1, "engine": "wgmma", "tile": "auto", "tokens_tile": 0, "split_k": 1}]})";
  cuda::gemm_plan_load(dir.str("old.json"));
  const auto old = cuda::gemm_plan_find(params(PackedLayout::Int8, PackedLayout::Int8, 1, 8, 128));
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->schedule, cuda::GemmSchedule::Auto);
  std::ofstream(dir.str("bad3.json")) << R"({"entries": [{"kernel": "w8a8", "n": 8, "k": 128,
      "m_bucket": 1, "engine": "wgmma", "tile": "auto", "tokens_tile": 0, "split_k": 1,
      "schedule": "zigzag"}]})";
  EXPECT_THROW(cuda::gemm_plan_load(dir.str("bad3.json")), Error);

  // The CUTLASS engine round-trips by name, with its schedule.
  GemmChoice cc;
  cc.engine = GemmEngine::Cutlass;
  cc.split_k = 1;
  cc.schedule = cuda::GemmSchedule::Cooperative;
  cuda::gemm_plan_set("w8a8", 4096, 1024, 65536, cc);
  EXPECT_EQ(cuda::describe(cc), "cutlass cooperative split 1");
  cuda::gemm_plan_save(dir.str("cutlass.json"));
  cuda::gemm_plan_clear();
  cuda::gemm_plan_load(dir.str("cutlass.json"));
  const auto cut =
      cuda::gemm_plan_find(params(PackedLayout::Int8, PackedLayout::Int8, 49152, 4096, 1024));
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->engine, GemmEngine::Cutlass);
  EXPECT_EQ(cut->schedule, cuda::GemmSchedule::Cooperative);

  std::ofstream(dir.str("bad.json")) << R"({"entries": [{"kernel": "w8a8", "n": 1}]})";
  EXPECT_THROW(cuda::gemm_plan_load(dir.str("bad.json")), Error);
  std::ofstream(dir.str("bad2.json")) << R"({"entries": [{"kernel": "w8a8", "n": 8, "k": 128,
      "m_bucket": 1, "engine": "tensorcore", "tile": "auto", "tokens_tile": 0, "split_k": 0}]})";
  EXPECT_THROW(cuda::gemm_plan_load(dir.str("bad2.json")), Error);
  EXPECT_THROW(cuda::gemm_plan_load(dir.str("missing.json")), Error);
  cuda::gemm_plan_clear();
}

}  // namespace
}  // namespace lowbit
