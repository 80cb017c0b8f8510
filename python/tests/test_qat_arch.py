"""The QAT toolkit on every family the engine runs (tests/data/arch: tiny random RoBERTa, XLM-R,
DistilBERT, MPNet, ELECTRA, BERT checkpoints, hidden 64): lowbit.arch's q1..q4 modules are the
ones src/models/registry.cc reads, the quantization points are found on the task models and the
bare encoders, the fake-quantized forward runs, LKD's layer-by-layer pass is the model's own, and
a W4A4 student trained a few KD steps with learned clips and exported (`lowbit quantize --clips`)
is reproduced by the C++ engine (`lowbit classify`, CPU) for RoBERTa, XLM-R, DistilBERT, MPNet
and ELECTRA sequence classification heads, and for bare MPNet, DistilBERT and RoBERTa encoders
(`lowbit embed`).

Needs torch, transformers, safetensors and the lowbit CLI ($LOWBIT_BIN, else build/release or
build/cpu).
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import ARCH, LOWBIT, ROOT  # noqa: E402
from lowbit import arch, bert, lkd  # noqa: E402

# folder of tests/data/arch -> model_type
FOLDERS = {"bert-fp16": "bert", "roberta": "roberta", "xlm-roberta": "xlm-roberta",
           "distilbert": "distilbert", "mpnet": "mpnet", "electra": "electra"}
TEXTS = ["Heisenberg may have been here.", "Void where prohibited by law.", "the",
         "A longer sentence, with commas; and -- dashes -- that goes on for a while."]
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def _quiet():
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load(folder, head=True):
    """(model, tokenizer) of tests/data/arch/<folder>: a 3-label *ForSequenceClassification whose
    new head is drawn N(0, 0.2) (seeded; logits of order 1), or the bare *Model."""
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
    _quiet()
    d = os.path.join(ARCH, folder)
    torch.manual_seed(0)
    if not head:
        return AutoModel.from_pretrained(d, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(d)
    m = AutoModelForSequenceClassification.from_pretrained(
        d, dtype=torch.float32, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    if folder != "roberta-cls":  # a trained head of its own
        with torch.no_grad():
            for n, p in m.named_parameters():
                if not n.startswith(arch.family(m).prefix + "."):
                    p.normal_(0.0, 0.2)
    return m.eval(), AutoTokenizer.from_pretrained(d)


class Points(unittest.TestCase):
    def test_table_names_are_the_registrys(self):
        """Every module path of lowbit.arch is a name registry.cc maps for its family."""
        with open(os.path.join(ROOT, "src", "models", "registry.cc")) as f:
            src = f.read()
        quoted = set(re.findall(r'"([^"]*)"', src))
        for fam in arch.FAMILIES.values():
            self.assertIn(f"{fam.prefix}.", quoted, fam.model_type)
            self.assertIn(f"{fam.layers}.", quoted, fam.model_type)
            for g, paths in fam.gemms.items():
                self.assertEqual(len(paths), 3 if g == "q1" else 1)
                for p in paths:
                    self.assertIn(p, quoted, (fam.model_type, g))
        for name in arch.LOWBIT_GEMM_NAMES.values():
            self.assertIn(name, quoted)
        self.assertEqual(arch.lowbit_gemm_name(2, "q1"), "encoder.layer.2.attention.self.qkv")

    def _points(self, folder):
        """q1..q4 on the 3-label task model and on the bare encoder of one family."""
        mt = FOLDERS[folder]
        for head in (True, False):
            with self.subTest(folder=folder, head=head):
                t, tok = load(folder, head)
                self.assertEqual(arch.family(t).model_type, mt)
                n = len(arch.layers(t))
                b = dict(tok(TEXTS, padding=True, return_tensors="pt"))
                s = copy.deepcopy(t)
                keys = list(s.state_dict())
                clips = bert.activation_absmax(t, [b])
                self.assertEqual(sorted(clips), sorted((i, g) for i in range(n) for g in arch.GEMMS))
                qs = bert.quantize_bert(s, "w4a4", learn_clip=True, init_clips=clips)
                self.assertEqual(len(qs), 4 * n)
                # The quantized modules are exactly the registry's GEMM weights; q1's three
                # projections share one activation quantizer; the state dict keeps HF's names.
                prefix = f"{arch.family(t).prefix}." if head else ""
                want = {f"{prefix}{arch.family(t).layers}.{i}.{p}": g for i in range(n)
                        for g, ps in arch.family(t).gemms.items() for p in ps}
                got = {name: m for name, m in s.named_modules() if isinstance(m, bert.QuantLinear)}
                self.assertEqual(sorted(got), sorted(want))
                for i in range(n):
                    q1 = [got[f"{prefix}{arch.family(t).layers}.{i}.{p}"].act
                          for p in arch.family(t).gemms["q1"]]
                    self.assertTrue(all(a is qs[(i, "q1")] for a in q1))
                self.assertEqual([k for k in s.state_dict() if not k.endswith(".act.clip")], keys)
                if head:  # arch.hf_gemm_names: the weight names registry.cc reads
                    hf = {p: g for i in range(n) for g, ps in arch.hf_gemm_names(mt, i).items() for p in ps}
                    self.assertEqual(hf, want)
                    self.assertTrue(all(f"{p}.weight" in keys for p in hf))
                with torch.no_grad():
                    ref, out = t(**b), s(**b)
                y0 = ref.logits if head else ref.last_hidden_state
                y1 = out.logits if head else out.last_hidden_state
                self.assertTrue(torch.isfinite(y1).all())
                self.assertGreater(float((y1 - y0).abs().max()), 1e-4)  # W4A4 moves the outputs

    def test_points_bert(self):
        self._points("bert-fp16")

    def test_points_roberta(self):
        self._points("roberta")

    def test_points_xlm_roberta(self):
        self._points("xlm-roberta")

    def test_points_distilbert(self):
        self._points("distilbert")

    def test_points_mpnet(self):
        self._points("mpnet")

    def test_points_electra(self):
        self._points("electra")

    def test_attention_scores_match_eager_attention(self):
        """The scores KD reads (Q Kᵀ/√d, + MPNet's relative bias) give the model's attention
        probabilities (eager attention) on the real tokens."""
        from transformers import AutoModel, AutoTokenizer
        _quiet()
        for folder in ("mpnet", "distilbert", "roberta"):
            with self.subTest(folder=folder):
                d = os.path.join(ARCH, folder)
                m = AutoModel.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
                b = dict(AutoTokenizer.from_pretrained(d)(TEXTS, padding=True, return_tensors="pt"))
                att = bert.AttentionScores(m)
                with torch.no_grad():
                    o = m(**b, output_attentions=True)
                sc = att.scores(b["attention_mask"])
                att.remove()
                keep = b["attention_mask"].bool()
                keep = keep[:, None, :, None] & keep[:, None, None, :]
                for s, a in zip(sc, o.attentions):
                    self.assertLess(float((s.softmax(-1) - a)[keep.expand_as(a)].abs().max()), 1e-6)

    def _lkd(self, folder, steps):
        """LKD's layer-by-layer pass (what the encoder hands layer 0: MPNet's position bias,
        DistilBERT's mask) computes the encoder's output; a few steps lower each layer's error."""
        t, tok = load(folder)
        b = dict(tok(TEXTS, padding=True, return_tensors="pt"))
        with torch.no_grad():
            x = lkd._layer_inputs(t, [b])[0]
            h = x["h"]
            for layer in arch.layers(t):
                h = lkd._run(layer, x, h)
            ref = arch.encoder(t)(**b).last_hidden_state
        m = b["attention_mask"].bool()
        self.assertLess(float((h[m] - ref[m]).abs().max()), 1e-5)
        if not steps:
            return
        s = copy.deepcopy(t)
        bert.quantize_bert(s, "w4a4", learn_clip=True, init_clips=bert.activation_absmax(t, [b]))
        rep = lkd.lkd(s, t, [b], steps=steps, lr=1e-3, log=lambda *_: None)
        self.assertEqual(len(rep), len(arch.layers(t)))
        for r in rep:
            self.assertLess(r["mse_after"], r["mse_before"], r)

    def test_lkd_mpnet(self):
        self._lkd("mpnet", steps=4)

    def test_lkd_layer_pass_distilbert(self):
        self._lkd("distilbert", steps=0)


@unittest.skipUnless(os.path.exists(LOWBIT), f"no lowbit CLI at {LOWBIT}")
class Export(unittest.TestCase):
    def _distil_export_compare(self, folder, steps=3):
        t, tok = load(folder)
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(ARCH, folder)
            if folder != "roberta-cls":  # the checkpoint with its new head (config: 3 labels)
                src = os.path.join(d, "teacher")
                t.save_pretrained(src)
                for f in ("tokenizer.json", "tokenizer_config.json"):
                    shutil.copy(os.path.join(ARCH, folder, f), src)
            b = dict(tok(TEXTS, padding=True, return_tensors="pt"))
            s = copy.deepcopy(t)
            clips = bert.activation_absmax(t, [b])
            qs = bert.quantize_bert(s, "w4a4", learn_clip=True, init_clips=clips)
            t_att, s_att = bert.AttentionScores(t), bert.AttentionScores(s)
            with torch.no_grad():
                t_out = t(**b, output_hidden_states=True)
            t_sc = t_att.scores(b["attention_mask"])
            opt = torch.optim.AdamW(s.parameters(), lr=5e-4)
            s.train()
            losses = []
            for _ in range(steps):
                terms = bert.kd_loss(s(**b, output_hidden_states=True), t_out,
                                     s_att.scores(b["attention_mask"]), t_sc, b["attention_mask"],
                                     w_att_scores=0.1)
                opt.zero_grad()
                terms["total"].backward()
                opt.step()
                losses.append(float(terms["total"].detach()))
            self.assertLess(losses[-1], losses[0])
            self.assertTrue(any(abs(float(v.clip.detach()) - clips[k]) > 1e-4 for k, v in qs.items()))
            s.eval()
            with torch.no_grad():
                ref = torch.cat([s(**tok(x, return_tensors="pt")).logits for x in TEXTS])
            out = bert.export_lowbit(s, qs, src, os.path.join(d, "student"), "w4a4", lowbit=LOWBIT)
            with open(os.path.join(out, "recipe.json")) as f:
                self.assertIn("w4a4", f.read())
            r = subprocess.run([LOWBIT, "classify", "--model", out, "--device", "cpu", "--format",
                                "json", "--quiet"] + TEXTS, check=True, capture_output=True, text=True)
        res = json.loads(r.stdout)["results"]
        got = torch.tensor([x["logits"] for x in res])
        diff = float((got - ref).abs().max())
        print(f"\n{folder}: KD loss {losses[0]:.4f} -> {losses[-1]:.4f}; engine vs PyTorch student: "
              f"largest |logit difference| {diff:.3g} (logits up to {float(ref.abs().max()):.3g})")
        self.assertEqual(got.shape, ref.shape)
        self.assertTrue(torch.equal(got.argmax(-1), ref.argmax(-1)))
        self.assertLess(diff, 2e-5)

    def test_roberta_cls(self):  # classifier.dense -> tanh -> classifier.out_proj on <s>
        self._distil_export_compare("roberta-cls")

    def test_distilbert(self):  # pre_classifier -> relu -> classifier; no token types
        self._distil_export_compare("distilbert")

    def test_mpnet(self):  # relative attention bias; classifier.dense -> tanh -> out_proj
        self._distil_export_compare("mpnet")

    def test_electra(self):  # classifier.dense -> gelu -> out_proj
        self._distil_export_compare("electra")

    def test_xlm_roberta(self):  # as RoBERTa, with a Unigram tokenizer
        self._distil_export_compare("xlm-roberta")

    def test_bare_encoders_embed(self):
        """A bare *Model's W4A4 student (clips at 0.8 max|x|) exported: `lowbit embed` (mean
        pooling) reproduces PyTorch's mean of the last hidden state."""
        for folder in ("mpnet", "distilbert", "roberta"):
            with self.subTest(folder=folder):
                t, tok = load(folder, head=False)
                b = dict(tok(TEXTS, padding=True, return_tensors="pt"))
                s = copy.deepcopy(t)
                clips = {k: 0.8 * v for k, v in bert.activation_absmax(t, [b]).items()}
                qs = bert.quantize_bert(s, "w4a4", learn_clip=True, init_clips=clips)
                with torch.no_grad():
                    ref = torch.cat([s(**tok(x, return_tensors="pt")).last_hidden_state.mean(1) for x in TEXTS])
                with tempfile.TemporaryDirectory() as d:
                    out = bert.export_lowbit(s, qs, os.path.join(ARCH, folder), os.path.join(d, "m"), "w4a4",
                                             lowbit=LOWBIT)
                    r = subprocess.run([LOWBIT, "embed", "--model", out, "--device", "cpu", "--pooling", "mean",
                                        "--no-normalize", "--format", "json", "--quiet"] + TEXTS,
                                       check=True, capture_output=True, text=True)
                got = torch.tensor(json.loads(r.stdout)["embeddings"])
                diff = float((got - ref).abs().max())
                print(f"\n{folder} (bare): engine vs PyTorch student: largest |mean-pooled difference| {diff:.3g}")
                self.assertEqual(got.shape, ref.shape)
                self.assertLess(diff, 2e-5)


if __name__ == "__main__":
    unittest.main()
