#!/usr/bin/env python3
"""Writes a few small valid safetensors files into the directory argv[1]: seeds for
fuzz_safetensors. Standard library only."""

import json
import os
import struct
import sys


def safetensors_bytes(tensors, metadata=None, pad_to=8, gap=0):
    """tensors: list of (name, dtype, shape, data bytes). Offsets in list order, `gap` zero
    bytes between tensors."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        begin = len(data)
        data += raw
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, len(data)]}
        data += b"\0" * gap
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % pad_to)
    return struct.pack("<Q", len(text)) + text + data


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_safetensors_seeds.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    f32 = lambda *xs: struct.pack("<%df" % len(xs), *xs)
    seeds = {
        "one_f32": safetensors_bytes([("w", "F32", [2, 2], f32(1, 2, 3, 4))]),
        "empty_header": safetensors_bytes([]),
        "metadata_only": safetensors_bytes([], {"format": "pt", "k": "v"}),
        "mixed_dtypes": safetensors_bytes(
            [
                ("embeddings.position_ids", "I64", [1, 4], struct.pack("<4q", 0, 1, 2, 3)),
                ("a.weight", "F16", [3], b"\x00\x3c\x00\x40\x00\x42"),
                ("b.bias", "BF16", [2], b"\x80\x3f\x00\x40"),
                ("c", "I8", [3], b"\x01\xff\x7f"),
                ("d", "U8", [1, 1], b"\x07"),
                ("e", "BOOL", [2], b"\x00\x01"),
                ("f", "I16", [], b"\x02\x00"),
                ("g", "I32", [1], b"\x05\x00\x00\x00"),
                ("h", "F64", [1], struct.pack("<d", 0.5)),
            ],
            {"format": "pt"},
        ),
        "zero_sized": safetensors_bytes(
            [("z", "F32", [0, 3], b""), ("w", "F32", [1], f32(7)), ("z2", "U8", [0], b"")]
        ),
        "gaps_unpadded": safetensors_bytes(
            [("x", "F32", [1], f32(1)), ("y", "F32", [2], f32(2, 3))], gap=4, pad_to=1
        ),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
