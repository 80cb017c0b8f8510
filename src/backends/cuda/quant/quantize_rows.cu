// GPU row quantization (quantize_rows.h): one CTA of 128 threads per (row, group); pass 1
// reduces the group's range (and finds non-finite values), pass 2 writes the codes. Every
// quantizer step is the contract's float32 operation with round-to-nearest-even (__fdiv_rn,
// __fsub_rn, __fmul_rn, __fadd_rn, rintf), in the CPU reference's order, so the codes, scales
// and zeros are bit-exact with lowbit::quantize_rows. (Built without fast math: subnormals kept.)
#include "backends/cuda/quant/quantize_rows.h"

#include <cuda_fp16.h>

#include <limits>
#include <sstream>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "core/error.h"

namespace lowbit::cuda {

namespace {

constexpr int kThreads = 128;
constexpr float kE4M3Max = 448.0f;

// Status word: (row << 32) | (kind << 31) | col, kind 0 = non-finite element at col, 1 = the
// asymmetric range of the group starting at col overflows. The smallest word wins (atomicMin):
// the first failing row, and in it a non-finite value before a range overflow, as the CPU
// reports (cols < 2^30).
__device__ __forceinline__ unsigned long long status_word(int64_t row, int64_t col, int kind) {
  return (static_cast<unsigned long long>(row) << 32) |
         (static_cast<unsigned long long>(kind) << 31) | static_cast<unsigned long long>(col);
}

struct KParams {
  const void* x;
  int64_t rows, cols, ldx;
  int64_t g_len, groups;
  uint8_t* codes;
  int64_t row_bytes;
  float* scales;
  float* zeros;
  unsigned long long* status;
  int kind;  // 0 int symmetric, 1 int asymmetric, 2 fp8
  int qmin, qmax;
  bool nibbles;
  bool has_clip;
  float clip;
};

template <RowInput IN>
__device__ __forceinline__ float load_x(const KParams& p, int64_t r, int64_t c) {
  if constexpr (IN == RowInput::F32)
    return static_cast<const float*>(p.x)[r * p.ldx + c];
  else
    return __half2float(static_cast<const __half*>(p.x)[r * p.ldx + c]);
}

__device__ __forceinline__ float clip_to(const KParams& p, float v) {
  return p.has_clip ? fminf(fmaxf(v, -p.clip), p.clip) : v;
}

// lowbit::e4m3_encode (src/quant/fp8.cc), the same bit operations on the device.
__device__ __forceinline__ uint8_t e4m3_encode_dev(float v) {
  const uint32_t bits = __float_as_uint(v);
  const uint8_t sign = uint8_t((bits >> 24) & 0x80);
  const uint32_t mag = bits & 0x7FFFFFFFu;
  if (mag > 0x7F800000u) return 0x7F;
  if (mag >= __float_as_uint(kE4M3Max)) return sign | 0x7E;
  const float a = __uint_as_float(mag);
  if (a < 0.015625f) return sign | uint8_t(rintf(__fmul_rn(a, 512.0f)));
  const uint32_t rounded = (mag + 0x7FFFFu + ((mag >> 20) & 1u)) >> 20;
  return sign | uint8_t(rounded - ((127u - 7u) << 3));
}

// Block-wide reduction of (a, b) with op; every thread gets the result.
template <class Op>
__device__ __forceinline__ void block_reduce2(float& a, float& b, Op op, float* sm) {
  for (int o = 16; o > 0; o >>= 1) {
    a = op(a, __shfl_xor_sync(0xFFFFFFFFu, a, o));
    b = op(b, __shfl_xor_sync(0xFFFFFFFFu, b, o));
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // sm may still be read by a previous reduction
  if (lane == 0) {
    sm[warp] = a;
    sm[4 + warp] = b;
  }
  __syncthreads();
  a = op(op(sm[0], sm[1]), op(sm[2], sm[3]));
  b = op(op(sm[4], sm[5]), op(sm[6], sm[7]));
}

// The code of v as an integer-valued float (symmetric: qmin..qmax; asymmetric: 0..qmax).
__device__ __forceinline__ int int_code(const KParams& p, float v, float scale, float zp) {
  const float q = rintf(__fdiv_rn(clip_to(p, v), scale));
  if (p.kind == 0) return int(fminf(fmaxf(q, float(p.qmin)), float(p.qmax)));
  return int(fminf(fmaxf(__fadd_rn(q, zp), 0.0f), float(p.qmax)));
}

template <RowInput IN>
__global__ void __launch_bounds__(kThreads)
    quantize_rows_kernel(const __grid_constant__ KParams p) {
  __shared__ float sm[8];
  __shared__ int bad;
  const int64_t r = blockIdx.x / p.groups, g = blockIdx.x % p.groups;
  const int64_t c0 = g * p.g_len, c1 = c0 + p.g_len;
  const int tid = int(threadIdx.x);
  if (tid == 0) bad = 0;
  __syncthreads();

  // Pass 1: non-finite check on the raw input, then the clipped range.
  float mx = 0.0f, lo = INFINITY, hi = -INFINITY;
  for (int64_t c = c0 + tid; c < c1; c += kThreads) {
    const float v = load_x<IN>(p, r, c);
    if (!isfinite(v)) {
      atomicMin(p.status, status_word(r, c, 0));
      bad = 1;
    }
    const float cv = clip_to(p, v);
    mx = fmaxf(mx, fabsf(cv));
    lo = fminf(lo, cv);
    hi = fmaxf(hi, cv);
  }
  float scale, zp = 0.0f;
  if (p.kind != 1) {
    float unused = 0.0f;
    block_reduce2(
        mx, unused, [](float a, float b) { return fmaxf(a, b); }, sm);
    if (bad) return;
    scale = __fdiv_rn(mx, p.kind == 2 ? kE4M3Max : float(p.qmax));
    if (scale == 0.0f) scale = 1.0f;
  } else {
    float nlo = -lo;  // min via max of negations: one reduction operator
    block_reduce2(
        nlo, hi, [](float a, float b) { return fmaxf(a, b); }, sm);
    if (bad) return;
    lo = fminf(-nlo, 0.0f);
    hi = fmaxf(hi, 0.0f);
    const float range = __fsub_rn(hi, lo);
    if (isinf(range)) {
      if (tid == 0) atomicMin(p.status, status_word(r, c0, 1));
      return;
    }
    scale = __fdiv_rn(range, float(p.qmax));
    if (scale == 0.0f) scale = 1.0f;
    zp = fminf(fmaxf(rintf(__fdiv_rn(-lo, scale)), 0.0f), float(p.qmax));
  }
  if (tid == 0) {
    p.scales[r * p.groups + g] = scale;
    if (p.kind == 1) p.zeros[r * p.groups + g] = zp == 0.0f ? 0.0f : -__fmul_rn(zp, scale);
  }

  // Pass 2: codes.
  uint8_t* row = p.codes + r * p.row_bytes;
  if (p.kind == 2) {
    for (int64_t c = c0 + tid; c < c1; c += kThreads)
      row[c] = e4m3_encode_dev(__fdiv_rn(clip_to(p, load_x<IN>(p, r, c)), scale));
  } else if (!p.nibbles) {
    for (int64_t c = c0 + tid; c < c1; c += kThreads)
      row[c] = uint8_t(int_code(p, load_x<IN>(p, r, c), scale, zp));
  } else {
    // Two codes a byte, the lower k in the low nibble (g_len is even).
    for (int64_t c = c0 + 2 * tid; c < c1; c += 2 * kThreads) {
      const int q0 = int_code(p, load_x<IN>(p, r, c), scale, zp);
      const int q1 = int_code(p, load_x<IN>(p, r, c + 1), scale, zp);
      row[c >> 1] = uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
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

std::string can_quantize_rows(const QuantizeRowsParams& p) {
  std::ostringstream e;
  const QuantScheme& s = p.scheme;
  if (!(s.kind == QuantKind::Fp8E4M3 || (s.bits >= 2 && s.bits <= 8))) {
    e << "quantize_rows_cuda: scheme " << name_of(s) << " is not supported";
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
  return "";
}

void quantize_rows_cuda(const QuantizeRowsParams& p) {
  const std::string msg = can_quantize_rows(p);
  if (!msg.empty()) fail(msg);
  const QuantScheme& s = p.scheme;
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
  k.kind = s.kind == QuantKind::Fp8E4M3 ? 2 : s.symmetric ? 0 : 1;
  k.qmin = s.qmin();
  k.qmax = s.qmax();
  k.nibbles = nibbles_of(s);
  k.has_clip = s.clip.has_value();
  k.clip = s.clip.value_or(0.0f);
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
