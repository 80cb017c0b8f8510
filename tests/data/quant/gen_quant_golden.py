#!/usr/bin/env python3
"""Regenerates tests/data/quant/golden.json: golden vectors for the quantization contract.

Written from docs/quantization.md alone (not from the C++): an independent NumPy implementation
of the integer (symmetric / asymmetric) and FP8 E4M3 quantizers, every step a float32 operation.
Each case is also computed in float64 and the elements whose code would differ are listed
("float64_diff"), so that the choice of float32 stays visible.

usage: python3 tests/data/quant/gen_quant_golden.py     (deterministic: rewrites the same file)
Needs only NumPy.
"""
import json
import os
import sys

import numpy as np

F32 = np.float32
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")


class QuantError(Exception):
    def __init__(self, row):
        super().__init__(f"row {row}")
        self.row = row


# ---------------------------------------------------------------------------------------------
# Schemes: "int<b>" | "uint<b>" | "fp8", then "_g<G>", "_c<c>".
def parse_scheme(s):
    parts = s.split("_")
    base = parts[0]
    sch = {"group": 0, "clip": None}
    if base == "fp8":
        sch.update(kind="fp8", bits=8, sym=True)
    elif base.startswith("uint"):
        sch.update(kind="int", bits=int(base[4:]), sym=False)
    else:
        assert base.startswith("int")
        sch.update(kind="int", bits=int(base[3:]), sym=True)
    for p in parts[1:]:
        if p[0] == "g":
            sch["group"] = int(p[1:])
        elif p[0] == "c":
            sch["clip"] = F32(p[1:])
    return sch


# ---------------------------------------------------------------------------------------------
# E4M3 by table: every non-negative finite value, found by comparing with exact midpoints.
def e4m3_value(code):
    e, m = (code >> 3) & 15, code & 7
    if e == 0:
        return m * 2.0 ** -9
    return (1 + m / 8) * 2.0 ** (e - 7)


E4M3_POS = np.array([e4m3_value(c) for c in range(0x7F)])  # codes 0x00..0x7E, ascending


def e4m3_encode(v):
    """v: a float (float32 or float64 value). Nearest E4M3, ties to even code, saturating."""
    sign = 0x80 if np.signbit(v) else 0
    a = abs(float(v))
    if a >= 448.0:
        return sign | 0x7E
    hi = int(np.searchsorted(E4M3_POS, a, side="left"))  # first table value >= a
    if E4M3_POS[hi] == a:
        return sign | hi
    lo = hi - 1
    mid = (E4M3_POS[lo] + E4M3_POS[hi]) / 2  # exact in float64 (few significant bits)
    if a < mid:
        code = lo
    elif a > mid:
        code = hi
    else:
        code = lo if lo % 2 == 0 else hi
    return sign | code


# ---------------------------------------------------------------------------------------------
def quantize_group(x, sch, wide):
    """x: float32 array (one group). Returns (codes, scale, zero) computed in float32, or in
    float64 when wide (codes only matter then)."""
    T = np.float64 if wide else F32
    x = x.astype(T)
    if sch["clip"] is not None:
        c = T(sch["clip"])
        x = np.minimum(np.maximum(x, -c), c)
    if sch["kind"] == "fp8" or sch["sym"]:
        m = T(np.max(np.abs(x)))
        denom = T(448) if sch["kind"] == "fp8" else T(2 ** (sch["bits"] - 1) - 1)
        scale = T(m / denom)
        if scale == 0:
            scale = T(1)
        v = (x / scale).astype(T)
        if sch["kind"] == "fp8":
            return [e4m3_encode(t) for t in v], scale, None
        qmax = 2 ** (sch["bits"] - 1) - 1
        q = np.clip(np.rint(v), -qmax - 1, qmax)
        return [int(t) for t in q], scale, None
    # The range always holds 0, and 0 has an integer code zp (an integer zero point), so that
    # 0.0 quantizes exactly.
    lo, hi = min(T(np.min(x)), T(0)), max(T(np.max(x)), T(0))
    rng = T(hi - lo)
    if np.isinf(rng):
        raise QuantError(-1)
    levels = 2 ** sch["bits"] - 1
    scale = T(rng / T(levels))
    if scale == 0:
        scale = T(1)
    zp = T(np.clip(np.rint(T(-lo / scale)), 0, levels))
    zero = T(0) if zp == 0 else T(-T(zp * scale))
    q = np.clip((np.rint((x / scale).astype(T)) + zp).astype(T), 0, levels)
    return [int(t) for t in q], scale, zero


def dequant(codes, scale, zero, sch):
    out = []
    for q in codes:
        if sch["kind"] == "fp8":
            d = F32(e4m3_value(q & 0x7F))
            if q & 0x80:
                d = -d
            out.append(F32(scale * d))
        elif sch["sym"]:
            out.append(F32(scale * F32(q)))
        else:
            out.append(F32(F32(scale * F32(q)) + zero))
    return out


def pack(codes, sch):
    nibble = sch["kind"] == "int" and sch["bits"] <= 4
    if not nibble:
        return bytes(q & 0xFF for q in codes)
    assert len(codes) % 2 == 0
    return bytes((codes[i] & 0xF) | ((codes[i + 1] & 0xF) << 4) for i in range(0, len(codes), 2))


def hexf(a):
    return ["%08x" % int(u) for u in np.asarray(a, dtype=F32).view(np.uint32).ravel()]


def quantize(name, scheme, x, note=""):
    x = np.asarray(x, dtype=F32)
    sch = parse_scheme(scheme)
    rows, cols = x.shape
    g = sch["group"] or cols
    assert cols % g == 0
    case = {"name": name, "scheme": scheme, "rows": rows, "cols": cols, "input": hexf(x)}
    if note:
        case["note"] = note
    codes, scales, zeros, deq, packed, diff = [], [], [], [], b"", []
    for r in range(rows):
        if not np.all(np.isfinite(x[r])):
            case["error_row"] = r
            return case
        row_codes = []
        for j in range(cols // g):
            seg = x[r, j * g:(j + 1) * g]
            try:
                q, s, z = quantize_group(seg, sch, wide=False)
            except QuantError:
                case["error_row"] = r
                return case
            try:
                q64, _, _ = quantize_group(seg, sch, wide=True)
                for i, (a, b) in enumerate(zip(q, q64)):
                    if a != b:
                        diff.append({"row": r, "col": j * g + i, "f32": a, "f64": b})
            except QuantError:
                pass
            row_codes += q
            scales.append(s)
            zeros.append(z if z is not None else F32(0))
            deq += dequant(q, s, z, sch)
        codes += row_codes
        packed += pack(row_codes, sch)
    case.update(codes=codes, packed=packed.hex(), scales=hexf(scales), dequant=hexf(deq))
    if not sch["sym"]:
        case["zeros"] = hexf(zeros)
    case["float64_diff"] = diff
    return case


# ---------------------------------------------------------------------------------------------
# Inputs.
def tie_row_exact(qmax, n):
    """Scale exactly 1 (max = qmax): x = k + 0.5 are exact float32 ties."""
    vals = [float(qmax)] + [k + 0.5 for k in range(-qmax, qmax)][: n - 1]
    vals = (vals * n)[:n]
    return vals


def find_ties(sym, bits, want, rng, wide_differs):
    """Rows whose float32 quotient lands exactly on k + 0.5 with a scale that is not exact, so
    that float64 (no rounding of the scale) may round the other way. wide_differs picks rows
    where it does."""
    levels = 2 ** (bits - 1) - 1 if sym else 2 ** bits - 1
    out = []
    tries = 0
    while len(out) < want and tries < 200000:
        tries += 1
        m = F32(rng.uniform(0.5, 4.0))
        lo = F32(0) if sym else F32(-rng.uniform(0.1, 2.0))
        scale = F32(m / F32(levels)) if sym else F32(F32(m - lo) / F32(levels))
        if sym:
            k = int(rng.integers(0, levels - 1))
        else:  # x / scale = k + 0.5 inside [lo, m)
            k = int(rng.integers(int(np.ceil(lo / scale)), int(np.floor(m / scale)) - 1))
        t = F32(k + 0.5)
        x = F32(t * scale)
        if not (lo <= x < m):
            continue
        v = F32(x / scale)
        if v != t:
            continue
        v64 = float(x) / (float(m) / levels) if sym else float(x) / (
            (float(m) - float(lo)) / levels)
        differs = np.rint(v64) != np.rint(t)
        if differs != wide_differs:
            continue
        out.append([float(m), float(x)] if sym else [float(lo), float(m), float(x), float(x)])
    return out


def cases():
    rng = np.random.default_rng(20240229)
    cs = []
    add = cs.append
    # Every bit width, both symmetries, random normal rows (cols even for nibble layouts).
    for b in range(2, 9):
        add(quantize(f"sym_b{b}_normal", f"int{b}", rng.standard_normal((3, 16))))
        add(quantize(f"asym_b{b}_normal", f"uint{b}", rng.standard_normal((3, 16)) + 0.3))
    # Exact ties with scale 1: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, ...
    add(quantize("sym_b8_ties_scale1", "int8", [tie_row_exact(127, 32)]))
    add(quantize("sym_b4_ties_scale1", "int4", [[7, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5,
                                                -0.5, -1.5, -2.5, -3.5, -4.5, -5.5, -6.5, -7]]))
    add(quantize("asym_b4_ties_scale1", "uint4", [[0, 15, 0.5, 1.5, 2.5, 3.5, 13.5, 14.5]]))
    add(quantize("asym_b8_ties_scale1", "uint8", [[-100, 155, -99.5, -98.5, 0.5, 1.5, 2.5, 154.5]]))
    # Float32 ties with inexact scales: rows [m, x] / [lo, m, x]; float64 agrees or differs.
    for sym, bits in [(True, 8), (True, 4), (False, 8), (False, 4)]:
        for differs in (False, True):
            rows = find_ties(sym, bits, 4, rng, differs)
            name = f"{'sym' if sym else 'asym'}_b{bits}_f32_ties_{'f64_differs' if differs else 'f64_agrees'}"
            add(quantize(name, f"{'int' if sym else 'uint'}{bits}", rows,
                         "x / scale is exactly k + 0.5 in float32"))
    # All-zero rows, negative zero.
    z = np.zeros((2, 8), dtype=F32)
    nz = np.full((2, 8), -0.0, dtype=F32)
    mixed = np.array([[-0.0, 0.0, 1.0, -0.0, -1.0, 0.25, -0.0, 0.0]], dtype=F32)
    for sch in ("int8", "int4", "uint8", "uint4", "fp8"):
        add(quantize(f"zeros_{sch}", sch, z))
        add(quantize(f"negzeros_{sch}", sch, nz))
        add(quantize(f"mixed_negzero_{sch}", sch, mixed))
    add(quantize("asym_negzero_min", "uint4", [[-0.0, 0.5, 1.0, 0.0, 2.0, 3.0]]))
    # Constant rows: the range [min(c, 0), max(c, 0)] holds 0; c lands on (or next to) the top code.
    add(quantize("asym_constant", "uint8", [[5.0] * 6, [-3.25] * 6]))
    add(quantize("sym_constant", "int8", [[5.0] * 6, [-3.25] * 6]))
    # Huge outliers: one value 1e4 x the rest.
    base = rng.standard_normal((2, 32)).astype(F32)
    base[0, 7] = 1e4 * abs(base[0, 7]) + 1e4
    base[1, 30] = -1e4 * abs(base[1, 30]) - 1e4
    for sch in ("int8", "int4", "uint8", "uint4", "fp8", "int8_g8", "int4_g8"):
        add(quantize(f"outlier_{sch}", sch, base))
    # Clip values (elements beyond c clamp; m and lo/hi come from clamped values).
    clipped = (rng.standard_normal((3, 16)) * 4).astype(F32)
    for sch in ("int8_c2.5", "int4_c2.5", "uint8_c3", "uint4_c1.75", "fp8_c2", "int8_g4_c6.5"):
        add(quantize(f"clip_{sch}", sch, clipped))
    # Group sizes.
    g = rng.standard_normal((3, 32)).astype(F32)
    g[1, 8:16] = 0.0
    for sch in ("int8_g16", "int4_g8", "int4_g2", "uint4_g4", "uint8_g8", "int3_g16", "int2_g8",
                "int5_g32", "fp8_g8", "int6_g1"):
        add(quantize(f"group_{sch}", sch, g))
    # FP8: random, exact ties on the E4M3 grid (scale 1 from max 448), subnormal range, and
    # values beyond 448 * scale (possible only by rounding of the scale) that saturate.
    add(quantize("fp8_normal", "fp8", rng.standard_normal((3, 16)) * 3))
    add(quantize("fp8_ties_scale1", "fp8",
                 [[448, 1.0625, 1.1875, 17, 19, 432, -432, 240, 2.0 ** -10, 3 * 2.0 ** -10,
                   5 * 2.0 ** -10, -(2.0 ** -10), 2.0 ** -6 - 2.0 ** -10, 9 * 2.0 ** -10,
                   -17, 0.5]]))
    sub = [448.0] + [k * 2.0 ** -11 for k in range(1, 40)] + [-(k * 2.0 ** -12) for k in range(1, 25)]
    add(quantize("fp8_subnormal", "fp8", [sub]))
    sat = []
    for _ in range(20000):
        m = F32(rng.uniform(1, 1000))
        s = F32(m / F32(448))
        if F32(m / s) > F32(448):
            sat.append([float(m), -float(m), float(m) * 0.5, 0.0])
            if len(sat) == 3:
                break
    add(quantize("fp8_beyond_448", "fp8", sat, "m / scale > 448 in float32: saturates to 448"))
    add(quantize("fp8_clip_saturate", "fp8_c1.5", [[3.0, -2.0, 1.5, -1.5, 0.7, 1e30, -1e30, 1.49]]))
    # Tiny rows: a scale that underflows to 0 (-> 1, codes 0) and a subnormal scale.
    tiny = np.array([[1e-45, -1e-45, 0, 1e-45], [2.0 ** -140, -(2.0 ** -141), 2.0 ** -142, 0]],
                    dtype=F32)
    for sch in ("int8", "uint8", "int4", "fp8"):
        add(quantize(f"tiny_{sch}", sch, tiny))
    # A subnormal scale far from m / qmax: -m / scale = -128, the one way a symmetric code
    # reaches -qmax-1 (the clamps matter).
    add(quantize("tiny_subnormal_scale_int8", "int8",
                 np.array([[-(2.0 ** -140), 2.0 ** -141, 2.0 ** -140, -(2.0 ** -143)]], dtype=F32)))
    big = np.array([[3e38, -3e38, 1e38, 0]], dtype=F32)
    for sch in ("int8", "int4", "fp8"):
        add(quantize(f"huge_{sch}", sch, big))
    add(quantize("huge_asym_overflow", "uint8", np.array([[0, 1], [3e38, -3e38]], dtype=F32)))
    add(quantize("huge_asym_clipped", "uint8_c1e+38", np.array([[3e38, -3e38, 0, 5e37]],
                                                                  dtype=F32)))
    # Non-finite rows: errors naming the row.
    bad = rng.standard_normal((4, 8)).astype(F32)
    for i, (v, sch) in enumerate([(np.nan, "int8"), (np.inf, "int4"), (-np.inf, "uint8"),
                                  (np.nan, "fp8"), (np.inf, "int8_c2")]):
        b = bad.copy()
        b[(i % 3) + 1, (2 * i) % 8] = v
        add(quantize(f"nonfinite_{i}_{sch}", sch, b))
    # A realistic row length (BERT hidden size).
    add(quantize("bert_row_int8", "int8", rng.standard_normal((2, 768)) * 0.5))
    add(quantize("bert_row_uint4_g128", "uint4_g128", rng.standard_normal((1, 768))))
    return cs


def main():
    with np.errstate(over="ignore"):  # the float32 overflow cases are expected (error rows)
        cs = cases()
    with open(OUT, "w") as f:
        f.write('{"generator": "tests/data/quant/gen_quant_golden.py", "cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cs))
        f.write("\n]}\n")
    n_diff = 0
    for c in cs:
        for d in c.get("float64_diff", []):
            n_diff += 1
            print(f"float64 differs: {c['name']} row {d['row']} col {d['col']}: "
                  f"f32 code {d['f32']}, f64 code {d['f64']}")
    print(f"{len(cs)} cases, {n_diff} float64 divergences, {os.path.getsize(OUT)} bytes -> {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
