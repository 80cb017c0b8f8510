"""The encoder families the lowbit engine runs, as the QAT toolkit sees them: where a Hugging Face
model keeps its encoder layers and which nn.Linear modules of a layer make each of the engine's
four GEMMs (src/models/registry.cc, src/quant/recipe.h):

    q1  Q, K, V projections (one quantized input: the engine fuses them into one GEMM)
    q2  attention output        q3  FFN in        q4  FFN out

The module names are the ones registry.cc's hf_names() reads for each model_type (a module's
parameters are "<prefix>.<layers>.<i>.<module>.weight"); a lowbit model file always stores them
under BERT's names (lowbit_gemm_name(): encoder.layer.<i>.attention.self.qkv,
attention.output.dense, intermediate.dense, output.dense), which `lowbit quantize` writes.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Tuple

import torch

GEMMS = ("q1", "q2", "q3", "q4")
# The engine's stored names of the four GEMMs of a layer (registry.cc, lowbit_gemm_name()).
LOWBIT_GEMM_NAMES = {"q1": "attention.self.qkv", "q2": "attention.output.dense",
                     "q3": "intermediate.dense", "q4": "output.dense"}


@dataclasses.dataclass(frozen=True)
class Family:
    model_type: str
    prefix: str  # the encoder's attribute in a task model (base_model_prefix)
    layers: str  # the encoder layers' ModuleList, below the encoder
    gemms: Dict[str, Tuple[str, ...]]  # q1..q4 -> module paths inside a layer (q1: Q, K, V)
    relative_bias: str = ""  # MPNet: the relative attention bias embedding, below the encoder
    head_activation: str = "tanh"  # the sequence classification head's dense activation


_BERT_GEMMS = {"q1": ("attention.self.query", "attention.self.key", "attention.self.value"),
               "q2": ("attention.output.dense",), "q3": ("intermediate.dense",),
               "q4": ("output.dense",)}

FAMILIES: Dict[str, Family] = {f.model_type: f for f in [
    Family("bert", "bert", "encoder.layer", _BERT_GEMMS),
    Family("roberta", "roberta", "encoder.layer", _BERT_GEMMS),
    Family("xlm-roberta", "roberta", "encoder.layer", _BERT_GEMMS),
    Family("electra", "electra", "encoder.layer", _BERT_GEMMS, head_activation="gelu"),
    Family("mpnet", "mpnet", "encoder.layer",
           {"q1": ("attention.attn.q", "attention.attn.k", "attention.attn.v"),
            "q2": ("attention.attn.o",), "q3": ("intermediate.dense",), "q4": ("output.dense",)},
           relative_bias="encoder.relative_attention_bias"),
    Family("distilbert", "distilbert", "transformer.layer",
           {"q1": ("attention.q_lin", "attention.k_lin", "attention.v_lin"),
            "q2": ("attention.out_lin",), "q3": ("ffn.lin1",), "q4": ("ffn.lin2",)},
           head_activation="relu"),
]}


def family(model) -> Family:
    """The Family of a Hugging Face model (task model, bare *Model, or anything with .config)."""
    mt = getattr(getattr(model, "config", None), "model_type", None)
    if mt not in FAMILIES:
        raise ValueError(f"model_type {mt!r} is not one the lowbit engine runs "
                         f"({', '.join(FAMILIES)})")
    return FAMILIES[mt]


def encoder(model) -> torch.nn.Module:
    """The bare encoder (*Model) of a task model, or the model itself when it is one."""
    f = family(model)
    sub = getattr(model, f.prefix, None)
    return sub if isinstance(sub, torch.nn.Module) else model


def layers(model) -> List[torch.nn.Module]:
    """The encoder layers of `model`, in order."""
    return list(encoder(model).get_submodule(family(model).layers))


def _parent(root: torch.nn.Module, path: str) -> Tuple[torch.nn.Module, str]:
    head, _, name = path.rpartition(".")
    return (root.get_submodule(head) if head else root), name


def gemm_modules(layer: torch.nn.Module, fam: Family) -> Dict[str, List[Tuple[torch.nn.Module, str]]]:
    """(parent, attribute) of each GEMM's nn.Linear(s) in one encoder layer of family `fam`."""
    return {g: [_parent(layer, p) for p in fam.gemms[g]] for g in GEMMS}


def relative_bias(model):
    """MPNet's relative attention bias embedding (None for the other families)."""
    f = family(model)
    return encoder(model).get_submodule(f.relative_bias) if f.relative_bias else None


def lowbit_gemm_name(layer: int, g: str) -> str:
    """The name the engine stores GEMM g of layer `layer` under in a lowbit model file."""
    return f"encoder.layer.{layer}.{LOWBIT_GEMM_NAMES[g]}"


def hf_gemm_names(model_type: str, layer: int) -> Dict[str, Tuple[str, ...]]:
    """The Hugging Face weight names (without .weight, with the task model's prefix) of each
    GEMM of one layer: what registry.cc's hf_names() reads for `model_type`."""
    f = FAMILIES[model_type]
    return {g: tuple(f"{f.prefix}.{f.layers}.{layer}.{p}" for p in f.gemms[g]) for g in GEMMS}
