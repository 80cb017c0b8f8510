#!/usr/bin/env python3
"""Fits the GPU GELU's erfc (src/backends/cuda/gemm/gemm_epilogue.cuh, gelu_erf):
erfc(u) = 2^P(u) for u = |x| / sqrt(2) in [0, U], U = 3.92 (erfc(U) = 3.4e-8, under half an ulp
of 1.0 in float32; beyond it the kernel takes erfc = 0), P of degree 9. GELU(x) is then
0.5 x (2 - erfc(u)) for x >= 0 and 0.5 x erfc(u) for x < 0: a clamp, 9 FMAs and one ex2 on the
special-function unit, against about 25 instructions of CUDA's erff.
The fit is least squares weighted by erfc (an error in P costs erfc(u) ln 2 in erfc), reweighted
towards equal ripple (Lawson). Prints the coefficients (highest degree first, for Horner) and the
float32 evaluation's maximum absolute error of erfc against math.erfc, with 2^P rounded exactly
(the device's ex2.approx adds up to ~2 ulp of its result)."""
from math import erfc, log2

import numpy as np

DEG, U = 9, 3.92
u = np.linspace(0.0, U, 40001)
f = np.array([log2(erfc(v)) for v in u])
ref = np.array([erfc(v) for v in u])
V = np.vander(u, DEG + 1, increasing=True)
w = ref.copy()
for _ in range(80):
    c, *_ = np.linalg.lstsq(V * w[:, None], f * w, rcond=None)
    err = np.abs(2.0 ** (V @ c) - ref)
    w = w * (1.0 + err / err.max())
cf = c.astype(np.float32)
uf = u.astype(np.float32)
acc = np.full_like(uf, cf[-1])
for k in range(DEG - 1, -1, -1):
    acc = (acc * uf + cf[k]).astype(np.float32)
e32 = np.max(np.abs(np.exp2(acc.astype(np.float64)).astype(np.float32) - ref))
print(",\n".join("    %.9ef" % a for a in cf[::-1]))
print(f"max abs error of erfc (float32 Horner, 0 <= u <= {U}): {e32:.2e}")
