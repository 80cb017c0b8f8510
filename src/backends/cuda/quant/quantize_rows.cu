// GPU row quantization (quantize_rows.h): one CTA of 128 threads per (row, group); pass 1
// reduces the group's range (and finds non-finite values), pass 2 writes the codes. Every
// quantizer step is the contract's float32 operation with round-to-nearest-even (__fdiv_rn,
// __fsub_rn, __fmul_rn, __fadd_rn, rintf), in the CPU reference's order, so the codes, scales
// and zeros are bit-exact with lowbit::quantize_rows. (Built without fast math: subnormals kept.)
#include "backends/cuda/quant/quantize_rows.h"

#include "backends/cuda/quant/quantize_rows.cuh"

#include <cuda_fp16.h>

#include <limits>
#include <sstream>
#include <type_traits>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/gemm_epilogue.cuh"
#include "core/error.h"

namespace lowbit::cuda {

namespace {

using quant::RowQuant;

constexpr int kThreads = 128;

struct KParams {
  const void* x;
  int64_t rows, cols, ldx;
  int64_t g_len, groups;
  uint8_t* codes;
  int64_t row_bytes;
  float* scales;
  float* zeros;
  unsigned long long* status;
  RowQuant q;
  const float* bias;
  bool gelu;
  float* out_f32;
  const uint32_t* row_amax;
  int64_t amax_blocks, ld_amax;
};

// Element (r, c) after the optional pre-op (x + bias, then GELU).
template <RowInput IN>
__device__ __forceinline__ float load_x(const KParams& p, int64_t r, int64_t c) {
  float v;
  if constexpr (IN == RowInput::F32)
    v = static_cast<const float*>(p.x)[r * p.ldx + c];
  else
    v = __half2float(static_cast<const __half*>(p.x)[r * p.ldx + c]);
  if (p.bias) v = __fadd_rn(v, p.bias[c]);
  if (p.gelu) v = gemm::gelu_erf(v);
  return v;
}

template <RowInput IN>
__global__ void __launch_bounds__(kThreads)
    quantize_rows_kernel(const __grid_constant__ KParams p) {
  using namespace quant;
  __shared__ float sm[2 * kThreads / 32];
  __shared__ int bad;
  const int64_t r = blockIdx.x / p.groups, g = blockIdx.x % p.groups;
  const int64_t c0 = g * p.g_len, c1 = c0 + p.g_len;
  const int tid = int(threadIdx.x);
  if (tid == 0) bad = 0;
  __syncthreads();

  // Pass 1: non-finite check on the raw input, then the clipped range (min as -max(-x)).
  float mx = 0.0f, nlo = -INFINITY, hi = -INFINITY;
  for (int64_t c = c0 + tid; c < c1; c += kThreads) {
    const float v = load_x<IN>(p, r, c);
    if (p.out_f32) p.out_f32[r * p.cols + c] = v;
    if (!isfinite(v)) {
      atomicMin(p.status, status_word(r, c, 0));
      bad = 1;
    }
    const float cv = clip_to(p.q, v);
    mx = fmaxf(mx, fabsf(cv));
    nlo = fmaxf(nlo, -cv);
    hi = fmaxf(hi, cv);
  }
  float scale, zp;
  if (!block_group_scale<kThreads>(p.q, mx, nlo, hi, bad, sm, p.status, r, c0, p.scales, p.zeros,
                                   r * p.groups + g, &scale, &zp))
    return;

  // Pass 2: codes, a pair of elements at a time (g_len and c0 are even; odd lengths do not
  // reach here for 4-bit codes, and 8-bit rows of odd length take the tail alone).
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv = __frcp_rn(scale);
  for (int64_t c = c0 + 2 * tid; c < c1; c += 2 * kThreads) {
    const float v0 = load_x<IN>(p, r, c);
    if (c + 1 < c1) {
      store_pair(p.q, row, c, v0, load_x<IN>(p, r, c + 1), scale, zp, inv);
    } else if (p.q.kind == 2) {
      row[c] = e4m3_encode_dev(__fdiv_rn(clip_to(p.q, v0), scale));
    } else {
      row[c] = uint8_t(int_code(p.q, v0, scale, zp, inv));
    }
  }
}

// Token-wise rows (the encoder's GEMM inputs): one warp per row, 8 rows per CTA. The same float
// operations as the kernel above, so the same codes.
constexpr int kWarpRowThreads = 256;

// Element pair (c, c + 1) of row r after the optional pre-op.
template <RowInput IN>
__device__ __forceinline__ float2 load_pair(const KParams& p, int64_t r, int64_t c) {
  float2 x;
  if constexpr (IN == RowInput::F32)
    x = *reinterpret_cast<const float2*>(static_cast<const float*>(p.x) + r * p.ldx + c);
  else
    x = __half22float2(
        *reinterpret_cast<const __half2*>(static_cast<const __half*>(p.x) + r * p.ldx + c));
  if (p.bias) {
    x.x = __fadd_rn(x.x, p.bias[c]);
    x.y = __fadd_rn(x.y, p.bias[c + 1]);
  }
  if (p.gelu) {
    x.x = gemm::gelu_erf(x.x);
    x.y = gemm::gelu_erf(x.y);
  }
  return x;
}

// P > 0: the row is held in registers (P pairs per lane, columns 2·lane + 64·i) and read once;
// P == 0: two passes over the row (the second re-reads it from L1 / L2), for long rows that
// would not fit in registers without spilling.
template <RowInput IN, int P>
__global__ void __launch_bounds__(kWarpRowThreads)
    quantize_rows_warp_kernel(const __grid_constant__ KParams p) {
  using namespace quant;
  const int lane = int(threadIdx.x % 32);
  const int64_t r = int64_t(blockIdx.x) * (kWarpRowThreads / 32) + threadIdx.x / 32;
  if (r >= p.rows) return;
  constexpr int kHeld = P > 0 ? P : 1;
  float2 v[kHeld];
  float mx = 0.0f, nlo = -INFINITY, hi = -INFINITY;
  bool bad = false;
  auto range = [&](float2 x, int64_t c) {
    if (p.out_f32) *reinterpret_cast<float2*>(p.out_f32 + r * p.cols + c) = x;
    bad |= range_pair(p.q, x, p.status, r, c, mx, nlo, hi);
  };
  if constexpr (P > 0) {
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int64_t c = 2 * lane + 64 * i;
      if (c >= p.cols) continue;
      v[i] = load_pair<IN>(p, r, c);
      range(v[i], c);
    }
  } else {
    for (int64_t c = 2 * lane; c < p.cols; c += 64) range(load_pair<IN>(p, r, c), c);
  }
  float scale, zp;
  if (!warp_row_scale(p.q, mx, nlo, hi, bad, p.status, r, p.scales, p.zeros, &scale, &zp)) return;
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv = __frcp_rn(scale);
  if constexpr (P > 0) {
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int64_t c = 2 * lane + 64 * i;
      if (c < p.cols) store_pair(p.q, row, c, v[i].x, v[i].y, scale, zp, inv);
    }
  } else {
    for (int64_t c = 2 * lane; c < p.cols; c += 64) {
      const float2 x = load_pair<IN>(p, r, c);
      store_pair(p.q, row, c, x.x, x.y, scale, zp, inv);
    }
  }
}

// The encoder's token-wise case at bandwidth: F16 rows, no pre-op, cols a multiple of 8, 16-byte
// aligned. Each thread loads its share of the row up front (kVecWords 16-byte words at columns
// 8·t + 8·T·i for T threads per row, kept as raw halves), reduces the range, then writes 8 codes
// per store. Rows up to 1024 wide take a warp each (8 rows per CTA); longer rows a CTA of
// ceil(cols / 32) threads rounded up to a warp, so that every thread holds 32 elements whatever
// the width: a first version gave rows of 4096 to one warp (16 words a lane, 118 registers, 2 CTAs
// per SM) and ran at 0.5 TB/s. The same float operations as the kernels above, so the same codes.
constexpr int kVecWords = 4;

// WARP: one row per warp; else one row per CTA.
template <bool WARP>
__global__ void __launch_bounds__(WARP ? kWarpRowThreads : 1024)
    quantize_rows_vec_kernel(const __grid_constant__ KParams p) {
  using namespace quant;
  __shared__ uint32_t sm_amax[32];
  __shared__ float sm_lo[32], sm_hi[32];
  const int t = WARP ? int(threadIdx.x % 32) : int(threadIdx.x);
  const int nt = WARP ? 32 : int(blockDim.x);
  const int64_t r =
      WARP ? int64_t(blockIdx.x) * (kWarpRowThreads / 32) + threadIdx.x / 32 : int64_t(blockIdx.x);
  if (r >= p.rows) return;
  const uint4* x = reinterpret_cast<const uint4*>(static_cast<const __half*>(p.x) + r * p.ldx);
  uint4 raw[kVecWords];
#pragma unroll
  for (int i = 0; i < kVecWords; ++i)
    if (8 * (t + nt * i) < p.cols) raw[i] = x[t + nt * i];
  uint32_t amax = 0;
  float lo = INFINITY, hi = -INFINITY;
#pragma unroll
  for (int i = 0; i < kVecWords; ++i) {
    if (8 * (t + nt * i) >= p.cols) continue;
    float v[8];
    unpack8(raw[i], v);
    range8(v, p.q.kind == 1, amax, lo, hi);
  }
  if constexpr (!WARP) {
    // The CTA's range: each warp's, through shared memory, to every thread (lane 0's values are
    // those warp_row_scale8 reduces again, a no-op).
    for (int o = 16; o > 0; o >>= 1) {
      amax = max(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, o));
      lo = fminf(lo, __shfl_xor_sync(0xFFFFFFFFu, lo, o));
      hi = fmaxf(hi, __shfl_xor_sync(0xFFFFFFFFu, hi, o));
    }
    const int w = t / 32;
    if (t % 32 == 0) {
      sm_amax[w] = amax;
      sm_lo[w] = lo;
      sm_hi[w] = hi;
    }
    __syncthreads();
    for (int i = 0; i < nt / 32; ++i) {
      amax = max(amax, sm_amax[i]);
      lo = fminf(lo, sm_lo[i]);
      hi = fmaxf(hi, sm_hi[i]);
    }
  }
  float scale, zp;
  const int st = warp_row_scale8(p.q, amax, lo, hi, p.status, r, p.scales, p.zeros, &scale, &zp,
                                 WARP || t == 0);
  if (st == 1) {
#pragma unroll
    for (int i = 0; i < kVecWords; ++i) {
      const int64_t c = 8 * int64_t(t + nt * i);
      if (c >= p.cols) continue;
      float v[8];
      unpack8(raw[i], v);
      if (report_nonfinite8(v, p.status, r, c)) break;
    }
  }
  if (st != 0) return;
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv = __frcp_rn(scale);
#pragma unroll
  for (int i = 0; i < kVecWords; ++i) {
    const int64_t c = 8 * int64_t(t + nt * i);
    if (c >= p.cols) continue;
    float v[8];
    unpack8(raw[i], v);
    store8(p.q, row, c, v, scale, zp, inv);
  }
}

// With the producer's row maxima (KParams::row_amax): one warp per row reduces the row's block
// maxima, then streams the row once, 16-byte loads, several in flight (no second read, no row
// held in registers). The scale is warp_row_scale8's from the same max |x|, so the codes are the
// reduction kernels'. Symmetric schemes only (the maxima carry no signed range).
__global__ void __launch_bounds__(kWarpRowThreads)
    quantize_rows_amax_kernel(const __grid_constant__ KParams p) {
  using namespace quant;
  const int lane = int(threadIdx.x % 32);
  const int64_t r = int64_t(blockIdx.x) * (kWarpRowThreads / 32) + threadIdx.x / 32;
  if (r >= p.rows) return;
  uint32_t amax = 0;
  for (int64_t b = lane; b < p.amax_blocks; b += 32)
    amax = max(amax, __ldg(p.row_amax + r * p.ld_amax + b));
  float scale, zp;
  const int st = warp_row_scale8(p.q, amax, 0.0f, 0.0f, p.status, r, p.scales, p.zeros, &scale, &zp,
                                 lane == 0);
  const uint4* x = reinterpret_cast<const uint4*>(static_cast<const __half*>(p.x) + r * p.ldx);
  const int64_t words = p.cols / 8;
  if (st == 1) {  // a non-finite value: report its first column, as the reduction kernels do
    for (int64_t w = lane; w < words; w += 32) {
      float v[8];
      unpack8(x[w], v);
      if (report_nonfinite8(v, p.status, r, 8 * w)) break;
    }
  }
  if (st != 0) return;
  uint8_t* row = p.codes + r * p.row_bytes;
  const float inv = __frcp_rn(scale);
  constexpr int kInFlight = 4;
  for (int64_t w0 = lane; w0 < words; w0 += 32 * kInFlight) {
    uint4 raw[kInFlight];
#pragma unroll
    for (int i = 0; i < kInFlight; ++i)
      if (w0 + 32 * i < words) raw[i] = x[w0 + 32 * i];
#pragma unroll
    for (int i = 0; i < kInFlight; ++i) {
      if (w0 + 32 * i >= words) continue;
      float v[8];
      unpack8(raw[i], v);
      store8(p.q, row, 8 * (w0 + 32 * i), v, scale, zp, inv);
    }
  }
}

// Scheme facts computed here rather than through QuantScheme's out-of-line members, which live
// in the CPU library (lowbit_cuda does not link it).
bool nibbles_of(const QuantScheme& s) { return s.kind == QuantKind::Int && s.bits <= 4; }
std::string name_of(const QuantScheme& s) {
  std::string n = s.kind == QuantKind::Fp8E4M3 ? "fp8"
                  : s.symmetric                ? "int" + std::to_string(s.bits)
                                               : "uint" + std::to_string(s.bits);
  if (s.group_size > 0) n += "_g" + std::to_string(s.group_size);
  if (s.clip) n += "_c" + std::to_string(*s.clip);
  return n;
}

}  // namespace

quant::RowQuant row_quant_of(const QuantScheme& s) {
  quant::RowQuant q{};
  q.kind = s.kind == QuantKind::Fp8E4M3 ? 2 : s.symmetric ? 0 : 1;
  q.qmin = s.qmin();
  q.qmax = s.qmax();
  q.nibbles = nibbles_of(s);
  q.has_clip = s.clip.has_value();
  q.clip = s.clip.value_or(0.0f);
  return q;
}

std::string can_quantize_rows(const QuantizeRowsParams& p) {
  std::ostringstream e;
  const QuantScheme& s = p.scheme;
  if (!(s.kind == QuantKind::Fp8E4M3 || (s.bits >= 2 && s.bits <= 8)) || s.pow2) {
    e << "quantize_rows_cuda: scheme " << name_of(s) << (s.pow2 ? "_p2" : "")
      << " is not supported (power-of-two scales are for weights, quantized on the host)";
    return e.str();
  }
  if (p.rows < 0 || p.cols <= 0 || p.rows > (int64_t(1) << 31) || p.cols > (int64_t(1) << 30)) {
    e << "quantize_rows_cuda: bad shape " << p.rows << " x " << p.cols;
    return e.str();
  }
  const int64_t g_len = s.group_size > 0 ? s.group_size : p.cols;
  if (p.cols % g_len != 0) {
    e << "quantize_rows_cuda: group size " << g_len << " does not divide " << p.cols;
    return e.str();
  }
  if (nibbles_of(s) && g_len % 2 != 0) {
    e << "quantize_rows_cuda: 4-bit codes need an even group length, got " << g_len;
    return e.str();
  }
  if (p.ldx != 0 && p.ldx < p.cols) {
    e << "quantize_rows_cuda: ldx=" << p.ldx << " is less than cols=" << p.cols;
    return e.str();
  }
  if (!p.x || !p.codes || !p.scales || !p.status || (!s.symmetric && !p.zeros)) {
    e << "quantize_rows_cuda: x, codes, scales, status (and zeros when asymmetric) must be set";
    return e.str();
  }
  if (p.row_amax) {
    const int64_t ld = p.ld_amax ? p.ld_amax : p.amax_blocks;
    if (!s.symmetric || g_len != p.cols || p.in_type != RowInput::F16 || p.bias || p.gelu ||
        p.out_f32 || p.cols % 8 != 0 || (p.ldx ? p.ldx : p.cols) % 8 != 0 ||
        reinterpret_cast<uintptr_t>(p.x) % 16 != 0 ||
        reinterpret_cast<uintptr_t>(p.codes) % 8 != 0 || p.amax_blocks < 1 || ld < p.amax_blocks) {
      e << "quantize_rows_cuda: row_amax takes a symmetric scheme with one group per row, F16 "
           "input with rows of a multiple of 8 (16-byte aligned), no bias / GELU / out_f32, and "
           "amax_blocks >= 1 <= ld_amax (scheme "
        << name_of(s) << ", cols " << p.cols << ", amax_blocks " << p.amax_blocks << ")";
      return e.str();
    }
  }
  return "";
}

void quantize_rows_cuda(const QuantizeRowsParams& p) {
  const std::string msg = can_quantize_rows(p);
  if (!msg.empty()) fail(msg);
  const QuantScheme& s = p.scheme;
  if (!p.status_preset)
    LOWBIT_CUDA_CHECK(cudaMemsetAsync(p.status, 0xFF, sizeof(unsigned long long), p.stream));
  if (p.rows == 0) return;
  KParams k{};
  k.x = p.x;
  k.rows = p.rows;
  k.cols = p.cols;
  k.ldx = p.ldx ? p.ldx : p.cols;
  k.g_len = s.group_size > 0 ? s.group_size : p.cols;
  k.groups = p.cols / k.g_len;
  k.codes = p.codes;
  k.row_bytes = nibbles_of(s) ? p.cols / 2 : p.cols;
  k.scales = p.scales;
  k.zeros = p.zeros;
  k.status = p.status;
  k.q = row_quant_of(s);
  k.bias = p.bias;
  k.gelu = p.gelu;
  k.out_f32 = p.out_f32;
  k.row_amax = p.row_amax;
  k.amax_blocks = p.amax_blocks;
  k.ld_amax = p.ld_amax ? p.ld_amax : p.amax_blocks;
  if (p.row_amax) {
    quantize_rows_amax_kernel<<<unsigned((p.rows + 7) / 8), kWarpRowThreads, 0, p.stream>>>(k);
    LOWBIT_CUDA_LAUNCHED("quantize_rows_amax_kernel");
    return;
  }
  auto aligned = [](const void* q, uintptr_t a) { return reinterpret_cast<uintptr_t>(q) % a == 0; };
  const uintptr_t pair_bytes = p.in_type == RowInput::F32 ? 8 : 4;
  // The warp-per-row kernel for many rows (bandwidth); a CTA per row for few (latency).
  if (k.groups == 1 && p.rows >= 1024 && p.in_type == RowInput::F16 && !p.bias && !p.gelu &&
      !p.out_f32 && p.cols % 8 == 0 && p.cols <= 8 * kVecWords * 1024 && k.ldx % 8 == 0 &&
      aligned(p.x, 16) && aligned(p.codes, 8)) {
    if (p.cols <= 8 * kVecWords * 32) {
      quantize_rows_vec_kernel<true>
          <<<unsigned((p.rows + 7) / 8), kWarpRowThreads, 0, p.stream>>>(k);
    } else {
      const int64_t threads = ((p.cols + 8 * kVecWords - 1) / (8 * kVecWords) + 31) / 32 * 32;
      quantize_rows_vec_kernel<false><<<unsigned(p.rows), unsigned(threads), 0, p.stream>>>(k);
    }
    LOWBIT_CUDA_LAUNCHED("quantize_rows_vec_kernel");
    return;
  }
  if (k.groups == 1 && p.rows >= 1024 && p.cols % 2 == 0 && k.ldx % 2 == 0 &&
      aligned(p.x, pair_bytes) && aligned(p.out_f32, 8)) {
    const unsigned grid = unsigned((p.rows + 7) / 8);
    auto launch = [&](auto in_c) {
      constexpr RowInput IN = decltype(in_c)::value;
      if (p.cols <= 64 * 4)
        quantize_rows_warp_kernel<IN, 4><<<grid, kWarpRowThreads, 0, p.stream>>>(k);
      else if (p.cols <= 64 * 16)
        quantize_rows_warp_kernel<IN, 16><<<grid, kWarpRowThreads, 0, p.stream>>>(k);
      else
        quantize_rows_warp_kernel<IN, 0><<<grid, kWarpRowThreads, 0, p.stream>>>(k);
    };
    if (p.in_type == RowInput::F32)
      launch(std::integral_constant<RowInput, RowInput::F32>{});
    else
      launch(std::integral_constant<RowInput, RowInput::F16>{});
    LOWBIT_CUDA_LAUNCHED("quantize_rows_warp_kernel");
    return;
  }
  const int64_t blocks = p.rows * k.groups;
  if (blocks > std::numeric_limits<int>::max()) fail("quantize_rows_cuda: too many groups");
  if (p.in_type == RowInput::F32)
    quantize_rows_kernel<RowInput::F32><<<unsigned(blocks), kThreads, 0, p.stream>>>(k);
  else
    quantize_rows_kernel<RowInput::F16><<<unsigned(blocks), kThreads, 0, p.stream>>>(k);
  LOWBIT_CUDA_LAUNCHED("quantize_rows_kernel");
}

void check_quantize_status(unsigned long long v, const QuantScheme& s, const std::string& name) {
  if (v == ~0ull) return;
  const int64_t row = int64_t(v >> 32), col = int64_t(v & 0x7FFFFFFFull);
  if (v & 0x80000000ull)
    fail(name, ": row ", row, ", group at column ", col,
         ": max - min overflows float32 (cannot quantize with ", name_of(s),
         "; a clip value would bound it)");
  fail(name, ": row ", row, " has a non-finite value at column ", col, " (cannot quantize with ",
       name_of(s), ")");
}

}  // namespace lowbit::cuda
