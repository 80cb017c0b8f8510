// Timing harness for the low-bit GEMMs (src/backends/cuda/gemm/mma_int_gemm.h): the engines
// (mma.sync; wgmma and CUTLASS on Hopper), W8A8 / W4A8 / W4A4 / FP8.
//
// Per case: warm-up, then >= 20 timed runs with CUDA events (median and min of per-run times,
// and the mean of one back-to-back batch; these include the host's launch costs), the GPU time
// per call from a CUDA graph of calls (graph_us: what an engine replaying graphs sees),
// input/output buffer sets rotated so that together they exceed 2x the L2 cache (each run reads
// operands that are not in L2), TOPS = 2·M·N·K / t. A quick check first: the I32 accumulators of a
// few random outputs against host dot products.
//
//   bench_mma_gemm                                   BERT-base and -large shapes, all kernels
//   bench_mma_gemm --kernel w4a8 --m 1,16,128 --n 3072 --k 768 --group 128 --asym --engine mma
//   bench_mma_gemm --kernel fp8,w8a8 --engine wgmma --tokens 256 --m 8192
//   bench_mma_gemm --help
// Output: a table on stdout; --csv FILE also writes the rows as CSV.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/gemm_tuner.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "backends/cuda/gemm/wgmma_layout.h"
#include "core/error.h"
#include "quant/packing.h"

namespace {

using lowbit::PackedLayout;
using lowbit::cuda::GemmEngine;
using lowbit::cuda::GemmOut;
using lowbit::cuda::GemmTile;
using lowbit::cuda::IntGemmParams;

struct Options {
  std::vector<std::string> kernels = {"w8a8", "w4a8", "w4a4", "fp8"};
  GemmEngine engine = GemmEngine::Auto;
  int tokens = 0;
  std::vector<int64_t> ms = {1, 16, 64, 128, 512, 2048, 8192, 16384};
  std::vector<std::pair<int64_t, int64_t>> nk;  // (N, K); empty: BERT-base and -large
  bool asym = false;
  int64_t group = 0;
  GemmOut out = GemmOut::F16;
  GemmTile tile = GemmTile::Auto;
  int split = 0;
  lowbit::cuda::GemmSchedule schedule = lowbit::cuda::GemmSchedule::Auto;
  int iters = 50, warmup = 10;
  double rotate_mb = 0;  // 0: 2x L2
  bool gelu = false, bias = true, verify = true;
  std::string csv;
};

[[noreturn]] void usage(int code) {
  std::printf(
      "bench_mma_gemm [options]\n"
      "  --kernel w8a8,w4a8,w4a4,fp8  kernels (default all; fp8 needs wgmma)\n"
      "  --engine auto|mma|wgmma|cutlass  GEMM engine (default auto: wgmma on sm_90;\n"
      "                            cutlass: w8a8 symmetric and fp8, F16 output)\n"
      "  --tokens 64|128|256       wgmma token tile (default by shape)\n"
      "  --m LIST                  M values (default 1,16,64,128,512,2048,8192,16384)\n"
      "  --n N --k K               one shape (default: BERT-base (N,K) = (2304,768) (768,768)\n"
      "                            (3072,768) (768,3072) and BERT-large (3072,1024) (1024,1024)\n"
      "                            (4096,1024) (1024,4096))\n"
      "  --asym                    unsigned activations with zero points (uint8 / uint4)\n"
      "  --group G                 weight group size along K (default: per channel)\n"
      "  --out f16|f32|i32         output (default f16)\n"
      "  --tile auto|large|small   CTA tile (default auto)\n"
      "  --split S                 split-K (0 auto, 1 off; default 0)\n"
      "  --schedule auto|cooperative|pingpong  wgmma schedule (default auto: by shape)\n"
      "  --gelu                    GELU epilogue;  --no-bias  no bias\n"
      "  --iters N --warmup N      timed runs (>= 20) and warm-up runs (default 50, 10)\n"
      "  --rotate-mb MB            bytes of rotated buffer sets (default 2x L2)\n"
      "  --no-verify               skip the spot check\n"
      "  --csv FILE                also write CSV\n");
  std::exit(code);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    const size_t j = std::min(s.find(',', i), s.size());
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  int64_t n = 0, k = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") usage(0);
    if (a == "--kernel") {
      o.kernels = split_list(val());
    } else if (a == "--engine") {
      const std::string v = val();
      o.engine = v == "mma"       ? GemmEngine::MmaSync
                 : v == "wgmma"   ? GemmEngine::Wgmma
                 : v == "cutlass" ? GemmEngine::Cutlass
                                  : GemmEngine::Auto;
    } else if (a == "--tokens") {
      o.tokens = std::stoi(val());
    } else if (a == "--m") {
      o.ms.clear();
      for (const auto& s : split_list(val())) o.ms.push_back(std::stoll(s));
    } else if (a == "--n") {
      n = std::stoll(val());
    } else if (a == "--k") {
      k = std::stoll(val());
    } else if (a == "--asym") {
      o.asym = true;
    } else if (a == "--group") {
      o.group = std::stoll(val());
    } else if (a == "--out") {
      const std::string v = val();
      o.out = v == "f32" ? GemmOut::F32 : v == "i32" ? GemmOut::I32 : GemmOut::F16;
    } else if (a == "--tile") {
      const std::string v = val();
      o.tile = v == "large" ? GemmTile::Large : v == "small" ? GemmTile::Small : GemmTile::Auto;
    } else if (a == "--split") {
      o.split = std::stoi(val());
    } else if (a == "--schedule") {
      const std::string v = val();
      if (v == "auto")
        o.schedule = lowbit::cuda::GemmSchedule::Auto;
      else if (v == "cooperative")
        o.schedule = lowbit::cuda::GemmSchedule::Cooperative;
      else if (v == "pingpong")
        o.schedule = lowbit::cuda::GemmSchedule::PingPong;
      else
        usage(2);
    } else if (a == "--gelu") {
      o.gelu = true;
    } else if (a == "--no-bias") {
      o.bias = false;
    } else if (a == "--iters") {
      o.iters = std::max(20, std::stoi(val()));
    } else if (a == "--warmup") {
      o.warmup = std::stoi(val());
    } else if (a == "--rotate-mb") {
      o.rotate_mb = std::stod(val());
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (a == "--csv") {
      o.csv = val();
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      usage(2);
    }
  }
  if (n > 0 && k > 0) {
    o.nk = {{n, k}};
  } else {
    o.nk = {{2304, 768},  {768, 768},   {3072, 768},  {768, 3072},
            {3072, 1024}, {1024, 1024}, {4096, 1024}, {1024, 4096}};
  }
  return o;
}

// Fills n bytes with a hash of (seed, index): reproducible, never all zero. no_nan: no E4M3 NaN
// (S.1111.111) bytes.
__global__ void fill_random_bytes(uint8_t* p, size_t n, uint64_t seed, bool no_nan) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint64_t z = seed + i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    uint8_t b = uint8_t(z >> 56);
    if (no_nan && (b & 0x7F) == 0x7F) b ^= 1;
    p[i] = b;
  }
}

// Positive floats in [lo, hi).
__global__ void fill_random_floats(float* p, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint64_t z = seed + i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 29)) * 0x94D049BB133111EBull;
    p[i] = lo + (hi - lo) * float(z >> 40) * (1.0f / 16777216.0f);
  }
}

struct DeviceBuffer {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    if (n) LOWBIT_CUDA_CHECK(cudaMalloc(&p, n));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(p); }
};

void fill_bytes(DeviceBuffer& b, uint64_t seed, bool no_nan) {
  fill_random_bytes<<<1024, 256>>>(static_cast<uint8_t*>(b.p), b.bytes, seed, no_nan);
  LOWBIT_CUDA_LAUNCHED("fill_random_bytes");
}
void fill_floats(DeviceBuffer& b, uint64_t seed, float lo, float hi) {
  fill_random_floats<<<256, 256>>>(static_cast<float*>(b.p), b.bytes / 4, seed, lo, hi);
  LOWBIT_CUDA_LAUNCHED("fill_random_floats");
}

struct Layouts {
  PackedLayout a, b;
};
Layouts layouts_of(const std::string& kernel, bool asym) {
  if (kernel == "w8a8")
    return {asym ? PackedLayout::UInt8 : PackedLayout::Int8, PackedLayout::Int8};
  if (kernel == "w4a8")
    return {asym ? PackedLayout::UInt8 : PackedLayout::Int8, PackedLayout::Int4};
  if (kernel == "w4a4")
    return {asym ? PackedLayout::UInt4 : PackedLayout::Int4, PackedLayout::Int4};
  if (kernel == "fp8") return {PackedLayout::Fp8E4M3, PackedLayout::Fp8E4M3};
  lowbit::fail("unknown kernel ", kernel, " (w8a8, w4a8, w4a4, fp8)");
}

// OCP E4M3 byte -> float (1 sign, 4 exponent bits with bias 7, 3 mantissa bits).
double e4m3_value(uint8_t b) {
  const int e = (b >> 3) & 0xF, mant = b & 7;
  const double v = e == 0 ? std::ldexp(mant / 8.0, -6) : std::ldexp(1.0 + mant / 8.0, e - 7);
  return (b & 0x80) ? -v : v;
}

// Code k of a packed row, for the layout the kernel reads.
double code_of(const IntGemmParams& p, bool is_b, const uint8_t* row, int64_t k) {
  const PackedLayout l = is_b ? p.b_layout : p.a_layout;
  if (l == PackedLayout::Fp8E4M3) return e4m3_value(row[k]);
  if (is_b && p.b_sm90) return lowbit::cuda::sm90_int4_code(row, k);
  return lowbit::load_code(l, row, k);
}

// Spot check: the I32 accumulators (FP8: float accumulators, within 1e-3 of Σ|products|) of
// `samples` random outputs against host dot products.
bool spot_check(IntGemmParams p, const DeviceBuffer& out_i32, int samples) {
  p.out_type = GemmOut::I32;
  p.out = out_i32.p;
  p.workspace = nullptr;  // grouped I32 needs none; one group runs unsplit
  p.split_k = 1;
  lowbit::cuda::int_gemm(p);
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(p.stream));
  const int64_t groups = p.group_size ? p.k / p.group_size : 1, gl = p.k / groups;
  const int64_t arow = lowbit::packed_row_bytes_unchecked(p.a_layout, p.k);
  const int64_t brow = lowbit::packed_row_bytes_unchecked(p.b_layout, p.k);
  std::vector<uint8_t> ar(static_cast<size_t>(arow)), br(static_cast<size_t>(brow));
  std::mt19937_64 rng(42);
  for (int s = 0; s < samples; ++s) {
    const int64_t m = int64_t(rng() % uint64_t(p.m)), n = int64_t(rng() % uint64_t(p.n));
    const int64_t g = int64_t(rng() % uint64_t(groups));
    LOWBIT_CUDA_CHECK(cudaMemcpy(ar.data(), static_cast<const uint8_t*>(p.a) + m * arow,
                                 size_t(arow), cudaMemcpyDeviceToHost));
    LOWBIT_CUDA_CHECK(cudaMemcpy(br.data(), static_cast<const uint8_t*>(p.b) + n * brow,
                                 size_t(brow), cudaMemcpyDeviceToHost));
    double want = 0, mag = 0;
    for (int64_t k = g * gl; k < (g + 1) * gl; ++k) {
      const double prod = code_of(p, false, ar.data(), k) * code_of(p, true, br.data(), k);
      want += prod;
      mag += std::fabs(prod);
    }
    uint32_t word = 0;
    LOWBIT_CUDA_CHECK(
        cudaMemcpy(&word, static_cast<const uint32_t*>(out_i32.p) + (m * p.n + n) * groups + g, 4,
                   cudaMemcpyDeviceToHost));
    const bool fp8 = p.a_layout == PackedLayout::Fp8E4M3;
    float gf;
    std::memcpy(&gf, &word, 4);
    const double got = fp8 ? double(gf) : double(int32_t(word));
    if (fp8 ? !(std::fabs(got - want) <= 1e-3 * mag) : got != want) {
      std::printf("  SPOT CHECK FAILED at m=%lld n=%lld g=%lld: got %.6g, want %.6g\n",
                  (long long)m, (long long)n, (long long)g, got, want);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  int dev = 0;
  LOWBIT_CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  LOWBIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  const double rotate_bytes =
      o.rotate_mb > 0 ? o.rotate_mb * 1e6 : 2.0 * double(std::max(prop.l2CacheSize, 1 << 20));
  std::printf(
      "# %s, sm_%d%d, %d SMs, L2 %.0f MB; rotating >= %.0f MB of buffers; %d runs after "
      "%d warm-up\n",
      prop.name, prop.major, prop.minor, prop.multiProcessorCount, prop.l2CacheSize / 1e6,
      rotate_bytes / 1e6, o.iters, o.warmup);
  std::printf("# %s activations, weights %s, out %s%s%s\n", o.asym ? "asymmetric" : "symmetric",
              o.group ? ("group " + std::to_string(o.group)).c_str() : "per channel",
              o.out == GemmOut::F32   ? "f32"
              : o.out == GemmOut::I32 ? "i32"
                                      : "f16",
              o.bias ? ", bias" : "", o.gelu ? ", gelu" : "");
  std::printf("%-5s %6s %6s %6s %-8s %8s %5s %10s %10s %10s %9s %8s %8s %9s %9s\n", "kern", "M",
              "N", "K", "engine", "tile", "split", "median_us", "min_us", "batch_us", "TOPS",
              "GB/s", "host_us", "graph_us", "graphTOPS");
  FILE* csv = o.csv.empty() ? nullptr : std::fopen(o.csv.c_str(), "w");
  if (csv)
    std::fprintf(csv,
                 "gpu,kernel,asym,group,out,M,N,K,engine,tile,split,median_us,min_us,batch_us,"
                 "tops,gbps,graph_us\n");

  cudaStream_t stream;
  LOWBIT_CUDA_CHECK(cudaStreamCreate(&stream));
  cudaEvent_t ev0, ev1;
  LOWBIT_CUDA_CHECK(cudaEventCreate(&ev0));
  LOWBIT_CUDA_CHECK(cudaEventCreate(&ev1));
  bool all_ok = true;

  for (const auto& kernel : o.kernels) {
    const Layouts lay = layouts_of(kernel, o.asym);
    for (const auto& [n, k] : o.nk) {
      for (const int64_t m : o.ms) {
        const int64_t groups = o.group ? k / o.group : 1;
        const size_t a_bytes = size_t(m * lowbit::packed_row_bytes_unchecked(lay.a, k));
        const size_t b_bytes = size_t(n * lowbit::packed_row_bytes_unchecked(lay.b, k));
        const size_t out_elem = o.out == GemmOut::F16 ? 2 : 4;
        const size_t out_bytes = size_t(m * n) * out_elem * (o.out == GemmOut::I32 ? groups : 1);
        const size_t set_bytes = a_bytes + b_bytes + out_bytes;
        const int sets = int(std::clamp(std::ceil(rotate_bytes / double(set_bytes)), 1.0, 4096.0));

        std::vector<std::unique_ptr<DeviceBuffer>> as, bs, outs;
        for (int s = 0; s < sets; ++s) {
          as.push_back(std::make_unique<DeviceBuffer>(a_bytes));
          bs.push_back(std::make_unique<DeviceBuffer>(b_bytes));
          outs.push_back(std::make_unique<DeviceBuffer>(out_bytes));
          fill_bytes(*as.back(), 1000 + 2 * uint64_t(s), kernel == "fp8");
          fill_bytes(*bs.back(), 1001 + 2 * uint64_t(s), kernel == "fp8");
        }
        DeviceBuffer sx(size_t(m) * 4), zx(size_t(m) * 4), sw(size_t(n * groups) * 4),
            zcorr(size_t(n) * 4), bias(size_t(n) * 4);
        fill_floats(sx, 7, 0.01f, 0.02f);
        fill_floats(zx, 8, -1.0f, 0.0f);
        fill_floats(sw, 9, 0.001f, 0.002f);
        fill_floats(zcorr, 10, -1.0f, 1.0f);
        fill_floats(bias, 11, -0.5f, 0.5f);

        IntGemmParams p;
        p.a_layout = lay.a;
        p.b_layout = lay.b;
        p.m = m;
        p.n = n;
        p.k = k;
        p.group_size = o.group;
        p.sx = static_cast<float*>(sx.p);
        p.sw = static_cast<float*>(sw.p);
        if (o.asym) {
          p.zx = static_cast<float*>(zx.p);
          p.zcorr = static_cast<float*>(zcorr.p);
        }
        p.bias = o.bias ? static_cast<float*>(bias.p) : nullptr;
        p.gelu = o.gelu;
        p.out_type = o.out;
        p.tile = o.tile;
        p.split_k = o.split;
        p.engine = o.engine;
        p.tokens_tile = o.tokens;
        p.schedule = o.schedule;
        // Int4 weights: in the Hopper order wherever the wgmma engine can take them.
        if (lay.b == PackedLayout::Int4 && o.engine != GemmEngine::MmaSync) {
          p.a = p.b = p.out = as[0]->p;
          p.b_sm90 = true;
          if (!lowbit::cuda::can_implement(p).empty()) p.b_sm90 = false;
        }
        p.stream = stream;
        p.a = as[0]->p;
        p.b = bs[0]->p;
        p.out = outs[0]->p;
        const std::string why = lowbit::cuda::can_implement(p);
        if (!why.empty()) {
          std::printf("%-5s %6lld %6lld %6lld  skipped: %s\n", kernel.c_str(), (long long)m,
                      (long long)n, (long long)k, why.c_str());
          continue;
        }
        const size_t ws_bytes = lowbit::cuda::int_gemm_workspace_bytes(p);
        DeviceBuffer ws(ws_bytes);
        if (ws_bytes) LOWBIT_CUDA_CHECK(cudaMemset(ws.p, 0, ws_bytes));
        p.workspace = ws.p;
        p.workspace_bytes = ws_bytes;
        const auto plan = lowbit::cuda::int_gemm_plan(p);

        // The CUTLASS engine has no I32 output: test_cuda_cutlass checks it against the CPU.
        if (o.verify && plan.engine != GemmEngine::Cutlass) {
          DeviceBuffer check(size_t(m * n * groups) * 4);
          if (!spot_check(p, check, 16)) all_ok = false;
        }

        auto run = [&](int i) {
          p.a = as[size_t(i % sets)]->p;
          p.b = bs[size_t(i % sets)]->p;
          p.out = outs[size_t(i % sets)]->p;
          lowbit::cuda::int_gemm(p);
        };
        for (int i = 0; i < o.warmup; ++i) run(i);
        std::vector<float> ms_each;
        for (int i = 0; i < o.iters; ++i) {
          LOWBIT_CUDA_CHECK(cudaEventRecord(ev0, stream));
          run(i);
          LOWBIT_CUDA_CHECK(cudaEventRecord(ev1, stream));
          LOWBIT_CUDA_CHECK(cudaEventSynchronize(ev1));
          float t = 0;
          LOWBIT_CUDA_CHECK(cudaEventElapsedTime(&t, ev0, ev1));
          ms_each.push_back(t);
        }
        LOWBIT_CUDA_CHECK(cudaEventRecord(ev0, stream));
        const auto h0 = std::chrono::steady_clock::now();
        for (int i = 0; i < o.iters; ++i) run(i);
        const double host_us =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - h0)
                .count() /
            o.iters;
        LOWBIT_CUDA_CHECK(cudaEventRecord(ev1, stream));
        LOWBIT_CUDA_CHECK(cudaEventSynchronize(ev1));
        float batch = 0;
        LOWBIT_CUDA_CHECK(cudaEventElapsedTime(&batch, ev0, ev1));
        // GPU time per call without host launch costs: calls over the rotated sets captured in a
        // CUDA graph (as an engine replays them).
        const int gcalls = std::max(10, std::min(sets, 256));
        const double graph_us = lowbit::cuda::graph_time_us(run, gcalls, 10, stream);
        std::sort(ms_each.begin(), ms_each.end());
        const double med_us = 1e3 * ms_each[ms_each.size() / 2], min_us = 1e3 * ms_each[0];
        const double batch_us = 1e3 * batch / o.iters;
        const double tops = 2.0 * double(m) * double(n) * double(k) / (med_us * 1e-6) / 1e12;
        const double gbps = double(set_bytes) / (med_us * 1e-6) / 1e9;
        char tile[32];
        std::snprintf(tile, sizeof tile, "%dx%d%s", plan.bm, plan.bn,
                      plan.engine != GemmEngine::MmaSync &&
                              plan.schedule == lowbit::cuda::GemmSchedule::PingPong
                          ? "pp"
                          : "");
        const char* eng = lowbit::cuda::engine_name(plan.engine);
        const double graph_tops =
            2.0 * double(m) * double(n) * double(k) / (graph_us * 1e-6) / 1e12;
        std::printf(
            "%-5s %6lld %6lld %6lld %-8s %8s %5d %10.2f %10.2f %10.2f %9.1f %8.0f %8.2f %9.2f "
            "%9.1f\n",
            kernel.c_str(), (long long)m, (long long)n, (long long)k, eng, tile, plan.split_k,
            med_us, min_us, batch_us, tops, gbps, host_us, graph_us, graph_tops);
        std::fflush(stdout);
        if (csv)
          std::fprintf(
              csv, "\"%s\",%s,%d,%lld,%s,%lld,%lld,%lld,%s,%s,%d,%.3f,%.3f,%.3f,%.2f,%.1f,%.3f\n",
              prop.name, kernel.c_str(), int(o.asym), (long long)o.group,
              o.out == GemmOut::F32   ? "f32"
              : o.out == GemmOut::I32 ? "i32"
                                      : "f16",
              (long long)m, (long long)n, (long long)k, eng, tile, plan.split_k, med_us, min_us,
              batch_us, tops, gbps, graph_us);
      }
    }
  }
  if (csv) std::fclose(csv);
  cudaEventDestroy(ev0);
  cudaEventDestroy(ev1);
  cudaStreamDestroy(stream);
  if (!all_ok) {
    std::printf("SPOT CHECK FAILED (see above)\n");
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_mma_gemm: %s\n", e.what());
  return 1;
}
