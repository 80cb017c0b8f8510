"""lowbit.quant against tests/data/quant/golden.json (the contract's golden vectors, which the C++
and CUDA quantizers also pass): codes, scales, zeros and dequantized values bit for bit, and the
failing row of the error cases. Plus the straight-through gradients and the learnable clip.

    python3 -m unittest discover -s python/tests      (needs torch and numpy)
"""
import json
import os
import struct
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lowbit import quant  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "quant", "golden.json")


def f32(hexes):
    return torch.tensor([struct.unpack(">f", bytes.fromhex(h))[0] for h in hexes], dtype=torch.float32)


def bits(t):
    return [struct.pack(">f", float(v)).hex() for v in t.reshape(-1).tolist()]


class Golden(unittest.TestCase):
    def test_every_case(self):
        with open(GOLDEN) as f:
            cases = json.load(f)["cases"]
        self.assertGreater(len(cases), 50)
        for c in cases:
            with self.subTest(case=c["name"], scheme=c["scheme"]):
                s = quant.Scheme.parse(c["scheme"])
                x = f32(c["input"]).reshape(c["rows"], c["cols"]) if "input" in c else None
                if "error_row" in c:
                    if x is None:  # inputs given as non-hex specials are in the note
                        continue
                    with self.assertRaises(quant.QuantError) as e:
                        quant.quantize(x, s)
                    self.assertEqual(e.exception.row, c["error_row"])
                    continue
                codes, scales, zeros = quant.quantize(x, s)
                self.assertEqual(codes.reshape(-1).tolist(), c["codes"])
                self.assertEqual(bits(scales), c["scales"])
                if "zeros" in c:
                    self.assertEqual(bits(zeros), c["zeros"])
                self.assertEqual(bits(quant.dequantize(codes, scales, zeros, s)), c["dequant"])
                # fake_quant is the same x̂.
                self.assertEqual(bits(quant.fake_quant(x, s)), c["dequant"])


class Gradients(unittest.TestCase):
    def test_straight_through_inside_the_clip(self):
        x = torch.tensor([[-3.0, -0.4, 0.1, 0.7, 2.5]], requires_grad=True)
        y = quant.fake_quant(x, quant.Scheme.parse("int4_c2"))
        y.sum().backward()
        self.assertEqual(x.grad.tolist(), [[0.0, 1.0, 1.0, 1.0, 0.0]])

    def test_learnable_clip_gets_the_clipped_gradient(self):
        fq = quant.FakeQuant(quant.Scheme.parse("int8"), learn_clip=True, init_clip=2.0)
        x = torch.tensor([[-3.0, -0.4, 0.1, 0.7, 2.5, 5.0]])
        fq(x).sum().backward()
        # d/dc of clamp(x, -c, c): -1 for x < -c, +1 for x > c (two above, one below).
        self.assertAlmostEqual(float(fq.clip.grad), 1.0)
        self.assertEqual(fq.effective_scheme().clip, 2.0)

    def test_rows_are_tokens(self):
        x = torch.randn(2, 3, 16)
        y = quant.fake_quant(x, quant.Scheme.parse("int4"))
        ref = quant.fake_quant(x.reshape(6, 16), quant.Scheme.parse("int4")).reshape(2, 3, 16)
        self.assertTrue(torch.equal(y, ref))


if __name__ == "__main__":
    unittest.main()
