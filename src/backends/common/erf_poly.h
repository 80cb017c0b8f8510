// erf(x) = x · P(x² / 8 - 1) on |x| <= 4, clamped beyond (erf rounds to ±1 in float32 there): a
// degree-16 polynomial (bench/lab/fit_erf.py) with max abs error 1.8e-7 in float32, about 3 ulp
// of 1.0. The GELU (erf) of every backend evaluates it: the CPU in vectorised loops
// (cpu_ops.cc), the GPU GEMM epilogues and producers (gemm_epilogue.cuh), where it takes about
// half the instructions of CUDA's erff and has no divergent branch. Coefficients highest degree
// first, for Horner's rule.
#pragma once

// As a list, so that device code can make its own copy (a host constexpr array is not visible to
// device code).
#define LOWBIT_ERF_POLY_COEFS                                                                   \
  5.964250767e-04f, -1.372815090e-03f, 6.166107043e-04f, -1.076942106e-03f, 5.577363697e-03f,   \
      -1.008590697e-02f, 1.390814620e-02f, -2.166253226e-02f, 3.321700110e-02f,                 \
      -4.601432136e-02f, 5.985599358e-02f, -7.468753070e-02f, 9.021204267e-02f,                 \
      -1.077133612e-01f, 1.316750015e-01f, -1.765761719e-01f, 3.535309964e-01f

namespace lowbit::erf_poly {

inline constexpr int kDegree = 16;
inline constexpr float kCoef[kDegree + 1] = {LOWBIT_ERF_POLY_COEFS};
inline constexpr float kClamp = 4.0f;  // |x| beyond: erf(x) = ±1 in float32

}  // namespace lowbit::erf_poly
