#!/usr/bin/env python3
"""Writes valid seed inputs for fuzz_lowbit (tiny BERT: vocab 10, hidden 8, 1 layer, 2 heads,
FFN 16, 8 positions) into the folder argv[1]: one per mode, each = 2-byte length + recipe.json +
a lowbit safetensors file. Standard library only."""
import json
import os
import random
import struct
import sys

H, I, V, P, T = 8, 16, 10, 8, 2
GEMMS = [("attention.self.qkv", H, 3 * H), ("attention.output.dense", H, H),
         ("intermediate.dense", H, I), ("output.dense", I, H)]
SCHEMES = {"w8a8": ("int8", "int8", 8), "w4a8": ("int4", "int8", 4), "w4a4": ("int4", "uint4", 4),
           "fp8": ("fp8", "fp8", None)}


def safetensors(tensors):
    header, blobs, off = {}, [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32(vals):
    return struct.pack(f"<{len(vals)}f", *vals)


def seed(mode, rnd):
    t = [("embeddings.word_embeddings.weight", "F32", [V, H], f32([rnd.gauss(0, 1) for _ in range(V * H)])),
         ("embeddings.position_embeddings.weight", "F32", [P, H], f32([rnd.gauss(0, 1) for _ in range(P * H)])),
         ("embeddings.token_type_embeddings.weight", "F32", [T, H], f32([rnd.gauss(0, 1) for _ in range(T * H)])),
         ("embeddings.LayerNorm.weight", "F32", [H], f32([1.0] * H)),
         ("embeddings.LayerNorm.bias", "F32", [H], f32([0.0] * H))]
    pre = "encoder.layer.0."
    layer = {}
    for (name, k, n), q in zip(GEMMS, ["q1", "q2", "q3", "q4"]):
        t.append((pre + name + ".bias", "F32", [n], f32([rnd.gauss(0, 0.1) for _ in range(n)])))
        if mode == "fp32":
            t.append((pre + name + ".weight", "F32", [n, k], f32([rnd.gauss(0, 0.3) for _ in range(n * k)])))
            layer[q] = {"mode": "fp32"}
            continue
        w, a, bits = SCHEMES[mode]
        layer[q] = {"mode": mode, "weight": w, "activation": a}
        if bits is None:  # fp8: bytes with the sign bit and small exponents, never NaN
            codes = bytes(rnd.choice([0x30, 0x38, 0xB8, 0x28, 0x00]) for _ in range(n * k))
            t.append((pre + name + ".qweight", "U8", [n, k], codes))
            t.append((pre + name + ".wscale", "F32", [n, 1], f32([0.05] * n)))
            continue
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        q_codes = [[rnd.randint(lo, hi) for _ in range(k)] for _ in range(n)]
        if bits == 8:
            raw = bytes((c & 0xFF) for row in q_codes for c in row)
            width = k
        else:
            raw = bytes(((row[2 * i] & 0xF) | ((row[2 * i + 1] & 0xF) << 4))
                        for row in q_codes for i in range(k // 2))
            width = k // 2
        t.append((pre + name + ".qweight", "U8", [n, width], raw))
        t.append((pre + name + ".wscale", "F32", [n, 1], f32([0.02] * n)))
        t.append((pre + name + ".wsum", "I32", [n, 1], struct.pack(f"<{n}i", *[sum(r) for r in q_codes])))
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        t.append((pre + ln + ".weight", "F32", [H], f32([1.0] * H)))
        t.append((pre + ln + ".bias", "F32", [H], f32([0.0] * H)))
    recipe = {"format": "lowbit", "format_version": 1, "recipe": mode,
              "source": {"dir": "/seed", "name": "tiny", "sha256": "0" * 64},
              "weights_sha256": "0" * 64, "layers": [layer]}
    r = json.dumps(recipe).encode()
    return struct.pack("<H", len(r)) + r + safetensors(t)


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(0)
    for mode in ["fp32", "w8a8", "w4a8", "w4a4", "fp8"]:
        open(os.path.join(out, f"seed_{mode}"), "wb").write(seed(mode, rnd))
