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

// GELU (erf), as cpu::bias_act_f32 writes it: 0.5f * v * (1.0f + erf(v * float(M_SQRT1_2))).
// (CUDA's erff: the CPU's degree-16 polynomial, tried here, made the FP16 q3 GEMM of BERT-large
// 128x384 8% slower on the H200.)
__device__ __forceinline__ float gelu_erf(float v) {
  const float e = erff(__fmul_rn(v, 0.70710678118654752440f));
  return __fmul_rn(__fmul_rn(0.5f, v), __fadd_rn(1.0f, e));
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
