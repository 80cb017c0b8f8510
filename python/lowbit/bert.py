"""Quantization-aware encoders (Hugging Face BERT, RoBERTa, XLM-R, DistilBERT, MPNet and ELECTRA:
their *ForSequenceClassification and bare *Model) with the lowbit engine's quantization points,
knowledge-distillation losses, and export to a lowbit model. lowbit.arch names each family's
modules; the name `quantize_bert` stays for every family.

The four GEMMs of a layer are the engine's (src/quant/recipe.h): q1 = Q, K, V (one input, one
activation quantizer shared by the three projections: the engine fuses them into one GEMM with
the same token-wise codes), q2 = attention output, q3 = FFN in, q4 = FFN out. Weights are
quantized symmetric per output channel (or in groups along the input), activations token-wise,
both with docs/quantization.md's arithmetic (lowbit.quant), so that the exported model runs the
same numbers in the engine.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from . import arch
from .quant import FakeQuant, Scheme, fake_quant

# mode -> (weight bits or "fp8", activation bits or "fp8")
MODES = {"w8a8": (8, 8), "w4a8": (4, 8), "w4a4": (4, 4), "fp8": ("fp8", "fp8")}
GEMMS = arch.GEMMS


def schemes(mode: str, asym: bool = False, group: int = 0) -> Tuple[Scheme, Scheme]:
    """(weight scheme, activation scheme) of a recipe mode, as GemmQuant::make builds them."""
    if mode not in MODES:
        raise ValueError(f"mode '{mode}' must be one of {', '.join(MODES)}")
    wb, ab = MODES[mode]
    if wb == "fp8":
        return Scheme("fp8", 8, True, group), Scheme("fp8", 8, True)
    return Scheme("int", wb, True, group), Scheme("int", ab, not asym)


class QuantLinear(torch.nn.Linear):
    """nn.Linear whose input goes through `act` (a FakeQuant, possibly shared) and whose weight is
    fake-quantized per output channel. Same parameter names as nn.Linear, so state dicts stay
    Hugging Face's."""

    def __init__(self, lin: torch.nn.Linear, wscheme: Scheme, act: FakeQuant):
        super().__init__(lin.in_features, lin.out_features, lin.bias is not None,
                         device=lin.weight.device, dtype=lin.weight.dtype)
        with torch.no_grad():
            self.weight.copy_(lin.weight)
            if lin.bias is not None:
                self.bias.copy_(lin.bias)
        self.wscheme = wscheme
        self.act = act

    def forward(self, x):
        return F.linear(self.act(x), fake_quant(self.weight, self.wscheme), self.bias)


def _gemm_modules(layer, fam: arch.Family = arch.FAMILIES["bert"]) -> Dict[str, List[Tuple[torch.nn.Module, str]]]:
    """(parent, attribute) of each GEMM's nn.Linear(s) in an encoder layer of family `fam`."""
    return arch.gemm_modules(layer, fam)


def _layers(model):
    """(family, encoder layers) of a task model or bare encoder."""
    return arch.family(model), arch.layers(model)


def quantize_bert(model, mode: str, asym: bool = False, parts: Sequence[str] = GEMMS,
                  learn_clip: bool = False, init_clips: Optional[Dict[Tuple[int, str], float]] = None,
                  group: int = 0) -> Dict[Tuple[int, str], FakeQuant]:
    """Puts fake quantization on `parts` of every encoder layer of `model` (in place): any
    family of lowbit.arch, task model or bare encoder. Returns the activation quantizers by
    (layer, gemm). A learnable clip starts at init_clips[(l, g)]."""
    ws, acts = schemes(mode, asym, group)
    out = {}
    fam, lays = _layers(model)
    for li, layer in enumerate(lays):
        for g, mods in _gemm_modules(layer, fam).items():
            if g not in parts:
                continue
            init = (init_clips or {}).get((li, g))
            fq = FakeQuant(acts, learn_clip=learn_clip, init_clip=init)
            for parent, name in mods:
                setattr(parent, name, QuantLinear(getattr(parent, name), ws, fq))
            out[(li, g)] = fq
    return out


@torch.no_grad()
def activation_absmax(model, batches) -> Dict[Tuple[int, str], float]:
    """max |x| of every GEMM input over `batches` (dicts of model inputs): initial clips."""
    found: Dict[Tuple[int, str], float] = {}
    hooks = []
    fam, lays = _layers(model)
    for li, layer in enumerate(lays):
        for g, mods in _gemm_modules(layer, fam).items():
            parent, name = mods[0]
            def hook(_m, inp, _out, key=(li, g)):
                found[key] = max(found.get(key, 0.0), float(inp[0].abs().max()))
            hooks.append(getattr(parent, name).register_forward_hook(hook))
    try:
        for b in batches:
            model(**b)
    finally:
        for h in hooks:
            h.remove()
    return found


class AttentionScores:
    """Captures each layer's attention scores QKᵀ/√d (+ MPNet's relative attention bias, + the
    padding mask) from the query / key projections' outputs: the unnormalised scores of the
    paper's Table B.1 (softmax gives the normalised ones)."""

    def __init__(self, model):
        self.model = model
        self.q: Dict[int, torch.Tensor] = {}
        self.k: Dict[int, torch.Tensor] = {}
        self.bias: Optional[torch.Tensor] = None
        self.hooks = []
        fam, lays = _layers(model)
        for li, layer in enumerate(lays):
            (qp, qn), (kp, kn), _ = _gemm_modules(layer, fam)["q1"]
            self.hooks.append(getattr(qp, qn).register_forward_hook(lambda m, i, o, li=li: self.q.__setitem__(li, o)))
            self.hooks.append(getattr(kp, kn).register_forward_hook(lambda m, i, o, li=li: self.k.__setitem__(li, o)))
        rel = arch.relative_bias(model)
        if rel is not None:  # MPNet: [T, T, heads] bucketed bias, the same for every layer
            self.hooks.append(rel.register_forward_hook(lambda m, i, o: setattr(self, "bias", o)))

    def scores(self, mask: torch.Tensor) -> List[torch.Tensor]:
        cfg = self.model.config
        heads, d = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
        out = []
        for li in sorted(self.q):
            b, t, _ = self.q[li].shape
            q = self.q[li].view(b, t, heads, d).transpose(1, 2)
            k = self.k[li].view(b, t, heads, d).transpose(1, 2)
            s = q @ k.transpose(-1, -2) / d ** 0.5
            if self.bias is not None:
                s = s + self.bias.permute(2, 0, 1)[None]
            out.append(s.masked_fill(~mask[:, None, None, :].bool(), -1e4))
        return out

    def remove(self):
        for h in self.hooks:
            h.remove()


def kd_loss(s_out, t_out, s_att: List[torch.Tensor], t_att: List[torch.Tensor], mask: torch.Tensor,
            w_logits: float = 1.0, w_hidden: float = 1.0, w_att_scores: float = 0.0,
            w_att_probs: float = 1.0, temperature: float = 1.0) -> Dict[str, torch.Tensor]:
    """The paper's KD terms (Table B.1): soft cross-entropy on logits, MSE on every hidden state
    (embeddings included), MSE on attention scores (unnormalised) and / or probabilities
    (normalised), over real tokens only. Returns each term and the weighted total."""
    terms = {}
    t = temperature
    terms["logits"] = F.kl_div(F.log_softmax(s_out.logits / t, -1), F.softmax(t_out.logits / t, -1),
                               reduction="batchmean") * t * t
    m = mask[..., None].float()
    n = m.sum() * s_out.hidden_states[0].shape[-1]
    terms["hidden"] = sum(((a - b) ** 2 * m).sum() / n for a, b in zip(s_out.hidden_states, t_out.hidden_states))
    keep = (mask[:, None, :, None] * mask[:, None, None, :]).float()
    cnt = keep.sum() * s_att[0].shape[1]
    terms["att_scores"] = sum(((a - b) ** 2 * keep).sum() / cnt for a, b in zip(s_att, t_att))
    terms["att_probs"] = sum(((a.softmax(-1) - b.softmax(-1)) ** 2 * keep).sum() / cnt
                             for a, b in zip(s_att, t_att))
    terms["total"] = (w_logits * terms["logits"] + w_hidden * terms["hidden"] +
                      w_att_scores * terms["att_scores"] + w_att_probs * terms["att_probs"])
    return terms


def learned_clips(quantizers: Dict[Tuple[int, str], FakeQuant]) -> Dict[str, float]:
    """{"<layer>.q<g>": clip} for `lowbit quantize --clips` (clips that are set, learned or fixed)."""
    out = {}
    for (li, g), fq in sorted(quantizers.items()):
        c = fq.effective_scheme().clip
        if c is not None:
            out[f"{li}.{g}"] = float(torch.tensor(c, dtype=torch.float32))
    return out


def export_lowbit(model, quantizers, src_dir: str, out_dir: str, mode: str, asym: bool = False,
                  lowbit: str = "lowbit", parts: Sequence[str] = GEMMS, group: int = 0) -> str:
    """Writes the student as a lowbit model: its FP32 (latent) weights as a Hugging Face
    checkpoint with src_dir's config and tokenizer files, then `lowbit quantize` with the same
    recipe and the clips it trained, so the engine quantizes exactly as the student did."""
    from safetensors.torch import save_file

    tmp = tempfile.mkdtemp(prefix="lowbit-export-")
    try:
        # Config, tokenizer and sentence-transformers files (1_Pooling/ ...), not the weights.
        skip = shutil.ignore_patterns("*.safetensors", "*.bin", "*.pt", "*.h5", "*.onnx", "*.msgpack",
                                      "recipe.json", "qbest.json", ".*")
        shutil.copytree(src_dir, tmp, ignore=skip, dirs_exist_ok=True)
        sd = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()
              if not k.endswith(".act.clip") and v.is_floating_point()}
        save_file(sd, os.path.join(tmp, "model.safetensors"))
        clips = learned_clips(quantizers)
        cmd = [lowbit, "quantize", "--model", tmp, "--out", out_dir, "--recipe", mode, "--force",
               "--quiet", "--parts", ",".join(parts)]
        if asym:
            cmd.append("--asym")
        if group:
            cmd += ["--group-size", str(group)]
        if clips:
            with open(os.path.join(tmp, "clips.json"), "w") as f:
                json.dump(clips, f)
            cmd += ["--clips", os.path.join(tmp, "clips.json")]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
