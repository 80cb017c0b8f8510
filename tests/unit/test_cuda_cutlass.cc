// The CUTLASS engine of the Hopper GEMMs (GemmEngine::Cutlass, src/backends/cuda/gemm/
// cutlass_gemm_kernel.cuh) against the CPU oracle and the wgmma engine (ctest label gpu; skipped
// on a GPU that is not sm_90 or in a build without the CUTLASS headers):
//   - W8A8 F16 outputs (+ bias or none) bit-exact with half(cpu::int_gemm_epilogue), BERT shapes,
//     M from 1 to past the persistent grid, both configurations, output rows wider than N;
//   - + GELU + half residual: the same bits as the wgmma engine (the same epilogue code);
//   - FP8 E4M3 within the budget of test_cuda_wgmma.cc's Fp8WithinBudget, plus half rounding;
//   - parameters the engine does not take rejected with a message.
// Every output buffer is poisoned before each run; words past the output must stay poisoned.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/int_gemm.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/cutlass_gemm.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "cuda_gemm_util.h"
#include "quant/fp8.h"

namespace lowbit {
namespace {

using namespace gemm_test;
using cuda::GemmEngine;
using cuda::GemmSchedule;

class CudaCutlass : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto devs = cuda::devices();
    ASSERT_FALSE(devs.empty()) << "no CUDA device visible";
    if (devs[0].sm_major != 9) GTEST_SKIP() << "the CUTLASS GEMMs need an sm_90 GPU";
    if (!cuda::cutlass90::built()) GTEST_SKIP() << "built without the CUTLASS headers";
  }
  PoisonedOut out_;
  Workspace ws_;
};

const Kernel kInt8{"W8A8 int8", PackedLayout::Int8, PackedLayout::Int8};
constexpr GemmSchedule kSchedules[] = {GemmSchedule::PingPong, GemmSchedule::Cooperative};

size_t count_diff(const std::vector<uint16_t>& got, const std::vector<uint16_t>& want, int64_t m,
                  int64_t n, int64_t ld, size_t* first) {
  size_t bad = 0;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      const size_t i = size_t(r * ld + c);
      if (got[i] != want[size_t(r * n + c)] && bad++ == 0) *first = size_t(r * n + c);
    }
  return bad;
}

TEST_F(CudaCutlass, W8A8EpilogueExactVsCpu) {
  uint32_t seed = 2001;
  for (const auto& [n, k] : kBertShapes) {
    const Problem pr(kInt8, 1500, n, k, 0, seed++, GemmEngine::Cutlass);
    const Scales s = make_scales(pr, false, seed++);
    for (const bool with_bias : {true, false}) {
      std::vector<float> ref(size_t(pr.max_m * pr.n));
      cpu::GemmScales cs;
      cs.sx = s.sx.data();
      cs.sw = s.sw.data();
      cs.bias = with_bias ? s.bias.data() : nullptr;
      cpu::int_gemm_epilogue(pr.acc.data(), pr.max_m, pr.n, 1, cs, ref.data());
      std::vector<uint16_t> want(ref.size());
      for (size_t i = 0; i < ref.size(); ++i) want[i] = half_bits(ref[i]);
      for (const int64_t m : {1, 40, 129, 300, 1500})
        for (const GemmSchedule sch : kSchedules)
          for (const int64_t ldo : {n, n + 8}) {
            IntGemmParams p = pr.params(m);
            attach(p, s);
            if (!with_bias) p.bias = nullptr;
            p.schedule = sch;
            p.out_type = GemmOut::F16;
            p.ldo = ldo;
            p.out = out_.prepare(size_t(m * ldo) * 2);
            ws_.attach(p);
            const std::string what = pr.describe(m) + (with_bias ? " bias" : " no bias") +
                                     " ldo " + std::to_string(ldo) + " (" + plan_str(p) + ")";
            ASSERT_EQ(cuda::can_implement(p), "") << what;
            run_sync(p);
            const auto got = out_.fetch<uint16_t>(size_t(m * ldo));
            size_t first = 0;
            const size_t bad = count_diff(got, want, m, pr.n, ldo, &first);
            if (bad)
              ADD_FAILURE() << what << ": " << bad << " outputs differ; first [" << first / pr.n
                            << ", " << first % pr.n << "], want " << ref[first];
            const std::string guard = out_.guard_error();
            EXPECT_TRUE(guard.empty()) << what << ": " << guard;
            if (HasFailure()) return;
          }
    }
  }
}

// GELU and the half residual: the epilogue node runs gemm_epilogue.cuh's code in the same order
// as the wgmma engine, so the two engines agree bit for bit.
TEST_F(CudaCutlass, W8A8GeluResidualSameBitsAsWgmma) {
  uint32_t seed = 2100;
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{4096, 1024}, {1024, 4096}, {768, 768}}) {
    const Problem pr(kInt8, 4100, n, k, 0, seed++, GemmEngine::Cutlass);
    Scales s = make_scales(pr, false, seed++);
    std::mt19937 rng(seed++);
    std::vector<__half> res(size_t(pr.max_m * (n + 8)));
    for (auto& h : res) h = __float2half_rn(std::uniform_real_distribution<float>(-2, 2)(rng));
    DevMem dres;
    upload(dres, res);
    DevMem want_buf(size_t(pr.max_m * (n + 8)) * 2);
    for (const int64_t m : {7, 257, 4100})
      for (const bool gelu : {true, false})
        for (const bool residual : {true, false})
          for (const GemmSchedule sch : kSchedules) {
            if (!gelu && !residual) continue;
            const int64_t ld = residual ? n + 8 : n;
            IntGemmParams p = pr.params(m);
            attach(p, s);
            p.gelu = gelu;
            p.residual = residual ? dres.get() : nullptr;
            p.ldr = ld;
            p.ldo = ld;
            p.out_type = GemmOut::F16;
            IntGemmParams w = p;
            w.engine = GemmEngine::Wgmma;
            w.out = want_buf.get();
            ws_.attach(w);
            run_sync(w);
            const auto want_ld = download<uint16_t>(want_buf, size_t(m * ld));
            std::vector<uint16_t> want(size_t(m * n));
            for (int64_t r = 0; r < m; ++r)
              for (int64_t c = 0; c < n; ++c)
                want[size_t(r * n + c)] = want_ld[size_t(r * ld + c)];
            p.schedule = sch;
            p.out = out_.prepare(size_t(m * ld) * 2);
            ws_.attach(p);
            const std::string what = pr.describe(m) + (gelu ? " gelu" : "") +
                                     (residual ? " residual" : "") + " (" + plan_str(p) + ")";
            run_sync(p);
            const auto got = out_.fetch<uint16_t>(size_t(m * ld));
            size_t first = 0;
            const size_t bad = count_diff(got, want, m, n, ld, &first);
            EXPECT_EQ(bad, 0u) << what << ": first difference at [" << first / n << ", "
                               << first % n << "]";
            const std::string guard = out_.guard_error();
            EXPECT_TRUE(guard.empty()) << what << ": " << guard;
            if (HasFailure()) return;
          }
  }
}

// FP8 E4M3 x E4M3 against cpu::fp8_gemm: 2^-9 of sx · sw · Σ_k |a · w| (accumulation order and
// width) + the half rounding of the output.
TEST_F(CudaCutlass, Fp8WithinBudget) {
  std::mt19937 rng(2200);
  auto random_fp8 = [&](size_t count) {
    std::vector<uint8_t> v(count);
    for (auto& b : v) {
      do b = uint8_t(rng() >> 24);
      while ((b & 0x7F) == 0x7F);  // no NaN
    }
    return v;
  };
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{768, 768}, {3072, 1024}, {1024, 4096}})
    for (const int64_t m : {1, 129, 700}) {
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
      for (const GemmSchedule sch : kSchedules) {
        IntGemmParams p;
        p.engine = GemmEngine::Cutlass;
        p.schedule = sch;
        p.a_layout = p.b_layout = PackedLayout::Fp8E4M3;
        p.a = da.get();
        p.b = db.get();
        p.m = m;
        p.n = n;
        p.k = k;
        p.sx = dsx.as<float>();
        p.sw = dsw.as<float>();
        p.bias = dbias.as<float>();
        p.out_type = GemmOut::F16;
        p.out = out_.prepare(size_t(m * n) * 2);
        ws_.attach(p);
        const std::string what = "FP8 M=" + std::to_string(m) + " N=" + std::to_string(n) +
                                 " K=" + std::to_string(k) + " (" + plan_str(p) + ")";
        run_sync(p);
        const auto got = out_.fetch<__half>(size_t(m * n));
        size_t bad = 0;
        double worst = 0;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double mag = 0;
            for (int64_t kk = 0; kk < k; ++kk)
              mag += ad[size_t(i * k + kk)] * wd[size_t(j * k + kk)];
            const size_t o = size_t(i * n + j);
            const double tol = 0x1p-9 * double(sx[size_t(i)]) * sw[size_t(j)] * mag +
                               0x1p-11 * std::fabs(double(ref[o])) + 0x1p-24;
            const double err = std::fabs(double(__half2float(got[o])) - ref[o]);
            worst = std::max(worst, tol > 0 ? err / tol : 0.0);
            if (!(err <= tol) && bad++ == 0)
              ADD_FAILURE() << what << ": [" << i << ", " << j << "] got "
                            << __half2float(got[o]) << ", want " << ref[o] << " (budget " << tol
                            << ")";
          }
        EXPECT_EQ(bad, 0u) << what;
        std::printf("%s: worst error %.3f of the budget\n", what.c_str(), worst);
        EXPECT_TRUE(out_.guard_error().empty()) << what;
        if (HasFailure()) return;
      }
    }
}

TEST_F(CudaCutlass, RejectsWhatItDoesNotTake) {
  const Problem pr(kInt8, 64, 768, 768, 0, 2300, GemmEngine::Cutlass);
  const Scales s = make_scales(pr, true, 2301);
  IntGemmParams base = pr.params(64);
  attach(base, s);
  base.zx = nullptr;
  base.zcorr = nullptr;
  base.out_type = GemmOut::F16;
  DevMem out(size_t(64 * 768) * 4);
  base.out = out.get();
  EXPECT_EQ(cuda::can_implement(base), "");
  auto message = [](const IntGemmParams& p) { return cuda::can_implement(p); };
  IntGemmParams p = base;
  attach(p, s);  // asymmetric: zx, zcorr
  p.out_type = GemmOut::F16;
  p.out = out.get();
  EXPECT_NE(message(p).find("asymmetric"), std::string::npos) << message(p);
  p = base;
  p.a_layout = PackedLayout::UInt8;
  EXPECT_NE(message(p).find("int8 x int8"), std::string::npos) << message(p);
  p = base;
  p.out_type = GemmOut::F32;
  EXPECT_NE(message(p).find("F16 output only"), std::string::npos) << message(p);
  p = base;
  p.group_size = 128;
  EXPECT_NE(message(p).find("groups"), std::string::npos) << message(p);
  p = base;
  p.ldo = 772;
  EXPECT_NE(message(p).find("16-byte"), std::string::npos) << message(p);
  p = base;
  p.split_k = 2;
  EXPECT_NE(message(p).find("split-K"), std::string::npos) << message(p);
}

}  // namespace
}  // namespace lowbit
