"""The quantization contract (docs/quantization.md) in PyTorch.

Every step is the contract's float32 operation in its order: m = max|x| (exact), scale = m / qmax
(one float32 division), q = clamp(rne(x / scale)) with torch.round (ties to even), x̂ = scale * q
(+ zero, a separate add). FP8 E4M3 goes through torch.float8_e4m3fn after clamping to ±448 (the
contract saturates; the cast alone would give NaN). `quantize` returns codes / scales / zeros as
the engine stores them; `fake_quant` returns x̂ with straight-through gradients, and a learnable
clip receives the gradient of the elements it clips (PACT).
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Optional

import torch

E4M3_MAX = 448.0


class QuantError(ValueError):
    """Non-finite input, or an asymmetric range that overflows float32 (names the row)."""

    def __init__(self, what: str, row: int):
        super().__init__(f"{what}: row {row}")
        self.row = row


@dataclasses.dataclass(frozen=True)
class Scheme:
    kind: str = "int"  # "int" | "fp8"
    bits: int = 8
    symmetric: bool = True
    group: int = 0  # 0: one group per row
    clip: Optional[float] = None

    @staticmethod
    def parse(s: str) -> "Scheme":
        """'int4', 'uint8_c2.5', 'int4_g128', 'fp8' (docs/quantization.md, Scheme names)."""
        m = re.fullmatch(r"(u?int)(\d)|(fp8)(?:_e4m3)?", s.split("_g")[0].split("_c")[0])
        if not m:
            raise ValueError(f"bad scheme '{s}' (int<b>, uint<b>, fp8, then _g<G>, _c<clip>)")
        g = re.search(r"_g(\d+)", s)
        c = re.search(r"_c([0-9.eE+-]+)$", s)
        if m.group(3):
            sch = Scheme("fp8", 8, True)
        else:
            bits = int(m.group(2))
            if not 2 <= bits <= 8:
                raise ValueError(f"scheme '{s}': bits must be 2..8")
            sch = Scheme("int", bits, m.group(1) == "int")
        clip = float(c.group(1)) if c else None
        if clip is not None and not (math.isfinite(clip) and clip > 0):
            raise ValueError(f"scheme '{s}': the clip must be finite and > 0")
        return dataclasses.replace(sch, group=int(g.group(1)) if g else 0, clip=clip)

    @property
    def qmax(self) -> int:  # symmetric: 2^(b-1) - 1; asymmetric: L = 2^b - 1
        return (1 << (self.bits - 1)) - 1 if self.symmetric else (1 << self.bits) - 1

    @property
    def qmin(self) -> int:
        return -self.qmax - 1 if self.symmetric else 0

    def with_bits(self, bits: int) -> "Scheme":
        return dataclasses.replace(self, bits=bits)


def _grouped(x: torch.Tensor, group: int) -> torch.Tensor:
    """[R, K] -> [R * K/G, G] rows (one per group)."""
    r, k = x.shape
    g = group or k
    if k % g:
        raise ValueError(f"group size {g} does not divide the row length {k}")
    return x.reshape(r * (k // g), g)


def _check_finite(x: torch.Tensor, what: str, group_rows: int):
    bad = ~torch.isfinite(x)
    if bad.any():
        row = int(bad.any(dim=1).nonzero()[0, 0]) // group_rows
        raise QuantError(f"{what} has a non-finite value", row)


def _params(s: Scheme, xc: torch.Tensor, what: str, group_rows: int, check: bool = True):
    """Per-row (scale, zp, zero) of clipped rows xc [n, G], float32, as the contract says."""
    one = torch.ones((), dtype=torch.float32, device=xc.device)
    if s.kind == "fp8" or s.symmetric:
        m = xc.abs().amax(dim=1)
        scale = m / torch.tensor(E4M3_MAX if s.kind == "fp8" else float(s.qmax), dtype=torch.float32)
        scale = torch.where(scale == 0, one, scale)
        return scale, None, None
    lo = torch.clamp(xc.amin(dim=1), max=0.0)
    hi = torch.clamp(xc.amax(dim=1), min=0.0)
    rng = hi - lo
    if check and torch.isinf(rng).any():
        row = int(torch.isinf(rng).nonzero()[0, 0]) // group_rows
        raise QuantError(f"{what}: max - min overflows float32", row)
    scale = rng / torch.tensor(float(s.qmax), dtype=torch.float32)
    scale = torch.where(scale == 0, one, scale)
    zp = torch.clamp(torch.round(-lo / scale), 0, s.qmax)
    zero = torch.where(zp == 0, torch.zeros_like(zp), -(zp * scale))
    return scale, zp, zero


def quantize(x: torch.Tensor, s: Scheme, what: str = "x", check: bool = True):
    """x [R, K] float32 -> (codes int32 [R, K] (FP8: the raw byte), scales [R, K/G], zeros or None).
    check=False skips the non-finite checks (each one waits for the GPU); training does, since
    its loss check catches what a non-finite input turns into."""
    x = x.detach().to(torch.float32)
    r, k = x.shape
    xg = _grouped(x, s.group)
    per = xg.shape[0] // max(r, 1)
    if check:
        _check_finite(xg, what, per)
    xc = xg.clamp(-s.clip, s.clip) if s.clip is not None else xg
    scale, zp, zero = _params(s, xc, what, per, check)
    v = xc / scale[:, None]
    if s.kind == "fp8":
        codes = v.clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn).view(torch.uint8).to(torch.int32)
    elif s.symmetric:
        codes = torch.clamp(torch.round(v), s.qmin, s.qmax).to(torch.int32)
    else:
        codes = torch.clamp(torch.round(v) + zp[:, None], 0, s.qmax).to(torch.int32)
    groups = xg.shape[0] // r if r else 1
    return (codes.reshape(r, k), scale.reshape(r, groups),
            None if zero is None else zero.reshape(r, groups))


def dequantize(codes: torch.Tensor, scales: torch.Tensor, zeros: Optional[torch.Tensor], s: Scheme):
    """x̂ [R, K] float32 from quantize()'s output."""
    r, k = codes.shape
    cg = _grouped(codes, s.group)
    sc = scales.reshape(-1)[:, None]
    if s.kind == "fp8":
        vals = cg.to(torch.uint8).view(torch.float8_e4m3fn).to(torch.float32)
        out = sc * vals
    else:
        out = sc * cg.to(torch.float32)
        if zeros is not None:
            out = out + zeros.reshape(-1)[:, None]
    return out.reshape(r, k)


def _fake(x: torch.Tensor, s: Scheme) -> torch.Tensor:
    """x̂ of rows x [R, K] (float32, no gradient)."""
    codes, scales, zeros = quantize(x, s, check=False)
    return dequantize(codes, scales, zeros, s)


def fake_quant(x: torch.Tensor, s: Scheme, clip: Optional[torch.Tensor] = None) -> torch.Tensor:
    """x̂ with x's shape (rows = every dimension but the last). Straight-through: the gradient of
    x̂ w.r.t. x is 1 inside the clip range and 0 outside; a tensor `clip` (learnable) overrides
    s.clip and receives ±the gradient of the elements it clips."""
    shape, dtype = x.shape, x.dtype
    x2 = x.reshape(-1, shape[-1]).to(torch.float32)
    if clip is not None:
        c = clip.to(torch.float32)
        xc = torch.minimum(torch.maximum(x2, -c), c)
        sch = dataclasses.replace(s, clip=None)
    else:
        xc = x2.clamp(-s.clip, s.clip) if s.clip is not None else x2
        sch = dataclasses.replace(s, clip=None)
    return _StraightThrough.apply(xc, sch).reshape(shape).to(dtype)


class _StraightThrough(torch.autograd.Function):
    """Forward: x̂ exactly (a -0.0 stays -0.0, which x + (x̂ - x) would lose); backward: identity."""

    @staticmethod
    def forward(ctx, xc, sch):
        return _fake(xc, sch)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class FakeQuant(torch.nn.Module):
    """A quantization point: token-wise activations or group-wise weights in scheme `s`, with an
    optional clip that is fixed (the scheme's) or learnable (initialised from the scheme's or from
    `init_clip`)."""

    def __init__(self, s: Scheme, learn_clip: bool = False, init_clip: Optional[float] = None):
        super().__init__()
        self.scheme = s
        c = init_clip if init_clip is not None else s.clip
        if learn_clip and c is None:
            raise ValueError("a learnable clip needs an initial value (init_clip or the scheme's)")
        self.clip = torch.nn.Parameter(torch.tensor(float(c))) if learn_clip else None
        self.enabled = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        return fake_quant(x, self.scheme, self.clip)

    def effective_scheme(self) -> Scheme:
        """The scheme with the current clip value (what the engine is given at export)."""
        if self.clip is None:
            return self.scheme
        return dataclasses.replace(self.scheme, clip=float(self.clip.detach().abs()))

    def extra_repr(self) -> str:
        return f"{self.scheme}, clip={'learned ' + format(float(self.clip), '.4g') if self.clip is not None else self.scheme.clip}"
