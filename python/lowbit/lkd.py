"""ZeroQuant's layer-by-layer knowledge distillation (LKD): each quantized layer is trained, alone
and in order, to reproduce its FP32 counterpart's output on the same input, the hidden states
that the already-distilled quantized layers before it produce. It needs unlabelled text only.

    python3 -m lowbit.lkd --model HF_DIR --texts FILE --out DIR --recipe w4a4 [--asym]
          [--steps 200] [--lr 5e-6] [--batch 16] [--max-length 128] [--lowbit PATH]

writes a lowbit model (`lowbit quantize --lkd` runs this module).
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from typing import Dict, List

import torch
import torch.nn.functional as F

from . import arch, bert


class _Captured(Exception):
    pass


def _captured_inputs(model, b) -> Dict:
    """What the encoder passes its layer 0 (hidden states, then the other arguments: the mask in
    the form this family's layers take, MPNet's position bias, ...), by a hook that stops the
    forward there."""
    got = {}

    def hook(_m, args, kwargs):
        got["args"], got["kwargs"] = args, kwargs
        raise _Captured

    h = arch.layers(model)[0].register_forward_pre_hook(hook, with_kwargs=True)
    try:
        arch.encoder(model)(**b)
    except _Captured:
        pass
    finally:
        h.remove()
    args, kwargs = got["args"], dict(got["kwargs"])
    hs = args[0] if args else kwargs.pop("hidden_states")
    return {"h": hs, "args": tuple(args[1:]), "kwargs": kwargs, "tokens": b["attention_mask"]}


def _layer_inputs(model, batches) -> List[Dict[str, torch.Tensor]]:
    """(hidden states entering layer 0, the layers' other arguments) per batch. BERT: the
    embeddings and the extended attention mask ("mask"); other families: what the encoder
    passes its first layer."""
    out = []
    for b in batches:
        if arch.family(model).model_type != "bert":
            out.append(_captured_inputs(model, b))
            continue
        emb = arch.encoder(model).embeddings(input_ids=b["input_ids"], token_type_ids=b.get("token_type_ids"))
        # The additive mask BertLayer takes: 0 for real tokens, the float minimum for padding.
        ext = (1.0 - b["attention_mask"][:, None, None, :].to(emb.dtype)) * torch.finfo(emb.dtype).min
        out.append({"h": emb, "mask": ext, "args": (), "kwargs": {"attention_mask": ext},
                    "tokens": b["attention_mask"]})
    return out


def _run(layer, x, h):
    """One encoder layer on hidden states h with batch x's other arguments."""
    return _out(layer(h, *x["args"], **x["kwargs"]))


def _out(y):
    """A BertLayer's hidden states (a tuple's first element in some transformers versions)."""
    return y[0] if isinstance(y, tuple) else y


class Encoder(torch.nn.Module):
    """A bare encoder (*Model) held as a task model holds it (BERT: at .bert), for lowbit.bert."""

    def __init__(self, m):
        super().__init__()
        self.config = m.config
        self.prefix = arch.family(m).prefix
        setattr(self, self.prefix, m)

    def forward(self, **b):
        return getattr(self, self.prefix)(**b)


def lkd(student, teacher, batches, steps: int = 200, lr: float = 5e-6, clip_lr: float = 1e-3,
        log=print) -> List[dict]:
    """Distils every encoder layer of `student` (quantized, lowbit.bert) to `teacher`'s, layer by
    layer (in place). batches: dicts of input_ids, attention_mask, token_type_ids (no labels).
    Returns per layer the output MSE before and after."""
    dev = next(student.parameters()).device
    teacher.eval()
    with torch.no_grad():
        xs = _layer_inputs(student, [{k: v.to(dev) for k, v in b.items()} for b in batches])
    report = []
    for li, (s_layer, t_layer) in enumerate(zip(arch.layers(student), arch.layers(teacher))):
        params = [p for n, p in s_layer.named_parameters() if not n.endswith("act.clip")]
        clips = [p for n, p in s_layer.named_parameters() if n.endswith("act.clip")]
        groups = [{"params": params, "lr": lr}] + ([{"params": clips, "lr": clip_lr}] if clips else [])
        opt = torch.optim.AdamW(groups, weight_decay=0.0)

        def mse(x):
            with torch.no_grad():
                target = _run(t_layer, x, x["h"])
            y = _run(s_layer, x, x["h"])
            m = x["tokens"][..., None].float()
            return ((y - target) ** 2 * m).sum() / (m.sum() * y.shape[-1])

        with torch.no_grad():
            before = sum(float(mse(x)) for x in xs) / len(xs)
        s_layer.train()
        t0 = time.time()
        for step in range(steps):
            loss = mse(xs[step % len(xs)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for p in clips:
                    p.clamp_(min=1e-3)
        s_layer.eval()
        with torch.no_grad():
            after = sum(float(mse(x)) for x in xs) / len(xs)
            for x in xs:  # the next layer's input: this distilled layer's output
                x["h"] = _run(s_layer, x, x["h"])
        report.append({"layer": li, "mse_before": before, "mse_after": after, "seconds": time.time() - t0})
        log(f"LKD layer {li}: output MSE {before:.3e} -> {after:.3e} ({time.time() - t0:.1f} s)")
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m lowbit.lkd", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face checkpoint folder (FP32): BERT, RoBERTa, XLM-R, DistilBERT, MPNet, ELECTRA")
    ap.add_argument("--texts", required=True, help="unlabelled text, one per line")
    ap.add_argument("--out", required=True)
    ap.add_argument("--recipe", required=True, choices=sorted(bert.MODES))
    ap.add_argument("--asym", action="store_true")
    ap.add_argument("--steps", type=int, default=200, help="optimizer steps per layer")
    ap.add_argument("--lr", type=float, default=5e-6)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--max-texts", type=int, default=2048)
    ap.add_argument("--lowbit", default="lowbit", help="the lowbit CLI (for the export)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    with open(a.texts, encoding="utf-8") as f:
        texts = [t.strip() for t in f if t.strip()][: a.max_texts]
    if not texts:
        sys.exit(f"{a.texts}: no text")
    tok = AutoTokenizer.from_pretrained(a.model)
    try:
        teacher = AutoModelForSequenceClassification.from_pretrained(a.model, dtype=torch.float32)
    except (ValueError, KeyError, OSError):  # an encoder without a head
        teacher = Encoder(AutoModel.from_pretrained(a.model, dtype=torch.float32))
    teacher = teacher.to(a.device).eval()
    batches = [dict(tok(texts[i:i + a.batch], padding=True, truncation=True, max_length=a.max_length,
                        return_tensors="pt")) for i in range(0, len(texts), a.batch)]
    student = copy.deepcopy(teacher)
    clips = bert.activation_absmax(teacher, [{k: v.to(a.device) for k, v in b.items()} for b in batches[:8]])
    qs = bert.quantize_bert(student, a.recipe, a.asym, learn_clip=True, init_clips=clips)
    lkd(student, teacher, batches, a.steps, a.lr)
    bert.export_lowbit(student.cpu(), qs, a.model, a.out, a.recipe, a.asym, lowbit=a.lowbit)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
