// Helpers shared by the GEMM kernel tests (test_cuda_gemm.cc: mma.sync engine,
// test_cuda_wgmma.cc: Hopper engine): device buffers, poisoned outputs, split-K workspaces, random
// problems with their CPU accumulators, random scales.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/int_gemm.h"
#include "backends/cuda/check.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "backends/cuda/gemm/wgmma_layout.h"
#include "quant/packing.h"

namespace lowbit::gemm_test {

using cuda::GemmOut;
using cuda::GemmTile;
using cuda::IntGemmParams;

// ---------------------------------------------------------------------------------------------
// Device memory and runs

class DevMem {
 public:
  DevMem() = default;
  explicit DevMem(size_t bytes) { resize(bytes); }
  DevMem(const DevMem&) = delete;
  DevMem& operator=(const DevMem&) = delete;
  DevMem(DevMem&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DevMem& operator=(DevMem&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~DevMem() { cudaFree(p_); }
  void resize(size_t bytes) {
    cudaFree(p_);
    p_ = nullptr;
    bytes_ = bytes;
    if (bytes) LOWBIT_CUDA_CHECK(cudaMalloc(&p_, bytes));
  }
  void* get() const { return p_; }
  size_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

template <typename T>
void upload(DevMem& d, const std::vector<T>& v) {
  d.resize(std::max<size_t>(v.size() * sizeof(T), 16));
  LOWBIT_CUDA_CHECK(cudaMemcpy(d.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
}

template <typename T>
std::vector<T> download(const DevMem& d, size_t n) {
  std::vector<T> v(n);
  LOWBIT_CUDA_CHECK(cudaMemcpy(v.data(), d.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

inline constexpr size_t kGuardBytes = 4096;  // past the output: must stay poisoned

// An output buffer reused across runs: poisoned before each (alternating patterns, so that an
// unwritten element cannot match by luck twice), with a guard region after the output.
class PoisonedOut {
 public:
  void* prepare(size_t out_bytes) {
    if (buf_.bytes() < out_bytes + kGuardBytes) buf_.resize(out_bytes + kGuardBytes);
    out_bytes_ = out_bytes;
    poison_ = poison_ == 0xFF ? 0xA5 : 0xFF;
    LOWBIT_CUDA_CHECK(cudaMemset(buf_.get(), poison_, out_bytes + kGuardBytes));
    return buf_.get();
  }
  template <typename T>
  std::vector<T> fetch(size_t n) const {
    return download<T>(buf_, n);
  }
  // "" when the guard region still holds the poison.
  std::string guard_error() const {
    std::vector<uint8_t> g(kGuardBytes);
    LOWBIT_CUDA_CHECK(
        cudaMemcpy(g.data(), buf_.as<uint8_t>() + out_bytes_, kGuardBytes, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i] != poison_) return "byte " + std::to_string(i) + " past the output was written";
    return "";
  }

 private:
  DevMem buf_;
  size_t out_bytes_ = 0;
  uint8_t poison_ = 0xFF;
};

// A split-K workspace shared by every run of a test (grown, and zeroed, when too small): the
// kernels must leave its counters zero, so reusing it checks that too.
class Workspace {
 public:
  void attach(IntGemmParams& p) {
    p.workspace = nullptr;
    p.workspace_bytes = 0;
    const size_t need = cuda::int_gemm_workspace_bytes(p);
    if (need == 0) return;
    if (buf_.bytes() < need) {
      buf_.resize(need);
      LOWBIT_CUDA_CHECK(cudaMemset(buf_.get(), 0, need));
    }
    p.workspace = buf_.get();
    p.workspace_bytes = buf_.bytes();
  }

 private:
  DevMem buf_;
};

inline void run_sync(const IntGemmParams& p) {
  cuda::int_gemm(p);
  LOWBIT_CUDA_CHECK(cudaGetLastError());
  LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
}

inline std::string plan_str(const IntGemmParams& p) {
  const auto pl = cuda::int_gemm_plan(p);
  return std::string(cuda::engine_name(pl.engine)) + " " + std::to_string(pl.bm) + "x" +
         std::to_string(pl.bn) + " split " + std::to_string(pl.split_k) +
         (pl.engine == cuda::GemmEngine::Wgmma ? std::string(" ") + cuda::schedule_name(pl.schedule)
                                               : std::string());
}

// ---------------------------------------------------------------------------------------------
// Problems: random codes over the full range of each layout, the CPU accumulators

struct Kernel {
  const char* name;
  PackedLayout a, b;
};
inline const Kernel kKernels[] = {
    {"W8A8 int8", PackedLayout::Int8, PackedLayout::Int8},
    {"W8A8 uint8", PackedLayout::UInt8, PackedLayout::Int8},
    {"W4A8 int8", PackedLayout::Int8, PackedLayout::Int4},
    {"W4A8 uint8", PackedLayout::UInt8, PackedLayout::Int4},
    {"W4A4 int4", PackedLayout::Int4, PackedLayout::Int4},
    {"W4A4 uint4", PackedLayout::UInt4, PackedLayout::Int4},
};

// (N, K) of the four GEMMs of an encoder layer: QKV, attention output, FFN in, FFN out.
inline const std::pair<int64_t, int64_t> kBertShapes[] = {
    {2304, 768},  {768, 768},   {3072, 768},  {768, 3072},    // BERT-base
    {3072, 1024}, {1024, 1024}, {4096, 1024}, {1024, 4096}};  // BERT-large

// Every byte random: all codes of every integer layout, the extremes included.
inline std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng() >> 24);
  return v;
}

inline std::vector<float> random_floats(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Problem {
  Kernel kern;
  int64_t max_m, n, k, group;  // group 0: per channel
  int64_t groups;
  std::vector<uint8_t> a, b;  // packed codes [max_m, K], [N, K]
  std::vector<int32_t> acc;   // cpu::int_gemm: [max_m, N, groups]
  cuda::GemmEngine engine;
  DevMem da, db;  // db: int4 weights in the Hopper order for the Wgmma engine

  Problem(const Kernel& kn, int64_t max_m_, int64_t n_, int64_t k_, int64_t group_, uint32_t seed,
          cuda::GemmEngine engine_ = cuda::GemmEngine::MmaSync)
      : kern(kn),
        max_m(max_m_),
        n(n_),
        k(k_),
        group(group_),
        groups(group_ ? k_ / group_ : 1),
        engine(engine_) {
    std::mt19937 rng(seed);
    a = random_bytes(size_t(max_m * packed_row_bytes(kern.a, k)), rng);
    b = random_bytes(size_t(n * packed_row_bytes(kern.b, k)), rng);
    acc.resize(size_t(max_m * n * groups));
    cpu::int_gemm({kern.a, a.data(), max_m}, {kern.b, b.data(), n}, k, group, acc.data());
    upload(da, a);
    if (hopper_int4()) {
      std::vector<uint8_t> b90(b.size());
      cuda::repack_int4_sm90(b.data(), packed_row_bytes(kern.b, k), b90.data(), n, k);
      upload(db, b90);
    } else {
      upload(db, b);
    }
  }
  bool hopper_int4() const {
    return engine == cuda::GemmEngine::Wgmma && kern.b == PackedLayout::Int4;
  }

  IntGemmParams params(int64_t m) const {
    IntGemmParams p;
    p.a_layout = kern.a;
    p.b_layout = kern.b;
    p.a = da.get();
    p.b = db.get();
    p.m = m;
    p.n = n;
    p.k = k;
    p.group_size = group;
    p.engine = engine;
    p.b_sm90 = hopper_int4();
    return p;
  }

  std::string describe(int64_t m) const {
    return std::string(kern.name) + " M=" + std::to_string(m) + " N=" + std::to_string(n) +
           " K=" + std::to_string(k) + (group ? " group " + std::to_string(group) : "");
  }
};

struct Scales {
  std::vector<float> sx, zx, sw, zcorr, bias;
  DevMem dsx, dzx, dsw, dzcorr, dbias;
};

// Random scales, zero points and bias for a problem; zcorr from the weight code sums as
// lowbit::quantized_matmul computes it.
inline Scales make_scales(const Problem& pr, bool asym, uint32_t seed) {
  std::mt19937 rng(seed);
  Scales s;
  s.sx = random_floats(size_t(pr.max_m), 1e-3f, 1e-2f, rng);
  s.sw = random_floats(size_t(pr.n * pr.groups), 1e-3f, 1e-2f, rng);
  s.bias = random_floats(size_t(pr.n), -1.0f, 1.0f, rng);
  if (asym) {
    s.zx = random_floats(size_t(pr.max_m), -2.0f, 0.0f, rng);
    std::vector<int32_t> sums(size_t(pr.n * pr.groups), 0);
    const int64_t gl = pr.k / pr.groups;
    const int64_t row = packed_row_bytes(pr.kern.b, pr.k);
    for (int64_t j = 0; j < pr.n; ++j)
      for (int64_t kk = 0; kk < pr.k; ++kk)
        sums[size_t(j * pr.groups + kk / gl)] += load_code(pr.kern.b, pr.b.data() + j * row, kk);
    s.zcorr.resize(size_t(pr.n));
    cpu::zero_point_correction(s.sw.data(), sums.data(), pr.n, pr.groups, s.zcorr.data());
    upload(s.dzx, s.zx);
    upload(s.dzcorr, s.zcorr);
  }
  upload(s.dsx, s.sx);
  upload(s.dsw, s.sw);
  upload(s.dbias, s.bias);
  return s;
}

inline void attach(IntGemmParams& p, const Scales& s) {
  p.sx = s.dsx.as<float>();
  p.sw = s.dsw.as<float>();
  p.bias = s.dbias.as<float>();
  if (!s.zx.empty()) {
    p.zx = s.dzx.as<float>();
    p.zcorr = s.dzcorr.as<float>();
  }
}

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline uint16_t half_bits(float f) {
  const __half h = __float2half_rn(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}

struct Config {
  GemmTile tile;
  int split;       // 0 auto
  int tokens = 0;  // Wgmma token tile, 0 auto
  cuda::GemmSchedule schedule = cuda::GemmSchedule::Auto;  // Wgmma
};
// The raw accumulators of the first m rows, bit for bit.
inline void expect_acc_exact(const Problem& pr, int64_t m, Config c, PoisonedOut& out,
                             Workspace& ws) {
  IntGemmParams p = pr.params(m);
  p.out_type = GemmOut::I32;
  p.tile = c.tile;
  p.split_k = c.split;
  p.tokens_tile = c.tokens;
  p.schedule = c.schedule;
  const size_t count = size_t(m * pr.n * pr.groups);
  p.out = out.prepare(count * 4);
  ws.attach(p);
  const std::string what = pr.describe(m) + " (" + plan_str(p) + ")";
  run_sync(p);
  const auto got = out.fetch<int32_t>(count);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < count; ++i)
    if (got[i] != pr.acc[i] && bad++ == 0) first = i;
  if (bad) {
    const int64_t g = int64_t(first) % pr.groups, mn = int64_t(first) / pr.groups;
    ADD_FAILURE() << what << ": " << bad << " of " << count
                  << " accumulators differ; first at m=" << mn / pr.n << " n=" << mn % pr.n
                  << " g=" << g << ": got " << got[first] << ", want " << pr.acc[first];
  }
  const std::string guard = out.guard_error();
  EXPECT_TRUE(guard.empty()) << what << ": " << guard;
}

}  // namespace lowbit::gemm_test
