"""ZeroQuant LKD (lowbit.lkd) on tests/data/tiny-cls: each W4A4 layer's output error against the
FP32 layer falls, and `python3 -m lowbit.lkd` writes a lowbit model the engine loads."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import LOWBIT, ROOT, TINY, texts  # noqa: E402
from lowbit import bert, lkd  # noqa: E402


class Lkd(unittest.TestCase):
    def test_layers_get_closer(self):
        from transformers import BertForSequenceClassification, BertTokenizer
        torch.manual_seed(0)
        tok = BertTokenizer(os.path.join(TINY, "vocab.txt"), do_lower_case=True)
        teacher = BertForSequenceClassification.from_pretrained(TINY, dtype=torch.float32).eval()
        b = dict(tok(texts(), padding=True, return_tensors="pt"))
        student = copy.deepcopy(teacher)
        bert.quantize_bert(student, "w4a4", learn_clip=True, init_clips=bert.activation_absmax(teacher, [b]))
        # LKD's layer-by-layer pass computes what the model computes.
        with torch.no_grad():
            x = lkd._layer_inputs(teacher, [b])[0]
            for layer in teacher.bert.encoder.layer:
                x["h"] = lkd._out(layer(x["h"], attention_mask=x["mask"]))
            ref = teacher.bert(**b).last_hidden_state
        m = b["attention_mask"].bool()
        self.assertLess(float((x["h"][m] - ref[m]).abs().max()), 1e-5)
        rep = lkd.lkd(student, teacher, [b], steps=30, lr=1e-3, log=lambda *_: None)
        self.assertEqual(len(rep), 2)
        for r in rep:
            self.assertLess(r["mse_after"], r["mse_before"], r)

    @unittest.skipUnless(os.path.exists(LOWBIT), f"no lowbit CLI at {LOWBIT}")
    def test_module_writes_a_lowbit_model(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "texts.txt"), "w") as f:
                f.write("\n".join(texts()) + "\n")
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
            subprocess.run([sys.executable, "-m", "lowbit.lkd", "--model", TINY, "--texts",
                            os.path.join(d, "texts.txt"), "--out", os.path.join(d, "m"), "--recipe",
                            "w4a4", "--steps", "5", "--lowbit", LOWBIT, "--device", "cpu"],
                           check=True, env=env, capture_output=True)
            r = subprocess.run([LOWBIT, "info", "--model", os.path.join(d, "m"), "--format", "json"],
                               check=True, capture_output=True, text=True)
            info = json.loads(r.stdout)
            self.assertIn("w4a4", info["quantization"])
            self.assertEqual(info["labels"], ["negative", "neutral", "positive"])


if __name__ == "__main__":
    unittest.main()
