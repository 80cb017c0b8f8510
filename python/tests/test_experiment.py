"""The accuracy experiment (lowbit.experiment, lowbit.tasks, lowbit.report) end to end on
tests/data/tiny-cls, a few steps each: every method trains, is exported, and the C++ engine
reproduces PyTorch's predictions; the report is written. And the task splits are fixed."""
import json
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import LOWBIT, TINY, texts  # noqa: E402
from lowbit import experiment, report, tasks  # noqa: E402


def _write_task(d: str, n: int = 60):
    """A 2-label task named "rt" of n distinct short texts (labels by a rule the model can learn)
    and unlabelled text."""
    words = " ".join(texts()).split()
    rng = random.Random(1)
    rows, seen = [], set()
    while len(rows) < n:
        t = " ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))
        if t not in seen:
            seen.add(t)
            rows.append({"text": t, "label": int("good" in t or "great" in t or "best" in t)})
    with open(os.path.join(d, "rt.jsonl"), "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    with open(os.path.join(d, "unlabelled.txt"), "w") as f:
        f.write("\n".join(texts()) + "\n")


class Splits(unittest.TestCase):
    def test_split_is_fixed_and_disjoint(self):
        rows = [(f"text {i}", i % 2) for i in range(100)]
        a, b = tasks.split(rows), tasks.split(list(rows))
        self.assertEqual(a, b)
        self.assertEqual([len(a[k]) for k in ("train", "dev", "test")], [70, 10, 20])
        seen = [t for k in a for t, _ in a[k]]
        self.assertEqual(sorted(seen), sorted(t for t, _ in rows))

    def test_dedupe_drops_repeats_and_conflicts(self):
        rows = [("a", 0), ("b", 1), ("a", 0), ("c", 0), ("c", 1), ("", 1)]
        self.assertEqual(tasks._dedupe(rows), [("a", 0), ("b", 1)])

    def test_missing_task_says_how_to_prepare(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(FileNotFoundError) as e:
                tasks.load(d, "rt")
            self.assertIn("lowbit.tasks prepare", str(e.exception))


@unittest.skipUnless(os.path.exists(LOWBIT), f"no lowbit CLI at {LOWBIT}")
class Chain(unittest.TestCase):
    def test_chain_and_report(self):
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data")
            os.makedirs(data)
            _write_task(data)
            plan = experiment.Plan(teacher_epochs=2, qat_epochs=2, lkd_steps=3, evals=2, teacher_lr=1e-3)
            runs = os.path.join(d, "runs")
            r = experiment.run_chain("rt", 0, TINY, data, os.path.join(runs, "rt", "seed0"), LOWBIT, plan)
            self.assertTrue(r["done"])
            self.assertEqual(list(r["methods"]), experiment.METHODS)
            for m, e in r["methods"].items():
                cpu = e["engine"]["cpu"]
                # The exported model gives the student's predictions in the engine.
                self.assertGreaterEqual(cpu["agreement"], 90.0, m)
                if m == "fp32":
                    self.assertLess(cpu["max_logit_diff"], 1e-3)
                    self.assertEqual(len(e["log"]), 2)
                if "qat" in m:
                    self.assertEqual(e["steps"], 2)  # 2 epochs of 1 batch (42 training rows, batch 64)
                    self.assertTrue(e["clips"])  # learned clips were exported
            doc = os.path.join(d, "acc.md")
            report.write(runs, doc)
            with open(doc) as f:
                text = f.read()
            self.assertIn("FP64 evaluation", text)
            for t in report.TITLES.values():
                self.assertIn(t, text)


if __name__ == "__main__":
    unittest.main()
