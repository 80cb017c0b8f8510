// The mma.sync integer GEMMs (src/backends/cuda/gemm, engine MmaSync) against the CPU oracle
// (ctest label gpu; test_cuda_wgmma.cc covers the Hopper engine):
//   - the int32 accumulators bit-exact with cpu::int_gemm, every kernel family and activation
//     signedness, over the full code range (random bytes: every int8 / uint8 / nibble code), for
//     M = 1..130 (all), M at tile boundaries ±1, BERT-base and BERT-large (N, K), both CTA tiles,
//     split-K on and off, per-channel and grouped weights;
//   - the float epilogue (F32 output) bit-exact with cpu::int_gemm_epilogue and with
//     lowbit::quantized_matmul (asymmetric activations included), since the kernels evaluate it in
//     the same order of float32 operations; F16 output = that float rounded to half, exactly;
//   - GELU and residual within a stated budget of cpu::bias_act_f32 (CUDA's erff is not glibc's);
//   - unsupported parameters rejected by can_implement with a message naming the field.
// Every output buffer is poisoned before each run; words past the output must stay poisoned.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/int_gemm.h"
#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "core/error.h"
#include "cuda_gemm_util.h"
#include "quant/packing.h"
#include "quant/quantized.h"
#include "quant/scheme.h"

namespace lowbit {
namespace {

using namespace gemm_test;

const Config kConfigs[] = {{GemmTile::Auto, 0},
                           {GemmTile::Large, 1},
                           {GemmTile::Small, 1},
                           {GemmTile::Large, 3},
                           {GemmTile::Small, 5}};

class CudaGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto devs = cuda::devices();
    ASSERT_FALSE(devs.empty()) << "no CUDA device visible";
    ASSERT_GE(devs[0].sm_major, 8) << "the mma.sync integer GEMMs need sm_80 or newer";
  }
  PoisonedOut out_;
  Workspace ws_;
};

// ---------------------------------------------------------------------------------------------
// Accumulators, bit-exact

// M = 1..130, every value, on the attention-output shape; the configurations take turns.
TEST_F(CudaGemm, AccumulatorsExactEveryMUpTo130) {
  uint32_t seed = 1;
  for (const Kernel& kn : kKernels) {
    const Problem pr(kn, 130, 768, 768, 0, seed++);
    for (int64_t m = 1; m <= 130; ++m) {
      expect_acc_exact(pr, m, kConfigs[size_t(m) % std::size(kConfigs)], out_, ws_);
      if (HasFailure()) return;  // one broken kernel would print hundreds of lines
    }
  }
}

// The BERT shapes at tile boundaries ±1, each in every configuration.
TEST_F(CudaGemm, AccumulatorsExactBertShapesTileBoundaries) {
  const int64_t ms[] = {1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 257};
  uint32_t seed = 100;
  for (const Kernel& kn : kKernels)
    for (const auto& [n, k] : kBertShapes) {
      const Problem pr(kn, 257, n, k, 0, seed++);
      for (const int64_t m : ms)
        for (const Config& c : kConfigs) expect_acc_exact(pr, m, c, out_, ws_);
      if (HasFailure()) return;
    }
}

// N not a multiple of the CTA tile (a partial tile of columns), K of one or two k tiles.
TEST_F(CudaGemm, AccumulatorsExactOddTiles) {
  uint32_t seed = 200;
  for (const Kernel& kn : kKernels)
    for (const auto& [n, k] : {std::pair<int64_t, int64_t>{8, 256}, {200, 128}, {776, 256}}) {
      const Problem pr(kn, 70, n, k, 0, seed++);
      for (const int64_t m : {1, 5, 33, 70})
        for (const Config& c : kConfigs) expect_acc_exact(pr, m, c, out_, ws_);
    }
}

// Weight groups along K: every group's accumulator (the host runs one split per group).
TEST_F(CudaGemm, AccumulatorsExactGrouped) {
  uint32_t seed = 300;
  for (const Kernel& kn : kKernels)
    for (const auto& [n, k] : {std::pair<int64_t, int64_t>{768, 768}, {768, 3072}, {1024, 4096}})
      for (const int64_t group : {128, 256}) {
        const Problem pr(kn, 130, n, k, group, seed++);
        for (const int64_t m : {1, 16, 33, 64, 65, 128, 130})
          for (const Config& c : {Config{GemmTile::Large, 1}, Config{GemmTile::Small, 1}})
            expect_acc_exact(pr, m, c, out_, ws_);
        if (HasFailure()) return;
      }
}

// ---------------------------------------------------------------------------------------------
// Float epilogue

// F32 and F16 outputs equal the CPU epilogue bit for bit (one split: the CPU's order of float
// operations), symmetric and asymmetric activations, per-channel and grouped weights.
TEST_F(CudaGemm, EpilogueExactVsCpu) {
  uint32_t seed = 400;
  for (const Kernel& kn : kKernels)
    for (const int64_t group : {0, 256})
      for (const bool asym : {false, true}) {
        const Problem pr(kn, 129, 768, 1024, group, seed++);
        const Scales s = make_scales(pr, asym, seed++);
        std::vector<float> ref(size_t(pr.max_m * pr.n));
        cpu::GemmScales cs;
        cs.sx = s.sx.data();
        cs.sw = s.sw.data();
        cs.bias = s.bias.data();
        if (asym) {
          cs.zx = s.zx.data();
          cs.zcorr = s.zcorr.data();
        }
        cpu::int_gemm_epilogue(pr.acc.data(), pr.max_m, pr.n, pr.groups, cs, ref.data());
        for (const int64_t m : {1, 40, 129})
          for (const GemmTile tile : {GemmTile::Large, GemmTile::Small})
            for (const GemmOut ot : {GemmOut::F32, GemmOut::F16}) {
              IntGemmParams p = pr.params(m);
              attach(p, s);
              p.tile = tile;
              p.split_k = 1;
              p.out_type = ot;
              const size_t count = size_t(m * pr.n);
              p.out = out_.prepare(count * (ot == GemmOut::F32 ? 4 : 2));
              const std::string what = pr.describe(m) + (asym ? " asym" : " sym") +
                                       (ot == GemmOut::F32 ? " f32 (" : " f16 (") + plan_str(p) +
                                       ")";
              run_sync(p);
              size_t bad = 0, first = 0;
              if (ot == GemmOut::F32) {
                const auto got = out_.fetch<float>(count);
                for (size_t i = 0; i < count; ++i)
                  if (bits(got[i]) != bits(ref[i]) && bad++ == 0) first = i;
                if (bad)
                  ADD_FAILURE() << what << ": " << bad << " outputs differ; first [" << first / pr.n
                                << ", " << first % pr.n << "]: got " << got[first] << ", want "
                                << ref[first];
              } else {
                const auto got = out_.fetch<uint16_t>(count);
                for (size_t i = 0; i < count; ++i)
                  if (got[i] != half_bits(ref[i]) && bad++ == 0) first = i;
                if (bad)
                  ADD_FAILURE() << what << ": " << bad << " outputs differ; first [" << first / pr.n
                                << ", " << first % pr.n << "]: want half of " << ref[first];
              }
              const std::string guard = out_.guard_error();
              EXPECT_TRUE(guard.empty()) << what << ": " << guard;
            }
        if (HasFailure()) return;
      }
}

// Split-K reduces float partials of grouped weights in split order: a different association of
// Σ_g than the CPU's, so within a budget of a few float32 roundings of Σ_g |sw · acc_g|; with one
// group (integer partials) the result stays bit-exact.
TEST_F(CudaGemm, EpilogueSplitK) {
  uint32_t seed = 500;
  for (const Kernel& kn : kKernels)
    for (const int64_t group : {0, 128}) {
      const Problem pr(kn, 64, 768, 3072, group, seed++);
      const Scales s = make_scales(pr, false, seed++);
      std::vector<float> ref(size_t(pr.max_m * pr.n)), mag(ref.size());
      cpu::GemmScales cs;
      cs.sx = s.sx.data();
      cs.sw = s.sw.data();
      cs.bias = s.bias.data();
      cpu::int_gemm_epilogue(pr.acc.data(), pr.max_m, pr.n, pr.groups, cs, ref.data());
      for (int64_t i = 0; i < pr.max_m; ++i)
        for (int64_t j = 0; j < pr.n; ++j) {
          double t = 0;
          for (int64_t g = 0; g < pr.groups; ++g)
            t += std::fabs(double(s.sw[size_t(j * pr.groups + g)]) *
                           pr.acc[size_t((i * pr.n + j) * pr.groups + g)]);
          mag[size_t(i * pr.n + j)] = float(s.sx[size_t(i)] * t);
        }
      for (const int split : {2, 6, 16})
        for (const GemmTile tile : {GemmTile::Large, GemmTile::Small}) {
          const int64_t m = 64;
          IntGemmParams p = pr.params(m);
          attach(p, s);
          p.tile = tile;
          p.split_k = split;
          p.out_type = GemmOut::F32;
          p.out = out_.prepare(size_t(m * pr.n) * 4);
          ws_.attach(p);
          const std::string what = pr.describe(m) + " (" + plan_str(p) + ")";
          run_sync(p);
          const auto got = out_.fetch<float>(size_t(m * pr.n));
          size_t bad = 0;
          for (size_t i = 0; i < got.size(); ++i) {
            // Budget: two summation orders of `groups` terms, each within (groups + 2)
            // roundings (unit roundoff 2^-24) of the magnitude, + 2 ulp of the result.
            const double tol = group ? 2 * (double(pr.groups) + 2) * 0x1p-24 * mag[i] +
                                           std::fabs(double(ref[i])) * 0x1p-22
                                     : 0.0;
            const bool ok =
                group ? std::fabs(double(got[i]) - ref[i]) <= tol : bits(got[i]) == bits(ref[i]);
            if (!ok && bad++ == 0)
              ADD_FAILURE() << what << ": [" << i / size_t(pr.n) << ", " << i % size_t(pr.n)
                            << "] got " << got[i] << ", want " << ref[i] << " (budget " << tol
                            << ")";
          }
          EXPECT_EQ(bad, 0u) << what;
          const std::string guard = out_.guard_error();
          EXPECT_TRUE(guard.empty()) << what << ": " << guard;
        }
      if (HasFailure()) return;
    }
}

// The quantized Linear's path end to end: float activations and weights quantized by the CPU
// reference (asymmetric uint8 / uint4 activations with zero points, int8 / int4 / int4_g128
// weights), then GEMM + bias (bit-exact with quantized_matmul), + GELU (budget) and + residual.
TEST_F(CudaGemm, QuantizedLinearWithGeluAndResidual) {
  struct Case {
    const char* x_scheme;
    const char* w_scheme;
  };
  const Case cases[] = {{"uint8", "int8"},     {"int8", "int8"},       {"uint8", "int4"},
                        {"int8", "int4_g128"}, {"uint8", "int4_g128"}, {"uint4", "int4"},
                        {"int4", "int4_g128"}};
  std::mt19937 rng(600);
  const int64_t m = 77, n = 1024, k = 768;
  for (const Case& c : cases) {
    // Activations with an offset, as after GELU (asymmetric ranges), and per-token spread.
    std::vector<float> x = random_floats(size_t(m * k), -1.0f, 3.0f, rng);
    std::vector<float> w = random_floats(size_t(n * k), -0.1f, 0.1f, rng);
    const std::vector<float> bias = random_floats(size_t(n), -0.5f, 0.5f, rng);
    const std::vector<float> res = random_floats(size_t(m * n), -2.0f, 2.0f, rng);
    const QuantizedMatrix qx = quantize_matrix(x.data(), m, k, QuantScheme::parse(c.x_scheme), "x");
    const QuantizedMatrix qw = quantize_matrix(w.data(), n, k, QuantScheme::parse(c.w_scheme), "w");
    std::vector<float> y(size_t(m * n));
    quantized_matmul(qx, qw, bias.data(), y.data());
    std::vector<float> y_gelu = y;
    cpu::bias_act_f32(y_gelu.data(), nullptr, m, n, cpu::Epilogue::GeluErf);

    DevMem da, db, dsx, dzx, dsw, dzcorr, dbias, dres, dres_h;
    upload(da, qx.codes);
    upload(db, qw.codes);
    upload(dsx, qx.scales);
    upload(dsw, qw.scales);
    upload(dbias, bias);
    upload(dres, res);
    std::vector<__half> res_h(res.size());
    for (size_t i = 0; i < res.size(); ++i) res_h[i] = __float2half_rn(res[i]);
    upload(dres_h, res_h);
    IntGemmParams p;
    p.engine = cuda::GemmEngine::MmaSync;
    p.a_layout = qx.scheme.layout();
    p.b_layout = qw.scheme.layout();
    p.a = da.get();
    p.b = db.get();
    p.m = m;
    p.n = n;
    p.k = k;
    p.group_size = qw.scheme.group_size;
    p.sx = dsx.as<float>();
    p.sw = dsw.as<float>();
    p.bias = dbias.as<float>();
    if (!qx.scheme.symmetric) {
      std::vector<float> zcorr(static_cast<size_t>(n));
      cpu::zero_point_correction(qw.scales.data(), qw.code_sums.data(), n, qw.groups(),
                                 zcorr.data());
      upload(dzx, qx.zeros);
      upload(dzcorr, zcorr);
      p.zx = dzx.as<float>();
      p.zcorr = dzcorr.as<float>();
    }
    p.split_k = 1;
    const std::string what = std::string("x ") + c.x_scheme + ", w " + c.w_scheme;

    // 1. GEMM + bias, F32: bit-exact with quantized_matmul.
    p.out_type = GemmOut::F32;
    p.out = out_.prepare(size_t(m * n) * 4);
    run_sync(p);
    {
      const auto got = out_.fetch<float>(size_t(m * n));
      size_t bad = 0;
      for (size_t i = 0; i < got.size(); ++i)
        if (bits(got[i]) != bits(y[i]) && bad++ == 0)
          ADD_FAILURE() << what << ": [" << i / n << ", " << i % n << "] got " << got[i]
                        << ", want " << y[i];
      EXPECT_EQ(bad, 0u) << what;
    }

    // 2. + GELU + residual, F32. Budget: erff vs glibc erf (a few ulp of erf) moves GELU by at
    // most 1e-6·|y|; then one rounding of the residual add.
    p.gelu = true;
    p.residual = dres.get();
    p.out = out_.prepare(size_t(m * n) * 4);
    run_sync(p);
    {
      const auto got = out_.fetch<float>(size_t(m * n));
      size_t bad = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double want = double(y_gelu[i]) + res[i];
        const double tol = 1e-6 * std::fabs(y[i]) + 0x1p-23 * std::fabs(want) + 1e-30;
        if (!(std::fabs(got[i] - want) <= tol) && bad++ == 0)
          ADD_FAILURE() << what << " gelu+residual f32: [" << i / n << ", " << i % n << "] got "
                        << got[i] << ", want " << want << " (budget " << tol << ")";
      }
      EXPECT_EQ(bad, 0u) << what;
    }

    // 3. The same in F16 with a half residual. Budget: the F32 budget, then one half rounding
    // (2^-11 relative; 2^-24 absolute near zero).
    p.out_type = GemmOut::F16;
    p.residual = dres_h.get();
    p.out = out_.prepare(size_t(m * n) * 2);
    run_sync(p);
    {
      const auto got = out_.fetch<__half>(size_t(m * n));
      size_t bad = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double want = double(y_gelu[i]) + double(__half2float(res_h[i]));
        const double tol = 1e-6 * std::fabs(y[i]) + 0x1p-11 * std::fabs(want) + 0x1p-24 +
                           0x1p-23 * std::fabs(want);
        const double g = __half2float(got[i]);
        if (!(std::fabs(g - want) <= tol) && bad++ == 0)
          ADD_FAILURE() << what << " gelu+residual f16: [" << i / n << ", " << i % n << "] got "
                        << g << ", want " << want << " (budget " << tol << ")";
      }
      EXPECT_EQ(bad, 0u) << what;
    }
    const std::string guard = out_.guard_error();
    EXPECT_TRUE(guard.empty()) << what << ": " << guard;
  }
}

// Running the same split-K GEMM repeatedly on one workspace gives the same result (its
// counters are left zero) and M = 0 is a no-op.
TEST_F(CudaGemm, SplitKRepeatableAndEmptyM) {
  const Problem pr(kKernels[0], 16, 768, 3072, 0, 700);
  for (int rep = 0; rep < 3; ++rep) expect_acc_exact(pr, 16, Config{GemmTile::Small, 8}, out_, ws_);
  IntGemmParams p = pr.params(0);
  p.out_type = GemmOut::I32;
  p.out = out_.prepare(16);
  run_sync(p);
  EXPECT_TRUE(out_.guard_error().empty());
}

// ---------------------------------------------------------------------------------------------
// Rejections (host-side checks; no launch)

IntGemmParams valid_params() {
  alignas(
      256) static int64_t fake[64];  // never dereferenced: can_implement only checks the pointers
  IntGemmParams p;
  p.engine = cuda::GemmEngine::MmaSync;
  p.a_layout = PackedLayout::Int8;
  p.b_layout = PackedLayout::Int8;
  p.a = p.b = fake;
  p.out = fake;
  p.sx = p.sw = reinterpret_cast<const float*>(fake);
  p.m = 16;
  p.n = 768;
  p.k = 768;
  return p;
}

void expect_rejected(IntGemmParams p, const std::string& needle) {
  const std::string msg = cuda::can_implement(p);
  EXPECT_NE(msg.find(needle), std::string::npos)
      << "message: '" << msg << "', wanted '" << needle << "'";
  try {
    cuda::int_gemm(p);
    ADD_FAILURE() << "int_gemm accepted what can_implement rejects: " << msg;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(msg), std::string::npos) << e.what();
  }
}

TEST(CudaGemmRejects, UnsupportedParameters) {
  EXPECT_EQ(cuda::can_implement(valid_params()), "");
  IntGemmParams p = valid_params();
  p.k = 100;
  expect_rejected(p, "K=100 must be a multiple of 64");
  p = valid_params();
  p.b_layout = PackedLayout::Int4;
  p.k = 832;  // 64 · 13: fine for W8A8's K tile, not for W4A8's (128)
  expect_rejected(p, "K=832 must be a multiple of 128");
  p = valid_params();
  p.n = 770;
  expect_rejected(p, "N=770 must be a multiple of 8");
  p = valid_params();
  p.a_layout = PackedLayout::Int4;
  expect_rejected(p, "integer GEMM kernel for int4 activations x int8 weights");
  p = valid_params();
  p.a_layout = PackedLayout::Fp8E4M3;
  expect_rejected(p, "integer GEMM kernel");
  p = valid_params();
  p.group_size = 96;
  expect_rejected(p, "group_size=96");
  p = valid_params();
  p.b_layout = PackedLayout::Int4;
  p.group_size = 64;  // divides K but is shorter than W4A8's K tile
  expect_rejected(p, "group_size=64");
  p = valid_params();
  p.lda = 776;
  expect_rejected(p, "lda=776");
  p = valid_params();
  p.a = nullptr;
  expect_rejected(p, "must be set");
  p = valid_params();
  p.a = reinterpret_cast<const uint8_t*>(p.a) + 8;
  expect_rejected(p, "16-byte aligned");
  p = valid_params();
  p.sw = nullptr;
  expect_rejected(p, "needs sx and sw");
  p = valid_params();
  p.zx = p.sx;
  expect_rejected(p, "zcorr");
  p = valid_params();
  p.ldo = 767;
  expect_rejected(p, "ldo=767");
  p.ldo = 770;  // >= N but not a multiple of 4
  expect_rejected(p, "ldo=770");
  p = valid_params();
  p.out = reinterpret_cast<uint8_t*>(p.out) + 8;
  expect_rejected(p, "out must be 16-byte aligned");
  p = valid_params();
  p.a_layout = PackedLayout::UInt8;
  p.k = 66048;  // 65793 uint8 x int8 products fit int32; 66048 = 64 · 1032 do not
  expect_rejected(p, "can overflow int32");
  p = valid_params();
  p.split_k = -1;
  expect_rejected(p, "split_k=-1");
}

TEST_F(CudaGemm, SplitKNeedsWorkspace) {
  const Problem pr(kKernels[0], 16, 768, 768, 0, 800);
  IntGemmParams p = pr.params(16);
  p.out_type = GemmOut::I32;
  p.split_k = 4;
  p.out = out_.prepare(size_t(16 * 768) * 4);
  try {
    cuda::int_gemm(p);
    ADD_FAILURE() << "split-K ran without a workspace";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("workspace"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit
