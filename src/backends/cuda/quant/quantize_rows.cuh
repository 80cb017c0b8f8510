// Device code of the quantization contract (docs/quantization.md), shared by the row quantizer
// (quantize_rows.cu) and the producer kernels that quantize their own outputs (LayerNorm,
// bias + GELU). Every step is the contract's float32 operation with round-to-nearest-even
// (__fdiv_rn, __fsub_rn, __fmul_rn, __fadd_rn, rintf) in the CPU reference's order, so results
// are bit-exact with lowbit::quantize_rows. Build without fast math (subnormals are kept).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace lowbit::cuda::quant {

constexpr float kE4M3Max = 448.0f;

// A scheme as the kernels see it (quantize_rows.cu: row_quant_of).
struct RowQuant {
  int kind;  // 0 int symmetric, 1 int asymmetric, 2 fp8
  int qmin, qmax;
  bool nibbles;  // 4-bit packed codes, the lower k in the low nibble
  bool has_clip;
  float clip;
};

// Status word: (row << 32) | (kind << 31) | col, kind 0 = non-finite element at col, 1 = the
// asymmetric range of the group starting at col overflows. The smallest word wins (atomicMin):
// the first failing row, and in it a non-finite value before a range overflow, as the CPU
// reports (cols < 2^30).
__device__ __forceinline__ unsigned long long status_word(int64_t row, int64_t col, int kind) {
  return (static_cast<unsigned long long>(row) << 32) |
         (static_cast<unsigned long long>(kind) << 31) | static_cast<unsigned long long>(col);
}

__device__ __forceinline__ float clip_to(const RowQuant& q, float v) {
  return q.has_clip ? fminf(fmaxf(v, -q.clip), q.clip) : v;
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

// Block-wide max of (a, b) over THREADS threads (a multiple of 32, at most 1024); every thread
// gets the result. sm: 2 * THREADS / 32 floats.
template <int THREADS>
__device__ __forceinline__ void block_max2(float& a, float& b, float* sm) {
  constexpr int W = THREADS / 32;
  for (int o = 16; o > 0; o >>= 1) {
    a = fmaxf(a, __shfl_xor_sync(0xFFFFFFFFu, a, o));
    b = fmaxf(b, __shfl_xor_sync(0xFFFFFFFFu, b, o));
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // sm may still be read by a previous reduction
  if (lane == 0) {
    sm[warp] = a;
    sm[W + warp] = b;
  }
  __syncthreads();
  a = sm[0];
  b = sm[W];
#pragma unroll
  for (int w = 1; w < W; ++w) {
    a = fmaxf(a, sm[w]);
    b = fmaxf(b, sm[W + w]);
  }
}

// Scale (and zero point) of a group from its reduced range: mx = max |clipped x|; lo, hi =
// min / max of the clipped x. Returns false when the asymmetric range overflows float32.
__device__ __forceinline__ bool group_scale(const RowQuant& q, float mx, float lo, float hi,
                                            float* scale, float* zp) {
  *zp = 0.0f;
  if (q.kind != 1) {
    float s = __fdiv_rn(mx, q.kind == 2 ? kE4M3Max : float(q.qmax));
    *scale = s == 0.0f ? 1.0f : s;
    return true;
  }
  lo = fminf(lo, 0.0f);
  hi = fmaxf(hi, 0.0f);
  const float range = __fsub_rn(hi, lo);
  if (isinf(range)) return false;
  float s = __fdiv_rn(range, float(q.qmax));
  if (s == 0.0f) s = 1.0f;
  *scale = s;
  *zp = fminf(fmaxf(rintf(__fdiv_rn(-lo, s)), 0.0f), float(q.qmax));
  return true;
}

// zero = -(zp · scale), +0.0 when zp = 0.
__device__ __forceinline__ float zero_of(float zp, float scale) {
  return zp == 0.0f ? 0.0f : -__fmul_rn(zp, scale);
}

// After pass 1 (each thread's mx = max |clipped x|, nlo = max -x, hi = max x over its elements):
// the block-wide range, then the group's scale and zero point, which thread 0 stores at
// scales[idx] / zeros[idx]. Returns false when the group is not quantized: `bad` (shared, set in
// pass 1 on a non-finite value) or an asymmetric range overflow, recorded in *status for the group
// at (row, c0).
template <int THREADS>
__device__ __forceinline__ bool block_group_scale(const RowQuant& q, float mx, float nlo, float hi,
                                                  const int& bad, float* sm,
                                                  unsigned long long* status, int64_t row,
                                                  int64_t c0, float* scales, float* zeros,
                                                  int64_t idx, float* scale, float* zp) {
  if (q.kind == 1) {
    block_max2<THREADS>(nlo, hi, sm);
  } else {
    float unused = 0.0f;
    block_max2<THREADS>(mx, unused, sm);
  }
  if (bad) return false;
  if (!group_scale(q, mx, -nlo, hi, scale, zp)) {
    if (threadIdx.x == 0) atomicMin(status, status_word(row, c0, 1));
    return false;
  }
  if (threadIdx.x == 0) {
    scales[idx] = *scale;
    if (q.kind == 1) zeros[idx] = zero_of(*zp, *scale);
  }
  return true;
}

// Pass 1 for the pair (x.x, x.y) at columns c, c + 1 of row `row`: a non-finite value is
// recorded in *status (returns true); the clipped values extend the range (mx = max |x|,
// nlo = max -x, hi = max x).
__device__ __forceinline__ bool range_pair(const RowQuant& q, float2 x, unsigned long long* status,
                                           int64_t row, int64_t c, float& mx, float& nlo,
                                           float& hi) {
  bool non_finite = false;
  if (!isfinite(x.x) || !isfinite(x.y)) {
    atomicMin(status, status_word(row, isfinite(x.x) ? c + 1 : c, 0));
    non_finite = true;
  }
  const float c0 = clip_to(q, x.x), c1 = clip_to(q, x.y);
  mx = fmaxf(mx, fmaxf(fabsf(c0), fabsf(c1)));
  nlo = fmaxf(nlo, fmaxf(-c0, -c1));
  hi = fmaxf(hi, fmaxf(c0, c1));
  return non_finite;
}

// One row per warp (the fast producers): the warp-wide range of pass 1, then the row's scale and
// zero point, which lane 0 stores at scales[row] / zeros[row]. `bad`: this lane saw a non-finite
// value (already recorded in *status). Returns false when the row is not quantized.
__device__ __forceinline__ bool warp_row_scale(const RowQuant& q, float mx, float nlo, float hi,
                                               bool bad, unsigned long long* status, int64_t row,
                                               float* scales, float* zeros, float* scale,
                                               float* zp) {
  for (int o = 16; o > 0; o >>= 1) {
    mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, o));
    nlo = fmaxf(nlo, __shfl_xor_sync(0xFFFFFFFFu, nlo, o));
    hi = fmaxf(hi, __shfl_xor_sync(0xFFFFFFFFu, hi, o));
  }
  if (__any_sync(0xFFFFFFFFu, bad)) return false;
  const bool lead = (threadIdx.x % 32) == 0;
  if (!group_scale(q, mx, -nlo, hi, scale, zp)) {
    if (lead) atomicMin(status, status_word(row, 0, 1));
    return false;
  }
  if (lead) {
    scales[row] = *scale;
    if (q.kind == 1) zeros[row] = zero_of(*zp, *scale);
  }
  return true;
}

// The integer code of v (symmetric: qmin..qmax; asymmetric: 0..qmax).
// rne(v / scale), the contract's rounding of the IEEE quotient, mostly without the division:
// t = v · inv (inv = 1 / scale rounded, normal) is within (2^-23 + 2^-48) |v / scale| of the exact
// quotient, so when t lies further than 2^-21 |t| from every half-integer, the exact quotient and
// its correctly rounded float lie on t's side of it and round to the same integer. Otherwise (or
// when inv is not a normal float) the division decides. Bit-exact either way.
__device__ __forceinline__ float rint_quotient(float v, float scale, float inv) {
  const float t = __fmul_rn(v, inv);
  const float k = rintf(t);
  const float margin = __fsub_rn(0.5f, fabsf(__fsub_rn(t, k)));  // distance to a half-integer
  if (inv > 0x1p-125f && inv < 0x1p+127f && margin > __fmaf_rn(0x1p-21f, fabsf(t), 0x1p-140f))
    return k;
  return rintf(__fdiv_rn(v, scale));
}

// `inv`: __frcp_rn(scale) (see rint_quotient).
__device__ __forceinline__ int int_code(const RowQuant& q, float v, float scale, float zp,
                                        float inv) {
  const float c = rint_quotient(clip_to(q, v), scale, inv);
  if (q.kind == 0) return int(fminf(fmaxf(c, float(q.qmin)), float(q.qmax)));
  return int(fminf(fmaxf(__fadd_rn(c, zp), 0.0f), float(q.qmax)));
}

// The byte(s) for the pair of elements (v0, v1) at even column c: one byte per element, or one
// byte of two nibbles. FP8: e4m3 of v / scale.
__device__ __forceinline__ void store_pair(const RowQuant& q, uint8_t* row, int64_t c, float v0,
                                           float v1, float scale, float zp, float inv) {
  if (q.kind == 2) {
    row[c] = e4m3_encode_dev(__fdiv_rn(clip_to(q, v0), scale));
    row[c + 1] = e4m3_encode_dev(__fdiv_rn(clip_to(q, v1), scale));
  } else if (q.nibbles) {
    row[c >> 1] = uint8_t((int_code(q, v0, scale, zp, inv) & 0xF) |
                          ((int_code(q, v1, scale, zp, inv) & 0xF) << 4));
  } else {
    // One 16-bit store for the pair (c is even).
    const uint32_t b0 = uint8_t(int_code(q, v0, scale, zp, inv)),
                   b1 = uint8_t(int_code(q, v1, scale, zp, inv));
    *reinterpret_cast<uint16_t*>(row + c) = uint16_t(b0 | (b1 << 8));
  }
}

// ---- Eight elements at a time (the bandwidth producers: 16-byte loads, 8- or 4-byte stores). ----

// Pass 1 over eight values: amax = max of the bit patterns of |v| (for non-negative floats the
// integer order is the float order, and any non-finite value lands at or above 0x7F800000, so
// one integer max both finds max |v| and flags Inf / NaN); lo / hi = min / max of v (unclipped:
// clipping is monotone, so the range is clipped once after the reduction).
__device__ __forceinline__ void range8(const float (&v)[8], bool asym, uint32_t& amax, float& lo,
                                       float& hi) {
#pragma unroll
  for (int j = 0; j < 8; ++j) amax = max(amax, __float_as_uint(fabsf(v[j])));
  if (asym) {
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      lo = fminf(lo, v[j]);
      hi = fmaxf(hi, v[j]);
    }
  }
}

// One row per warp after range8 over the lane's values: the warp-wide range, then the row's scale
// and zero point (lane 0 stores them). Returns 0 when the row is quantized, 1 when it holds a
// non-finite value (not yet recorded: the caller reports its first column with
// report_nonfinite8), 2 on an asymmetric range overflow (recorded in *status).
// `lead`: the thread that stores (lane 0 of the row's warp by default).
__device__ __forceinline__ int warp_row_scale8(const RowQuant& q, uint32_t amax, float lo,
                                               float hi, unsigned long long* status, int64_t row,
                                               float* scales, float* zeros, float* scale,
                                               float* zp, bool lead) {
  for (int o = 16; o > 0; o >>= 1) {
    amax = max(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, o));
    lo = fminf(lo, __shfl_xor_sync(0xFFFFFFFFu, lo, o));
    hi = fmaxf(hi, __shfl_xor_sync(0xFFFFFFFFu, hi, o));
  }
  if (amax >= 0x7F800000u) return 1;
  // max |clip(v)| = min(max |v|, clip); clip(min v) = min clip(v), and likewise for the max.
  const float mx = clip_to(q, __uint_as_float(amax));
  if (!group_scale(q, mx, clip_to(q, lo), clip_to(q, hi), scale, zp)) {
    if (lead) atomicMin(status, status_word(row, 0, 1));
    return 2;
  }
  if (lead) {
    scales[row] = *scale;
    if (q.kind == 1) zeros[row] = zero_of(*zp, *scale);
  }
  return 0;
}

// Records the first non-finite column among a lane's eight values at columns c..c+7 (the lanes'
// atomicMin keeps the row's first).
__device__ __forceinline__ bool report_nonfinite8(const float (&v)[8], unsigned long long* status,
                                                  int64_t row, int64_t c) {
#pragma unroll
  for (int j = 0; j < 8; ++j)
    if (!isfinite(v[j])) {
      atomicMin(status, status_word(row, c + j, 0));
      return true;
    }
  return false;
}

// Integer codes of eight values, bit-exact with int_code, for the bandwidth producers: the
// contract's rne(v / scale) by rint_quotient's argument, with the rounding done by adding
// 1.5 · 2^23 (a float in [2^23, 2^24) has ulp 1, so the sum holds rne(t) in its low mantissa
// bits: two full-rate float adds instead of the conversion unit's FRND and F2I), the integer
// clamp, and the test folded into one conservative fma: rne(t) is taken when
// fma(2^-21, |t|, |t - rne(t)|) <= 0.5 - 2^-16, which (the fma rounding up by at most 2^-24 of
// its value) implies rint_quotient's margin > 2^-21 |t| + 2^-140 and |t| < 2^20. A NaN or an
// out-of-range t fails the test. When any of the eight fails, or inv is not a normal float, all
// eight take int_code (rolled, off the common path: a value within ~2^-16 of a half-integer
// quotient, about one group in 4,000).
__device__ __forceinline__ void int_codes8(const RowQuant& q, const float (&v)[8], float scale,
                                           float zp, float inv, int (&code)[8]) {
  constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23
  const int lo = q.kind == 0 ? q.qmin : 0;
  const int zpi = q.kind == 0 ? 0 : int(zp);  // zp: an integer in [0, qmax]
  bool ok = inv > 0x1p-125f && inv < 0x1p+127f;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const float t = __fmul_rn(clip_to(q, v[j]), inv);
    const float k = __fadd_rn(t, kMagic);
    const float d = __fsub_rn(t, __fsub_rn(k, kMagic));
    ok &= __fmaf_rn(0x1p-21f, fabsf(t), fabsf(d)) <= 0.4999847412109375f;  // 0.5 - 2^-16
    code[j] = min(max(__float_as_int(k) - __float_as_int(kMagic) + zpi, lo), q.qmax);
  }
  if (!__builtin_expect(ok, 1)) {
#pragma unroll 1
    for (int j = 0; j < 8; ++j) code[j] = int_code(q, v[j], scale, zp, inv);
  }
}

// The codes of eight values at column c (a multiple of 8) of `row`: 8 bytes, or 4 bytes of
// nibbles, in one store.
__device__ __forceinline__ void store8(const RowQuant& q, uint8_t* row, int64_t c,
                                       const float (&v)[8], float scale, float zp, float inv) {
  if (q.kind == 2) {
    uint32_t w[2] = {0, 0};
#pragma unroll
    for (int j = 0; j < 8; ++j)
      w[j / 4] |= uint32_t(e4m3_encode_dev(__fdiv_rn(clip_to(q, v[j]), scale))) << (8 * (j % 4));
    *reinterpret_cast<uint2*>(row + c) = make_uint2(w[0], w[1]);
    return;
  }
  if (q.nibbles) {
    // 4-bit codes keep the per-element int_code: on the H200 the eight-at-a-time path below made
    // BERT-base W4A4 2-5 % slower end to end (32 x 128, 128 x 128), while it is even for W8A8 at
    // full clocks and 24-33 % faster per producer kernel when the SM clock is the limit (ncu).
    uint32_t w = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) w |= uint32_t(int_code(q, v[j], scale, zp, inv) & 0xF) << (4 * j);
    *reinterpret_cast<uint32_t*>(row + (c >> 1)) = w;
    return;
  }
  int code[8];
  int_codes8(q, v, scale, zp, inv, code);
  // Bytes 0 and 4 of each pair of codes, then the two pairs: three byte permutes per word.
  const uint32_t w0 = __byte_perm(__byte_perm(code[0], code[1], 0x0040),
                                  __byte_perm(code[2], code[3], 0x0040), 0x5410);
  const uint32_t w1 = __byte_perm(__byte_perm(code[4], code[5], 0x0040),
                                  __byte_perm(code[6], code[7], 0x0040), 0x5410);
  *reinterpret_cast<uint2*>(row + c) = make_uint2(w0, w1);
}

// Eight halves (one 16-byte word) as floats.
__device__ __forceinline__ void unpack8(uint4 raw, float (&v)[8]) {
  const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    __half2 h;
    *reinterpret_cast<uint32_t*>(&h) = w[j];
    const float2 f = __half22float2(h);
    v[2 * j] = f.x;
    v[2 * j + 1] = f.y;
  }
}

}  // namespace lowbit::cuda::quant
