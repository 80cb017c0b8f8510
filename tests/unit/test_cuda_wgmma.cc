// The Hopper GEMMs (engine Wgmma: TMA + wgmma, src/backends/cuda/gemm/wgmma_gemm_kernel.cuh)
// against the CPU oracle (ctest label gpu; skipped on a GPU that is not sm_90):
//   - the int32 accumulators bit-exact with cpu::int_gemm for W8A8, W4A8 and W4A4, signed and
//     unsigned activations, over the full code range, for M = 1..130 (all), M at token-tile
//     boundaries ±1, BERT-base and BERT-large (N, K), every token tile, split-K on and off;
//   - the float epilogue (F32) bit-exact with cpu::int_gemm_epilogue (symmetric and asymmetric
//     activations), F16 = that float rounded to half, split-K included; GELU and residual within
//     the budget of test_cuda_gemm.cc;
//   - FP8 E4M3 within a budget of cpu::fp8_gemm (the tensor cores sum in another order, with
//     fewer accumulator bits);
//   - every case in both schedules (cooperative, ping-pong) where the kernel has both;
//   - parameters the kernels do not take rejected by can_implement with a message.
// Every output buffer is poisoned before each run; words past the output must stay poisoned.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/int_gemm.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "backends/cuda/gemm/wgmma_layout.h"
#include "core/error.h"
#include "cuda_gemm_util.h"
#include "quant/fp8.h"
#include "quant/quantized.h"
#include "quant/scheme.h"

namespace lowbit {
namespace {

using namespace gemm_test;
using cuda::GemmEngine;

constexpr GemmEngine kW = GemmEngine::Wgmma;

class CudaWgmma : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto devs = cuda::devices();
    ASSERT_FALSE(devs.empty()) << "no CUDA device visible";
    if (devs[0].sm_major != 9) GTEST_SKIP() << "the wgmma GEMMs need an sm_90 GPU";
  }
  PoisonedOut out_;
  Workspace ws_;
};

// Token tiles x split-K (0: automatic) x schedule (ping-pong: 64-weight units, main loops in turn).
constexpr cuda::GemmSchedule kPP = cuda::GemmSchedule::PingPong;
const Config kConfigs[] = {
    {GemmTile::Auto, 0, 0},        {GemmTile::Auto, 1, 64},       {GemmTile::Auto, 1, 128},
    {GemmTile::Auto, 1, 256},      {GemmTile::Auto, 3, 64},       {GemmTile::Auto, 2, 256},
    {GemmTile::Auto, 1, 128, kPP}, {GemmTile::Auto, 1, 256, kPP}, {GemmTile::Auto, 3, 256, kPP}};

// W4A4 has token tiles of 64 and 128 only, and no ping-pong schedule.
Config fit(const Problem& pr, Config c) {
  if (pr.kern.a == PackedLayout::Int4 || pr.kern.a == PackedLayout::UInt4) {
    c.tokens = std::min(c.tokens, 128);
    c.schedule = cuda::GemmSchedule::Auto;
  }
  return c;
}

TEST_F(CudaWgmma, AccumulatorsExactEveryMUpTo130) {
  uint32_t seed = 1001;
  for (const Kernel& kn : kKernels) {
    const Problem pr(kn, 130, 768, 768, 0, seed++, kW);
    for (int64_t m = 1; m <= 130; ++m) {
      expect_acc_exact(pr, m, fit(pr, kConfigs[size_t(m) % std::size(kConfigs)]), out_, ws_);
      if (HasFailure()) return;
    }
  }
}

TEST_F(CudaWgmma, AccumulatorsExactBertShapesTileBoundaries) {
  const int64_t ms[] = {1, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 513};
  uint32_t seed = 1100;
  for (const Kernel& kn : kKernels)
    for (const auto& [n, k] : kBertShapes) {
      const Problem pr(kn, 513, n, k, 0, seed++, kW);
      for (size_t i = 0; i < std::size(ms); ++i) {
        // Every M in the automatic plan and in one fixed configuration (taking turns).
        expect_acc_exact(pr, ms[i], kConfigs[0], out_, ws_);
        expect_acc_exact(pr, ms[i], fit(pr, kConfigs[1 + i % (std::size(kConfigs) - 1)]), out_,
                         ws_);
      }
      if (HasFailure()) return;
    }
}

// N not a multiple of the 128 weight rows of a CTA; K of one and two k blocks; many tiles.
TEST_F(CudaWgmma, AccumulatorsExactOddTiles) {
  uint32_t seed = 1200;
  for (const Kernel& kn : kKernels)
    for (const auto& [n, k] : {std::pair<int64_t, int64_t>{8, 128}, {200, 256}, {776, 128}}) {
      const Problem pr(kn, 600, n, k, 0, seed++, kW);
      for (const int64_t m : {1, 5, 70, 600})
        for (const Config& c : kConfigs) expect_acc_exact(pr, m, fit(pr, c), out_, ws_);
      if (HasFailure()) return;
    }
}

// F32 and F16 outputs equal the CPU epilogue bit for bit, with and without split-K.
TEST_F(CudaWgmma, EpilogueExactVsCpu) {
  uint32_t seed = 1300;
  for (const Kernel& kn : kKernels)
    for (const bool asym : {false, true}) {
      const Problem pr(kn, 300, 768, 1024, 0, seed++, kW);
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
      cpu::int_gemm_epilogue(pr.acc.data(), pr.max_m, pr.n, 1, cs, ref.data());
      const bool w4a4 = kn.a == PackedLayout::Int4 || kn.a == PackedLayout::UInt4;
      for (const int64_t m : {1, 40, 300})
        for (const int split : {1, 4})
          for (const GemmOut ot : {GemmOut::F32, GemmOut::F16})
            for (const bool pp : {false, true}) {
              if (pp && w4a4) continue;
              IntGemmParams p = pr.params(m);
              attach(p, s);
              p.split_k = split;
              p.schedule = pp ? kPP : cuda::GemmSchedule::Auto;
              p.out_type = ot;
              const size_t count = size_t(m * pr.n);
              p.out = out_.prepare(count * (ot == GemmOut::F32 ? 4 : 2));
              ws_.attach(p);
              const std::string what = pr.describe(m) + (asym ? " asym" : " sym") +
                                       (ot == GemmOut::F32 ? " f32 (" : " f16 (") + plan_str(p) +
                                       ")";
              run_sync(p);
              size_t bad = 0, first = 0;
              if (ot == GemmOut::F32) {
                const auto got = out_.fetch<float>(count);
                for (size_t i = 0; i < count; ++i)
                  if (bits(got[i]) != bits(ref[i]) && bad++ == 0) first = i;
              } else {
                const auto got = out_.fetch<uint16_t>(count);
                for (size_t i = 0; i < count; ++i)
                  if (got[i] != half_bits(ref[i]) && bad++ == 0) first = i;
              }
              if (bad)
                ADD_FAILURE() << what << ": " << bad << " outputs differ; first [" << first / pr.n
                              << ", " << first % pr.n << "], want " << ref[first];
              const std::string guard = out_.guard_error();
              EXPECT_TRUE(guard.empty()) << what << ": " << guard;
            }
      if (HasFailure()) return;
    }
}

// The quantized Linear end to end on the Hopper engine: CPU-quantized activations and weights,
// GEMM + bias bit-exact with quantized_matmul, + GELU + half residual within a budget.
TEST_F(CudaWgmma, QuantizedLinearWithGeluAndResidual) {
  const std::pair<const char*, const char*> cases[] = {
      {"uint8", "int8"}, {"int8", "int8"}, {"uint8", "int4"}, {"int8", "int4"}, {"uint4", "int4"}};
  std::mt19937 rng(1400);
  const int64_t m = 77, n = 1024, k = 768;
  for (const auto& [xs, ws] : cases) {
    const std::vector<float> x = random_floats(size_t(m * k), -1.0f, 3.0f, rng);
    const std::vector<float> w = random_floats(size_t(n * k), -0.1f, 0.1f, rng);
    const std::vector<float> bias = random_floats(size_t(n), -0.5f, 0.5f, rng);
    const std::vector<float> res = random_floats(size_t(m * n), -2.0f, 2.0f, rng);
    const QuantizedMatrix qx = quantize_matrix(x.data(), m, k, QuantScheme::parse(xs), "x");
    const QuantizedMatrix qw = quantize_matrix(w.data(), n, k, QuantScheme::parse(ws), "w");
    std::vector<float> y(size_t(m * n));
    quantized_matmul(qx, qw, bias.data(), y.data());
    std::vector<float> y_gelu = y;
    cpu::bias_act_f32(y_gelu.data(), nullptr, m, n, cpu::Epilogue::GeluErf);

    std::vector<uint8_t> wcodes = qw.codes;
    const bool w4 = qw.scheme.layout() == PackedLayout::Int4;
    if (w4) cuda::repack_int4_sm90(qw.codes.data(), k / 2, wcodes.data(), n, k);
    DevMem da, db, dsx, dzx, dsw, dzcorr, dbias, dres_h;
    upload(da, qx.codes);
    upload(db, wcodes);
    upload(dsx, qx.scales);
    upload(dsw, qw.scales);
    upload(dbias, bias);
    std::vector<__half> res_h(res.size());
    for (size_t i = 0; i < res.size(); ++i) res_h[i] = __float2half_rn(res[i]);
    upload(dres_h, res_h);
    IntGemmParams p;
    p.engine = kW;
    p.a_layout = qx.scheme.layout();
    p.b_layout = qw.scheme.layout();
    p.b_sm90 = w4;
    p.a = da.get();
    p.b = db.get();
    p.m = m;
    p.n = n;
    p.k = k;
    p.sx = dsx.as<float>();
    p.sw = dsw.as<float>();
    p.bias = dbias.as<float>();
    if (!qx.scheme.symmetric) {
      std::vector<float> zcorr(static_cast<size_t>(n));
      cpu::zero_point_correction(qw.scales.data(), qw.code_sums.data(), n, 1, zcorr.data());
      upload(dzx, qx.zeros);
      upload(dzcorr, zcorr);
      p.zx = dzx.as<float>();
      p.zcorr = dzcorr.as<float>();
    }
    const std::string what = std::string("x ") + xs + ", w " + ws;

    p.out_type = GemmOut::F32;
    p.out = out_.prepare(size_t(m * n) * 4);
    ws_.attach(p);
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

    // + GELU + half residual, F16: the register epilogue with TMA store (split 1, rows of
    // N and of N + 8 halves) and the general path (split-K).
    p.gelu = true;
    p.residual = dres_h.get();
    p.out_type = GemmOut::F16;
    const bool w4a4 =
        qx.scheme.layout() == PackedLayout::Int4 || qx.scheme.layout() == PackedLayout::UInt4;
    for (const auto& [split, ldo, pp] : {std::tuple<int, int64_t, bool>{1, n, false},
                                         {1, n + 8, false},
                                         {4, n, false},
                                         {1, n, true},
                                         {1, n + 8, true},
                                         {2, n, true}}) {
      if (pp && w4a4) continue;
      p.split_k = split;
      p.ldo = ldo;
      p.schedule = pp ? kPP : cuda::GemmSchedule::Auto;
      p.out = out_.prepare(size_t(m * ldo) * 2);
      ws_.attach(p);
      // The register epilogue also writes each row's per-64-column max |y| (row_amax).
      const int64_t blocks = n / 64;
      DevMem damax;
      p.row_amax = nullptr;
      if (split == 1) {
        upload(damax, std::vector<uint32_t>(size_t(m * blocks), 0xDEADBEEFu));
        p.row_amax = damax.as<uint32_t>();
        EXPECT_TRUE(cuda::int_gemm_writes_row_amax(p)) << what << " " << plan_str(p);
      } else {
        IntGemmParams q = p;
        q.row_amax = reinterpret_cast<uint32_t*>(p.out);
        EXPECT_FALSE(cuda::int_gemm_writes_row_amax(q)) << what << ": split-K takes no row_amax";
      }
      run_sync(p);
      const auto got = out_.fetch<__half>(size_t(m * ldo));
      if (p.row_amax) {
        std::vector<uint32_t> amax(size_t(m * blocks));
        LOWBIT_CUDA_CHECK(
            cudaMemcpy(amax.data(), p.row_amax, amax.size() * 4, cudaMemcpyDeviceToHost));
        size_t bad_amax = 0;
        for (int64_t r = 0; r < m; ++r)
          for (int64_t b = 0; b < blocks; ++b) {
            uint32_t want = 0;
            for (int64_t c = 64 * b; c < 64 * b + 64; ++c)
              want = std::max(want, bits(std::fabs(__half2float(got[size_t(r * ldo + c)]))));
            if (amax[size_t(r * blocks + b)] != want && bad_amax++ == 0)
              ADD_FAILURE() << what << " row_amax (" << plan_str(p) << "): row " << r << " block "
                            << b << " got " << amax[size_t(r * blocks + b)] << ", want " << want;
          }
        EXPECT_EQ(bad_amax, 0u) << what;
        p.row_amax = nullptr;
      }
      size_t bad = 0;
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          const size_t i = size_t(r * n + c);
          const double want = double(y_gelu[i]) + double(__half2float(res_h[i]));
          const double tol = 1e-6 * std::fabs(y[i]) + 0x1p-11 * std::fabs(want) + 0x1p-24 +
                             0x1p-23 * std::fabs(want);
          const double gv = __half2float(got[size_t(r * ldo + c)]);
          if (!(std::fabs(gv - want) <= tol) && bad++ == 0)
            ADD_FAILURE() << what << " gelu+residual f16 (" << plan_str(p) << ", ldo " << ldo
                          << "): [" << r << ", " << c << "] got " << gv << ", want " << want
                          << " (budget " << tol << ")";
        }
      EXPECT_EQ(bad, 0u) << what;
      const std::string guard = out_.guard_error();
      EXPECT_TRUE(guard.empty()) << what << ": " << guard;
    }
    p.ldo = 0;
  }
}

// FP8 E4M3 x E4M3 against cpu::fp8_gemm. Budget per output: 2^-9 of sx · sw · Σ_k |a · w| (the
// tensor cores' accumulation order and width; measured errors are far smaller) + 2 ulp.
TEST_F(CudaWgmma, Fp8WithinBudget) {
  std::mt19937 rng(1500);
  auto random_fp8 = [&](size_t count) {
    std::vector<uint8_t> v(count);
    for (auto& b : v) {
      do b = uint8_t(rng() >> 24);
      while ((b & 0x7F) == 0x7F);  // no NaN
    }
    return v;
  };
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{768, 768}, {3072, 1024}, {1024, 4096}})
    for (const int64_t m : {1, 64, 129, 700}) {
      const std::vector<uint8_t> a = random_fp8(size_t(m * k)), w = random_fp8(size_t(n * k));
      const std::vector<float> sx = random_floats(size_t(m), 1e-3f, 1e-2f, rng);
      const std::vector<float> sw = random_floats(size_t(n), 1e-3f, 1e-2f, rng);
      const std::vector<float> bias = random_floats(size_t(n), -1.0f, 1.0f, rng);
      std::vector<float> ref(size_t(m * n));
      cpu::fp8_gemm(a.data(), w.data(), m, n, k, sx.data(), sw.data(), bias.data(), ref.data());
      std::vector<double> ad(a.size()), wd(w.size());
      for (size_t i = 0; i < a.size(); ++i) ad[i] = std::fabs(double(e4m3_decode(a[i])));
      for (size_t i = 0; i < w.size(); ++i) wd[i] = std::fabs(double(e4m3_decode(w[i])));
      DevMem da, db, dsx, dsw, dbias;
      upload(da, a);
      upload(db, w);
      upload(dsx, sx);
      upload(dsw, sw);
      upload(dbias, bias);
      for (const auto& [split, pp] :
           {std::pair<int, bool>{0, false}, {1, false}, {3, false}, {1, true}, {2, true}}) {
        IntGemmParams p;
        p.engine = kW;
        p.schedule = pp ? kPP : cuda::GemmSchedule::Auto;
        p.a_layout = p.b_layout = PackedLayout::Fp8E4M3;
        p.a = da.get();
        p.b = db.get();
        p.m = m;
        p.n = n;
        p.k = k;
        p.sx = dsx.as<float>();
        p.sw = dsw.as<float>();
        p.bias = dbias.as<float>();
        p.split_k = split;
        p.out_type = GemmOut::F32;
        p.out = out_.prepare(size_t(m * n) * 4);
        ws_.attach(p);
        const std::string what = "FP8 M=" + std::to_string(m) + " N=" + std::to_string(n) +
                                 " K=" + std::to_string(k) + " (" + plan_str(p) + ")";
        run_sync(p);
        const auto got = out_.fetch<float>(size_t(m * n));
        size_t bad = 0;
        double worst = 0;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double mag = 0;
            for (int64_t kk = 0; kk < k; ++kk)
              mag += ad[size_t(i * k + kk)] * wd[size_t(j * k + kk)];
            const size_t o = size_t(i * n + j);
            const double tol = 0x1p-9 * double(sx[size_t(i)]) * sw[size_t(j)] * mag +
                               0x1p-22 * std::fabs(double(ref[o]));
            const double err = std::fabs(double(got[o]) - ref[o]);
            worst = std::max(worst, tol > 0 ? err / tol : 0.0);
            if (!(err <= tol) && bad++ == 0)
              ADD_FAILURE() << what << ": [" << i << ", " << j << "] got " << got[o] << ", want "
                            << ref[o] << " (budget " << tol << ")";
          }
        EXPECT_EQ(bad, 0u) << what;
        std::printf("%s: worst error %.3f of the budget\n", what.c_str(), worst);
        EXPECT_TRUE(out_.guard_error().empty()) << what;
        if (HasFailure()) return;
      }
    }
}

// F16 x F16 (the FP16 mode: no scales) against an fp64 reference. Budget per output: 2^-12 of
// Σ_k |a · w| (f32 accumulation in the tensor cores' order), plus for the F16 output (with bias,
// GELU and a residual, the FFN's and attention output's epilogues) one half ulp of the result.
TEST_F(CudaWgmma, F16WithinBudget) {
  std::mt19937 rng(1600);
  auto random_half = [&](size_t count, std::vector<double>& vals) {
    std::vector<__half> v(count);
    vals.resize(count);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (size_t i = 0; i < count; ++i) {
      v[i] = __float2half_rn(u(rng));
      vals[i] = double(__half2float(v[i]));
    }
    return v;
  };
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{768, 768}, {3072, 1024}, {1024, 4096}})
    for (const int64_t m : {1, 129, 700}) {
      std::vector<double> ad, wd, rd;
      const std::vector<__half> a = random_half(size_t(m * k), ad),
                                w = random_half(size_t(n * k), wd);
      const std::vector<__half> res = random_half(size_t(m * n), rd);
      const std::vector<float> bias = random_floats(size_t(n), -1.0f, 1.0f, rng);
      DevMem da, db, dbias, dres;
      upload(da, a);
      upload(db, w);
      upload(dbias, bias);
      upload(dres, res);
      for (const bool f16_out : {false, true})
        for (const auto& [split, pp] :
             {std::pair<int, bool>{0, false}, {1, false}, {3, false}, {1, true}, {2, true}}) {
          if (f16_out && split != 1) continue;
          IntGemmParams p;
          p.engine = kW;
          p.schedule = pp ? kPP : cuda::GemmSchedule::Auto;
          p.a_layout = p.b_layout = PackedLayout::F16;
          p.a = da.get();
          p.b = db.get();
          p.m = m;
          p.n = n;
          p.k = k;
          p.bias = dbias.as<float>();
          p.split_k = split;
          p.gelu = f16_out;
          p.residual = f16_out ? dres.get() : nullptr;
          p.out_type = f16_out ? GemmOut::F16 : GemmOut::F32;
          p.out = out_.prepare(size_t(m * n) * (f16_out ? 2 : 4));
          ws_.attach(p);
          const std::string what = std::string("F16 ") + (f16_out ? "out+gelu+res" : "f32 out") +
                                   " M=" + std::to_string(m) + " N=" + std::to_string(n) +
                                   " K=" + std::to_string(k) + " (" + plan_str(p) + ")";
          run_sync(p);
          std::vector<double> got(size_t(m * n));
          if (f16_out) {
            const auto h = out_.fetch<__half>(size_t(m * n));
            for (size_t i = 0; i < got.size(); ++i) got[i] = double(__half2float(h[i]));
          } else {
            const auto f = out_.fetch<float>(size_t(m * n));
            for (size_t i = 0; i < got.size(); ++i) got[i] = double(f[i]);
          }
          size_t bad = 0;
          double worst = 0;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double dot = 0, mag = 0;
              for (int64_t kk = 0; kk < k; ++kk) {
                const double pr = ad[size_t(i * k + kk)] * wd[size_t(j * k + kk)];
                dot += pr;
                mag += std::fabs(pr);
              }
              double want = dot + bias[size_t(j)];
              double tol = 0x1p-12 * mag + 1e-6;
              if (f16_out) {
                want = 0.5 * want * (1.0 + std::erf(want / std::sqrt(2.0))) + rd[size_t(i * n + j)];
                tol += 0x1p-11 * std::fabs(want) + 0x1p-24;
              }
              const double err = std::fabs(got[size_t(i * n + j)] - want);
              worst = std::max(worst, err / tol);
              if (!(err <= tol) && bad++ == 0)
                ADD_FAILURE() << what << ": [" << i << ", " << j << "] got "
                              << got[size_t(i * n + j)] << ", want " << want << " (budget " << tol
                              << ")";
            }
          EXPECT_EQ(bad, 0u) << what;
          std::printf("%s: worst error %.3f of the budget\n", what.c_str(), worst);
          EXPECT_TRUE(out_.guard_error().empty()) << what;
          if (HasFailure()) return;
        }
    }
}

// Repeated split-K runs on one workspace agree (counters left zero); M = 0 is a no-op.
TEST_F(CudaWgmma, SplitKRepeatableAndEmptyM) {
  const Problem pr(kKernels[2], 16, 768, 3072, 0, 1600, kW);
  for (int rep = 0; rep < 3; ++rep)
    expect_acc_exact(pr, 16, Config{GemmTile::Auto, 8, 64}, out_, ws_);
  IntGemmParams p = pr.params(0);
  p.out_type = GemmOut::I32;
  p.out = out_.prepare(16);
  run_sync(p);
  EXPECT_TRUE(out_.guard_error().empty());
}

// Host-side checks (no launch, any GPU).
TEST(CudaWgmmaRejects, UnsupportedParameters) {
  alignas(256) static int64_t fake[64];
  auto valid = [] {
    IntGemmParams p;
    p.engine = kW;
    p.a = p.b = p.out = fake;
    p.sx = p.sw = reinterpret_cast<const float*>(fake);
    p.m = 16;
    p.n = 768;
    p.k = 768;
    return p;
  };
  auto message = [](const IntGemmParams& p) {
    // can_implement also requires an sm_90 device; the parameter checks come first.
    return cuda::can_implement(p);
  };
  IntGemmParams p = valid();
  p.k = 704;  // a multiple of 64, not of the 128-element k block
  EXPECT_NE(message(p).find("K=704 must be a multiple of 128"), std::string::npos) << message(p);
  p = valid();
  p.group_size = 128;
  EXPECT_NE(message(p).find("weight groups along K"), std::string::npos) << message(p);
  p = valid();
  p.b_layout = PackedLayout::Int4;
  EXPECT_NE(message(p).find("Hopper order"), std::string::npos) << message(p);
  p = valid();
  p.a_layout = PackedLayout::Int4;
  p.b_layout = PackedLayout::Int4;
  p.b_sm90 = true;
  p.tokens_tile = 256;
  EXPECT_NE(message(p).find("largest (128)"), std::string::npos) << message(p);
  p = valid();
  p.a_layout = PackedLayout::Int4;
  p.b_layout = PackedLayout::Int4;
  p.b_sm90 = true;
  p.schedule = cuda::GemmSchedule::PingPong;
  EXPECT_NE(message(p).find("ping-pong"), std::string::npos) << message(p);
  p = valid();
  p.tokens_tile = 64;
  p.schedule = cuda::GemmSchedule::PingPong;
  EXPECT_NE(message(p).find("ping-pong"), std::string::npos) << message(p);
  p = valid();
  p.tokens_tile = 96;
  EXPECT_NE(message(p).find("tokens_tile=96"), std::string::npos) << message(p);
  p = valid();
  p.a_layout = p.b_layout = PackedLayout::Fp8E4M3;
  p.zx = p.sx;
  p.zcorr = p.sx;
  EXPECT_NE(message(p).find("symmetric"), std::string::npos) << message(p);
  p = valid();
  p.a_layout = p.b_layout = PackedLayout::F16;  // valid() has scales: F16 takes none
  EXPECT_NE(message(p).find("F16 operands take no scales"), std::string::npos) << message(p);
  p.sx = p.sw = nullptr;  // accepted (an sm_90-only message may remain on other GPUs)
  EXPECT_EQ(message(p).find("scales"), std::string::npos) << message(p);
  p = valid();
  p.a_layout = PackedLayout::Fp8E4M3;
  EXPECT_NE(message(p).find("no wgmma GEMM kernel for fp8_e4m3 activations x int8"),
            std::string::npos)
      << message(p);
  p = valid();
  p.engine = GemmEngine::MmaSync;
  p.b_layout = PackedLayout::Int4;
  p.b_sm90 = true;
  EXPECT_NE(message(p).find("wgmma engine only"), std::string::npos) << message(p);
}

}  // namespace
}  // namespace lowbit
