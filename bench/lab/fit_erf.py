#!/usr/bin/env python3
"""Fits the erf approximation used by the CPU GELU (src/backends/cpu/cpu_ops.cc):
erf(x) = x * P(x^2 / 8 - 1) for |x| <= 4 (|erf| rounds to 1 in float32 beyond), P a degree-16
polynomial from a least-squares Chebyshev fit of erf(sqrt(u)) / sqrt(u) on u in [0, 16].
Prints the coefficients (highest degree first, for Horner) and the float32 evaluation's maximum
absolute error against math.erf (measured: 1.8e-7, about 3 ulp of 1.0)."""
from math import erf, sqrt

import numpy as np
from numpy.polynomial import chebyshev as C

DEG, U = 16, 16.0
u = (np.cos(np.pi * (np.arange(4000) + 0.5) / 4000) + 1) * U / 2
g = np.array([erf(sqrt(v)) / sqrt(v) for v in u])
coef = C.cheb2poly(C.chebfit(u / U * 2 - 1, g, DEG))[::-1]
xs = np.linspace(-4, 4, 200001).astype(np.float32)
t = (xs * xs / np.float32(8) - np.float32(1)).astype(np.float32)
acc = np.zeros_like(xs)
for a in coef:
    acc = (acc * t + np.float32(a)).astype(np.float32)
err = np.max(np.abs((xs * acc).astype(np.float32) - np.array([erf(float(v)) for v in xs])))
print(",\n".join("    %.9ef" % a for a in coef))
print(f"max abs error (float32 Horner, |x| <= 4): {err:.2e}")
