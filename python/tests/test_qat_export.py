"""QAT with knowledge distillation on tests/data/tiny-cls (a random BertForSequenceClassification,
3 labels): a few AdamW steps of the W4A4 student with learnable clips against the FP32 teacher
lower the KD loss; the student exports to a lowbit model (`lowbit quantize --clips`), and the C++
engine (`lowbit classify`, CPU) reproduces the PyTorch student's logits and predictions.

Needs torch, transformers, safetensors and the lowbit CLI ($LOWBIT_BIN, else
build/release/tools/lowbit).
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import LOWBIT, TINY, texts  # noqa: E402
from lowbit import bert  # noqa: E402


@unittest.skipUnless(os.path.exists(LOWBIT), f"no lowbit CLI at {LOWBIT}")
class QatExport(unittest.TestCase):
    def test_distil_then_engine_reproduces_student(self):
        from transformers import BertForSequenceClassification, BertTokenizer

        torch.manual_seed(0)
        tok = BertTokenizer(os.path.join(TINY, "vocab.txt"), do_lower_case=True)
        teacher = BertForSequenceClassification.from_pretrained(TINY, dtype=torch.float32).eval()
        batch = tok(texts(), padding=True, return_tensors="pt")
        student = copy.deepcopy(teacher)
        clips = bert.activation_absmax(teacher, [batch])
        qs = bert.quantize_bert(student, "w4a4", learn_clip=True, init_clips=clips)
        self.assertEqual(len(qs), 2 * 4)
        t_att, s_att = bert.AttentionScores(teacher), bert.AttentionScores(student)
        with torch.no_grad():
            t_out = teacher(**batch, output_hidden_states=True)
        t_scores = t_att.scores(batch["attention_mask"])
        opt = torch.optim.AdamW(student.parameters(), lr=2e-3)
        losses = []
        student.train()
        for _ in range(25):
            s_out = student(**batch, output_hidden_states=True)
            terms = bert.kd_loss(s_out, t_out, s_att.scores(batch["attention_mask"]), t_scores,
                                 batch["attention_mask"], w_att_scores=0.1)
            opt.zero_grad()
            terms["total"].backward()
            opt.step()
            losses.append(float(terms["total"].detach()))
        print(f"\nKD loss {losses[0]:.4f} -> {losses[-1]:.4f}; clips",
              {f"{k[0]}.{k[1]}": round(float(v.clip.detach()), 3) for k, v in qs.items()})
        self.assertLess(losses[-1], 0.9 * losses[0])
        self.assertTrue(any(abs(float(v.clip.detach()) - clips[k]) > 1e-4 for k, v in qs.items()))

        student.eval()
        with torch.no_grad():
            ref = torch.cat([student(**tok(t, return_tensors="pt")).logits for t in texts()])
        with tempfile.TemporaryDirectory() as d:
            out = bert.export_lowbit(student, qs, TINY, os.path.join(d, "student"), "w4a4", lowbit=LOWBIT)
            with open(os.path.join(out, "recipe.json")) as f:
                recipe = json.load(f)
            self.assertIn("w4a4", json.dumps(recipe))
            r = subprocess.run([LOWBIT, "classify", "--model", out, "--device", "cpu", "--format",
                                "json"] + texts(), check=True, capture_output=True, text=True)
        got = torch.tensor([x["logits"] for x in json.loads(r.stdout)["results"]])
        diff = float((got - ref).abs().max())
        print(f"engine vs PyTorch student: largest |logit difference| {diff:.3g}")
        self.assertTrue(torch.equal(got.argmax(-1), ref.argmax(-1)))
        self.assertLess(diff, 1e-3)


if __name__ == "__main__":
    unittest.main()
