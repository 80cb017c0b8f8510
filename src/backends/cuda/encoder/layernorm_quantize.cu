// LayerNorm (+ residual) with the token-wise quantization of its output fused in
// (layernorm_quantize.h). From 1024 rows: one warp per row, 8 rows per CTA (a CTA per row kept
// too few rows in flight: 0.5 TB/s on BERT-base shapes); fewer rows: a CTA per row (latency). Each
// lane holds its elements in registers through the three warp reductions (sum, variance, range),
// so the row is read once and written once (plus its codes); BERT's widths (n a multiple of 8 up
// to 1024) take 16-byte accesses with every load issued before the first reduction.
#include "backends/cuda/encoder/layernorm_quantize.h"

#include <cuda_fp16.h>

#include <sstream>
#include <type_traits>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/quant/quantize_rows.cuh"
#include "core/error.h"

namespace lowbit::cuda {

namespace {

using quant::RowQuant;

constexpr int kThreads = 256;   // 8 warps, 8 rows
constexpr int kMaxPairs = 64;   // per lane: n <= 2 · 32 · 64 = 4096
constexpr int kBlockPairs = 8;  // per thread of the block kernel: n <= 2 · 256 · 8 = 4096
constexpr int64_t kWarpRowsFrom = 1024;  // rows from which the warp-per-row kernel is used

struct KParams {
  const void* x;
  const void* residual;
  int64_t n;
  const float* gamma;
  const float* beta;
  double eps;
  void* out;
  bool quantize;
  uint8_t* codes;
  int64_t row_bytes;
  float* scales;
  float* zeros;
  unsigned long long* status;
  RowQuant q;
};

template <RowInput T>
__device__ __forceinline__ float2 load2(const void* base, int64_t i) {
  if constexpr (T == RowInput::F32)
    return reinterpret_cast<const float2*>(base)[i / 2];
  else
    return __half22float2(reinterpret_cast<const __half2*>(base)[i / 2]);
}

// x + residual (one float32 add each) for the pair at element index i.
template <RowInput IN>
__device__ __forceinline__ float2 input_pair(const KParams& p, int64_t i) {
  float2 v = load2<IN>(p.x, i);
  if (p.residual) {
    const float2 b = load2<IN>(p.residual, i);
    v.x = __fadd_rn(v.x, b.x);
    v.y = __fadd_rn(v.y, b.y);
  }
  return v;
}

// y = float((v - mean) · inv) · gamma + beta for the pair at column c of the row starting at
// element `base`, written to p.out when set.
template <RowInput OUT>
__device__ __forceinline__ float2 normalize_pair(const KParams& p, float2 v, double mean,
                                                 double inv, int64_t base, int64_t c) {
  const int64_t i = base + c;
  const float2 gm = *reinterpret_cast<const float2*>(p.gamma + c);
  const float2 bt = *reinterpret_cast<const float2*>(p.beta + c);
  float2 y;
  y.x = __fadd_rn(__fmul_rn(float((double(v.x) - mean) * inv), gm.x), bt.x);
  y.y = __fadd_rn(__fmul_rn(float((double(v.y) - mean) * inv), gm.y), bt.y);
  if (p.out) {
    if constexpr (OUT == RowInput::F32)
      reinterpret_cast<float2*>(p.out)[i / 2] = y;
    else
      reinterpret_cast<__half2*>(p.out)[i / 2] = __floats2half2_rn(y.x, y.y);
  }
  return y;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

// The general warp-per-row kernel: any even n up to 2 · 32 · P (P = kMaxPairs), a pair of
// elements per access. Rows that layernorm_quantize_vec_kernel takes (n a multiple of 8 up to
// 1024, aligned) go there instead.
template <RowInput IN, RowInput OUT, int P>
__global__ void __launch_bounds__(kThreads, 1)
    layernorm_quantize_kernel(const __grid_constant__ KParams p, int64_t rows) {
  using namespace quant;
  const int lane = int(threadIdx.x % 32);
  const int64_t r = int64_t(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32;
  if (r >= rows) return;  // whole warps leave together
  const int64_t base = r * p.n;

  float2 v[P];
  double sum = 0;
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t c = 2 * lane + 64 * i;
    v[i] = make_float2(0.0f, 0.0f);
    if (c < p.n) {
      v[i] = input_pair<IN>(p, base + c);
      sum += double(v[i].x) + double(v[i].y);
    }
  }
  const double mean = warp_sum(sum) / double(p.n);
  double var = 0;
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t c = 2 * lane + 64 * i;
    if (c < p.n) {
      const double d0 = double(v[i].x) - mean, d1 = double(v[i].y) - mean;
      var += d0 * d0 + d1 * d1;
    }
  }
  const double inv = 1.0 / sqrt(warp_sum(var) / double(p.n) + p.eps);

  float mx = 0.0f, nlo = -INFINITY, hi = -INFINITY;
  bool bad = false;
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t c = 2 * lane + 64 * i;
    if (c >= p.n) continue;
    v[i] = normalize_pair<OUT>(p, v[i], mean, inv, base, c);
    bad |= range_pair(p.q, v[i], p.status, r, c, mx, nlo, hi);
  }
  if (!p.quantize) return;
  float scale, zp;
  if (!warp_row_scale(p.q, mx, nlo, hi, bad, p.status, r, p.scales, p.zeros, &scale, &zp)) return;
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv_scale = __frcp_rn(scale);
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t c = 2 * lane + 64 * i;
    if (c < p.n) store_pair(p.q, row, c, v[i].x, v[i].y, scale, zp, inv_scale);
  }
}

// Eight elements from element index i (a multiple of 8; 16-byte aligned rows).
template <RowInput T>
__device__ __forceinline__ void load8(const void* base, int64_t i, float (&v)[8]) {
  if constexpr (T == RowInput::F32) {
    const float4 a = reinterpret_cast<const float4*>(base)[i / 4];
    const float4 b = reinterpret_cast<const float4*>(base)[i / 4 + 1];
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
  } else {
    quant::unpack8(reinterpret_cast<const uint4*>(base)[i / 8], v);
  }
}

// The bandwidth version of layernorm_quantize_kernel for n a multiple of 8 up to 256·CH: each
// lane holds CH chunks of eight elements (columns 8·lane + 256·i) read with 16-byte loads, all
// issued before the first reduction; y is written with 16-byte stores and its codes with one 8-
// or 4-byte store per chunk. The same float / double operations per element as the kernel above.
template <RowInput IN, RowInput OUT, int CH>
__global__ void __launch_bounds__(kThreads, CH <= 2 ? 4 : 3)
    layernorm_quantize_vec_kernel(const __grid_constant__ KParams p, int64_t rows) {
  using namespace quant;
  const int lane = int(threadIdx.x % 32);
  const int64_t r = int64_t(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32;
  if (r >= rows) return;
  const int64_t base = r * p.n;
  float v[CH][8];
#pragma unroll
  for (int i = 0; i < CH; ++i) {
    const int64_t c = 8 * lane + 256 * i;
    if (c >= p.n) continue;
    load8<IN>(p.x, base + c, v[i]);
    if (p.residual) {
      float b[8];
      load8<IN>(p.residual, base + c, b);
#pragma unroll
      for (int j = 0; j < 8; ++j) v[i][j] = __fadd_rn(v[i][j], b[j]);
    }
  }
  // FP16 inputs (|x + residual| < 2^17, no float overflow in a row's sum): the lane's sum in
  // float with each addition's rounding error kept (TwoSum), widened once: within ~1e-12 of the
  // exact sum relative to sum |v| (the CPU's double loop: ~1e-13), at full float rate instead
  // of a conversion to double per element. FP32 inputs: in double.
  double sum = 0;
  if constexpr (IN == RowInput::F16) {
    float s_hi = 0.0f, s_err = 0.0f;
#pragma unroll
    for (int i = 0; i < CH; ++i)
      if (8 * lane + 256 * i < p.n)
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const float x = v[i][j], t = __fadd_rn(s_hi, x), bp = __fsub_rn(t, s_hi);
          s_err = __fadd_rn(s_err, __fadd_rn(__fsub_rn(s_hi, __fsub_rn(t, bp)), __fsub_rn(x, bp)));
          s_hi = t;
        }
    sum = double(s_hi) + double(s_err);
  } else {
#pragma unroll
    for (int i = 0; i < CH; ++i)
      if (8 * lane + 256 * i < p.n)
#pragma unroll
        for (int j = 0; j < 8; ++j) sum += double(v[i][j]);
  }
  const double mean = warp_sum(sum) / double(p.n);
  double var = 0;
#pragma unroll
  for (int i = 0; i < CH; ++i)
    if (8 * lane + 256 * i < p.n)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const double d = double(v[i][j]) - mean;
        var += d * d;
      }
  const double inv = 1.0 / sqrt(warp_sum(var) / double(p.n) + p.eps);

  uint32_t amax = 0;
  float lo = INFINITY, hi = -INFINITY;
#pragma unroll
  for (int i = 0; i < CH; ++i) {
    const int64_t c = 8 * lane + 256 * i;
    if (c >= p.n) continue;
    const float4 g0 = *reinterpret_cast<const float4*>(p.gamma + c);
    const float4 g1 = *reinterpret_cast<const float4*>(p.gamma + c + 4);
    const float4 b0 = *reinterpret_cast<const float4*>(p.beta + c);
    const float4 b1 = *reinterpret_cast<const float4*>(p.beta + c + 4);
    const float g[8] = {g0.x, g0.y, g0.z, g0.w, g1.x, g1.y, g1.z, g1.w};
    const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
    for (int j = 0; j < 8; ++j)
      v[i][j] = __fadd_rn(__fmul_rn(float((double(v[i][j]) - mean) * inv), g[j]), b[j]);
    if (p.out) {
      if constexpr (OUT == RowInput::F32) {
        float4* o = reinterpret_cast<float4*>(static_cast<float*>(p.out) + base + c);
        o[0] = make_float4(v[i][0], v[i][1], v[i][2], v[i][3]);
        o[1] = make_float4(v[i][4], v[i][5], v[i][6], v[i][7]);
      } else {
        uint32_t w[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const __half2 h = __floats2half2_rn(v[i][2 * j], v[i][2 * j + 1]);
          w[j] = *reinterpret_cast<const uint32_t*>(&h);
        }
        *reinterpret_cast<uint4*>(static_cast<__half*>(p.out) + base + c) =
            make_uint4(w[0], w[1], w[2], w[3]);
      }
    }
    range8(v[i], p.q.kind == 1, amax, lo, hi);
  }
  if (!p.quantize) return;
  float scale, zp;
  const int st = warp_row_scale8(p.q, amax, lo, hi, p.status, r, p.scales, p.zeros, &scale, &zp,
                                     lane == 0);
  if (st == 1) {
#pragma unroll
    for (int i = 0; i < CH; ++i) {
      const int64_t c = 8 * lane + 256 * i;
      if (c < p.n && report_nonfinite8(v[i], p.status, r, c)) break;
    }
  }
  if (st != 0) return;
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv_scale = __frcp_rn(scale);
#pragma unroll
  for (int i = 0; i < CH; ++i) {
    const int64_t c = 8 * lane + 256 * i;
    if (c < p.n) store8(p.q, row, c, v[i], scale, zp, inv_scale);
  }
}

__device__ __forceinline__ double block_sum(double v, double* sm) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) sm[warp] = v;
  __syncthreads();
  double s = 0;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) s += sm[w];
  return s;
}

// Few rows (small batches: latency, not bandwidth): a CTA of 256 threads per row, each holding
// up to kBlockPairs pairs (columns 2·tid + 512·i), so every row is spread over more SMs.
template <RowInput IN, RowInput OUT>
__global__ void __launch_bounds__(kThreads)
    layernorm_quantize_block_kernel(const __grid_constant__ KParams p) {
  using namespace quant;
  __shared__ double smd[kThreads / 32];
  __shared__ float smf[2 * kThreads / 32];
  __shared__ int bad;
  const int64_t r = blockIdx.x;
  const int tid = int(threadIdx.x);
  const int64_t base = r * p.n;
  if (tid == 0) bad = 0;

  float2 v[kBlockPairs];
  double sum = 0;
#pragma unroll
  for (int i = 0; i < kBlockPairs; ++i) {
    const int64_t c = 2 * tid + 2 * kThreads * i;
    v[i] = make_float2(0.0f, 0.0f);
    if (c < p.n) {
      v[i] = input_pair<IN>(p, base + c);
      sum += double(v[i].x) + double(v[i].y);
    }
  }
  const double mean = block_sum(sum, smd) / double(p.n);
  double var = 0;
#pragma unroll
  for (int i = 0; i < kBlockPairs; ++i) {
    const int64_t c = 2 * tid + 2 * kThreads * i;
    if (c < p.n) {
      const double d0 = double(v[i].x) - mean, d1 = double(v[i].y) - mean;
      var += d0 * d0 + d1 * d1;
    }
  }
  const double inv = 1.0 / sqrt(block_sum(var, smd) / double(p.n) + p.eps);

  float mx = 0.0f, nlo = -INFINITY, hi = -INFINITY;
#pragma unroll
  for (int i = 0; i < kBlockPairs; ++i) {
    const int64_t c = 2 * tid + 2 * kThreads * i;
    if (c >= p.n) continue;
    v[i] = normalize_pair<OUT>(p, v[i], mean, inv, base, c);
    if (range_pair(p.q, v[i], p.status, r, c, mx, nlo, hi)) bad = 1;
  }
  if (!p.quantize) return;
  float scale, zp;
  if (!block_group_scale<kThreads>(p.q, mx, nlo, hi, bad, smf, p.status, r, 0, p.scales, p.zeros, r,
                                   &scale, &zp))
    return;
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv_scale = __frcp_rn(scale);
#pragma unroll
  for (int i = 0; i < kBlockPairs; ++i) {
    const int64_t c = 2 * tid + 2 * kThreads * i;
    if (c < p.n) store_pair(p.q, row, c, v[i].x, v[i].y, scale, zp, inv_scale);
  }
}

}  // namespace

std::string can_layernorm_quantize(const LayerNormQuantParams& p) {
  std::ostringstream e;
  if (p.rows < 0 || p.n <= 0 || p.n % 2 != 0 || p.n > 64 * kMaxPairs) {
    e << "layernorm_quantize: n=" << p.n << " must be even and at most " << 64 * kMaxPairs;
    return e.str();
  }
  if (p.rows > (int64_t(1) << 31) - 1) {
    e << "layernorm_quantize: too many rows (" << p.rows << ")";
    return e.str();
  }
  if (!p.x || !p.gamma || !p.beta) {
    e << "layernorm_quantize: x, gamma and beta must be set";
    return e.str();
  }
  if (!(p.eps >= 0.0f)) {
    e << "layernorm_quantize: eps must be >= 0";
    return e.str();
  }
  if (p.codes) {
    const QuantScheme& s = p.scheme;
    if (s.group_size != 0 && s.group_size != p.n) {
      e << "layernorm_quantize: activations are quantized token-wise (one group per row)";
      return e.str();
    }
    QuantizeRowsParams q;
    q.scheme = s;
    q.x = p.x;
    q.rows = p.rows;
    q.cols = p.n;
    q.codes = p.codes;
    q.scales = p.scales;
    q.zeros = p.zeros;
    q.status = p.status;
    if (std::string m = can_quantize_rows(q); !m.empty()) return m;
  } else if (!p.out) {
    e << "layernorm_quantize: neither out nor codes is set";
    return e.str();
  }
  return "";
}

void layernorm_quantize_cuda(const LayerNormQuantParams& p) {
  if (std::string m = can_layernorm_quantize(p); !m.empty()) fail(m);
  KParams k{};
  k.x = p.x;
  k.residual = p.residual;
  k.n = p.n;
  k.gamma = p.gamma;
  k.beta = p.beta;
  k.eps = double(p.eps);
  k.out = p.out;
  k.quantize = p.codes != nullptr;
  if (k.quantize) {
    if (!p.status_preset)
      LOWBIT_CUDA_CHECK(cudaMemsetAsync(p.status, 0xFF, sizeof(unsigned long long), p.stream));
    k.q = row_quant_of(p.scheme);
    k.codes = p.codes;
    k.row_bytes = k.q.nibbles ? p.n / 2 : p.n;
    k.scales = p.scales;
    k.zeros = p.zeros;
    k.status = p.status;
  } else {
    k.q = row_quant_of(QuantScheme::int_sym(8));
  }
  if (p.rows == 0) return;
  const dim3 grid(unsigned((p.rows + kThreads / 32 - 1) / (kThreads / 32)));
  // 16-byte accesses: n a multiple of 8, every row pointer 16-byte aligned.
  auto aligned = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  const bool vec = p.n % 8 == 0 && aligned(p.x) && aligned(p.residual) && aligned(p.out) &&
                   aligned(p.gamma) && aligned(p.beta) && aligned(p.codes);
  auto launch = [&](auto in_c, auto out_c) {
    constexpr RowInput IN = decltype(in_c)::value, OUT = decltype(out_c)::value;
    if (p.rows < kWarpRowsFrom)
      layernorm_quantize_block_kernel<IN, OUT><<<unsigned(p.rows), kThreads, 0, p.stream>>>(k);
    else if (vec && p.n <= 512)
      layernorm_quantize_vec_kernel<IN, OUT, 2><<<grid, kThreads, 0, p.stream>>>(k, p.rows);
    else if (vec && p.n <= 1024)
      layernorm_quantize_vec_kernel<IN, OUT, 4><<<grid, kThreads, 0, p.stream>>>(k, p.rows);
    else
      layernorm_quantize_kernel<IN, OUT, kMaxPairs><<<grid, kThreads, 0, p.stream>>>(k, p.rows);
  };
  using F32 = std::integral_constant<RowInput, RowInput::F32>;
  using F16 = std::integral_constant<RowInput, RowInput::F16>;
  if (p.in_type == RowInput::F32 && p.out_type == RowInput::F32)
    launch(F32{}, F32{});
  else if (p.in_type == RowInput::F32)
    launch(F32{}, F16{});
  else if (p.out_type == RowInput::F32)
    launch(F16{}, F32{});
  else
    launch(F16{}, F16{});
  LOWBIT_CUDA_LAUNCHED("layernorm_quantize_kernel");
}

}  // namespace lowbit::cuda
