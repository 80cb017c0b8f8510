"""lowbit.train on tests/data/tiny-cls (CPU, a few steps): fine-tuning alone and QAT+KD, the
validation log and its checkpoint, and resumption from it."""
import copy
import os
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import TINY, texts  # noqa: E402
from lowbit import bert, train  # noqa: E402


def data():
    from transformers import BertTokenizer
    tok = BertTokenizer(os.path.join(TINY, "vocab.txt"), do_lower_case=True)
    b = dict(tok(texts(), padding=True, return_tensors="pt"))
    b["labels"] = torch.tensor([2, 0, 0, 0, 2, 2, 1])
    return lambda: iter([b]), b


class Train(unittest.TestCase):
    def test_kd_with_checkpoint_and_resume(self):
        from transformers import BertForSequenceClassification
        batches, b = data()
        teacher = BertForSequenceClassification.from_pretrained(TINY, dtype=torch.float32)
        ev = lambda m: train.accuracy(m, [b])  # noqa: E731
        # Fine-tuning the teacher (cross-entropy only) fits the 7 labels.
        t_log = train.train(teacher, batches, ev, train.TrainConfig(steps=30, lr=3e-3, eval_every=30,
                                                                    progress=False))
        self.assertEqual(t_log[-1]["accuracy"], 100.0)
        student = copy.deepcopy(teacher)
        clips = bert.activation_absmax(teacher, [{k: v for k, v in b.items() if k != "labels"}])
        bert.quantize_bert(student, "w4a4", learn_clip=True, init_clips=clips)
        with tempfile.TemporaryDirectory() as d:
            cfg = train.TrainConfig(steps=4, lr=1e-3, eval_every=2, out_dir=d, progress=False,
                                    w_label=0.5, w_att_scores=0.1)
            log = train.train(student, batches, ev, cfg, teacher=teacher)
            self.assertEqual([r["step"] for r in log], [2, 4])
            for k in ("logits", "hidden", "att_scores", "att_probs", "ce", "accuracy"):
                self.assertIn(k, log[-1])
            with open(os.path.join(d, "log.jsonl")) as f:
                self.assertEqual(len(f.readlines()), 2)
            self.assertTrue(os.path.exists(os.path.join(d, "last.pt")))
            # A longer run in the same folder resumes at step 4.
            again = copy.deepcopy(teacher)
            bert.quantize_bert(again, "w4a4", learn_clip=True, init_clips=clips)
            log2 = train.train(again, batches, ev, train.TrainConfig(
                steps=6, lr=1e-3, eval_every=2, out_dir=d, progress=False, w_label=0.5), teacher=teacher)
            self.assertEqual([r["step"] for r in log2], [2, 4, 6])
            self.assertEqual(log2[:2], log)  # the first run's log, carried by the checkpoint

if __name__ == "__main__":
    unittest.main()
