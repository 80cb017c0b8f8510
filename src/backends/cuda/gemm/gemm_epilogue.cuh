// The float epilogue shared by the integer / FP8 GEMM kernels (mma.sync and wgmma), per
// docs/quantization.md and in the CPU reference's order, one float32 operation at a time (no FMA
// contraction: __fmul_rn / __fadd_rn):
//   y = sx[m] · t;  y = y + zx[m] · zcorr[n];  y = y + bias[n];  y = gelu(y);  y = y + residual
// where t = Σ_g sw[n, g] · acc_g is computed by the caller. P is a kernel parameter block (derived
// from EpilogueArgs, gemm_epilogue_args.h).
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::gemm {

// GELU (erf): 0.5f * v * (1.0f + erf(v * float(M_SQRT1_2))), as cpu::bias_act_f32 writes it, with
// 1 + erf(a) = 2 - erfc(|a|) for v >= 0 and erfc(|a|) for v < 0, and erfc(u) = 2^P(u) on
// u <= 3.92 (0 beyond: under half an ulp of 1), P of degree 9 (bench/lab/fit_gelu_erfc.py: max
// abs error of erfc 7.4e-8 in float32, plus ex2.approx's ~2 ulp; the CPU's erf polynomial:
// 1.8e-7). 15 instructions where CUDA's erff took ~27: in the q3 GEMM of BERT the GELU
// epilogue, not the tensor cores, set the pace (issue-bound).
__device__ __forceinline__ float gelu_erf(float v) {
  const float a = __fmul_rn(v, 0.70710678118654752440f);
  const float u = fminf(fabsf(a), 3.92f);
  float p = 1.146797604e-05f;
  p = __fmaf_rn(p, u, -1.515582117e-04f);
  p = __fmaf_rn(p, u, 8.423133986e-04f);
  p = __fmaf_rn(p, u, -2.261535730e-03f);
  p = __fmaf_rn(p, u, 6.771049084e-05f);
  p = __fmaf_rn(p, u, 2.773738280e-02f);
  p = __fmaf_rn(p, u, -1.483134329e-01f);
  p = __fmaf_rn(p, u, -9.184416533e-01f);
  p = __fmaf_rn(p, u, -1.627907395e+00f);
  p = __fmaf_rn(p, u, 3.106133795e-09f);
  float erfc_u;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(erfc_u) : "f"(p));
  if (!(fabsf(a) < 3.92f)) erfc_u = 0.0f;  // also NaN: 0.5 · NaN · 0 stays NaN
  const float one_plus_erf = v >= 0.0f ? __fsub_rn(2.0f, erfc_u) : erfc_u;
  return __fmul_rn(__fmul_rn(0.5f, v), one_plus_erf);
}

// Outputs [m, n .. n + 3] from t[0..3] (F32 or F16 output; n a multiple of 4), given the
// token's scale and zero (sxm, zxm; zxm used only when p.zx) and pointers to zcorr[n] and
// bias[n] (global or shared memory; bias may be null).
template <class P>
__device__ __forceinline__ void epilogue_store4(const P& p, int m, int n, const float (&t)[4],
                                                float sxm, float zxm, const float* zc,
                                                const float* bias) {
  float y[4];
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    float x = __fmul_rn(sxm, t[e]);
    if (p.zx) x = __fadd_rn(x, __fmul_rn(zxm, zc[e]));
    if (bias) x = __fadd_rn(x, bias[e]);
    if (p.gelu) x = gelu_erf(x);
    y[e] = x;
  }
  if (p.out_type == GemmOut::F32) {
    if (p.residual) {
      const float4 rv = *reinterpret_cast<const float4*>(static_cast<const float*>(p.residual) +
                                                         int64_t(m) * p.ldr + n);
      y[0] = __fadd_rn(y[0], rv.x);
      y[1] = __fadd_rn(y[1], rv.y);
      y[2] = __fadd_rn(y[2], rv.z);
      y[3] = __fadd_rn(y[3], rv.w);
    }
    *reinterpret_cast<float4*>(static_cast<float*>(p.out) + int64_t(m) * p.ldo + n) =
        make_float4(y[0], y[1], y[2], y[3]);
  } else {
    if (p.residual) {
      const uint2 rv = *reinterpret_cast<const uint2*>(static_cast<const __half*>(p.residual) +
                                                       int64_t(m) * p.ldr + n);
      const float2 r01 = __half22float2(*reinterpret_cast<const __half2*>(&rv.x));
      const float2 r23 = __half22float2(*reinterpret_cast<const __half2*>(&rv.y));
      y[0] = __fadd_rn(y[0], r01.x);
      y[1] = __fadd_rn(y[1], r01.y);
      y[2] = __fadd_rn(y[2], r23.x);
      y[3] = __fadd_rn(y[3], r23.y);
    }
    const __half2 o01 = __floats2half2_rn(y[0], y[1]), o23 = __floats2half2_rn(y[2], y[3]);
    uint2 o;
    o.x = *reinterpret_cast<const uint32_t*>(&o01);
    o.y = *reinterpret_cast<const uint32_t*>(&o23);
    *reinterpret_cast<uint2*>(static_cast<__half*>(p.out) + int64_t(m) * p.ldo + n) = o;
  }
}

// The same with the scales read from the parameter block's global arrays.
template <class P>
__device__ __forceinline__ void epilogue_store4(const P& p, int m, int n, const float (&t)[4]) {
  const float sxm = __ldg(p.sx + m);
  const float zxm = p.zx ? __ldg(p.zx + m) : 0.0f;
  epilogue_store4(p, m, n, t, sxm, zxm, p.zx ? p.zcorr + n : nullptr,
                  p.bias ? p.bias + n : nullptr);
}

}  // namespace lowbit::cuda::gemm
