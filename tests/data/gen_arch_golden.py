#!/usr/bin/env python3
"""Regenerates tests/data/arch/: one tiny random checkpoint per encoder architecture lowbit loads,
each with a tokenizer trained on real text and Hugging Face reference outputs (golden.json).

Folders (tests/data/arch/README.md says more):
  roberta      RobertaModel,      byte-level BPE  (<s> <pad> </s> <unk> ... <mask>), FP32
  xlm-roberta  XLMRobertaModel,   Unigram + Metaspace (<s> <pad> </s> <unk> ... <mask>), FP32
  distilbert   DistilBertModel,   WordPiece, cased ([PAD] [UNK] [CLS] [SEP] [MASK]), FP32
  mpnet        MPNetModel,        WordPiece like the real MPNet (<s> <pad> </s> <unk> [UNK] ... <mask>), FP32
  electra      ElectraModel (embedding_size == hidden_size), WordPiece, uncased, FP32
  bert-bf16    BertModel, WordPiece, uncased, tokenizer.json only (no vocab.txt), weights BF16
  bert-fp16    the same BertModel weights in FP16
  roberta-cls  RobertaForSequenceClassification (3 labels; classifier.dense + out_proj on <s>)

Text: the Debian package `fortunes` (apt-get install fortunes), all of /usr/share/games/fortunes
except the drawings (art, ascii-art), overstrike sequences removed; its sha256 is printed and is
in the README. Tokenizers are trained with Hugging Face `tokenizers`, then handed (vocab, merges,
scores) to transformers' own tokenizer class, which builds its standard pipeline, and saved with
save_pretrained: tokenizer.json + tokenizer_config.json as transformers writes them.

Models: small configs (hidden 64, 4 heads of 16, intermediate 128, 3 layers; DistilBERT 2),
random weights from fixed seeds, deliberately large (std 0.2; LayerNorm gammas in [0.5, 1.5],
betas and biases random too; MPNet's relative attention bias std 1) so that a wrong position
scheme, bias or residual placement changes the outputs visibly. Saved with save_pretrained
(safetensors). References: transformers, the folder re-loaded from disk in float64 (the weights
as stored, upcast), eager attention, one text at a time: token ids (+ token type ids where the
tokenizer makes them), the CLS state (last_hidden_state[0]), the mean over all tokens
(the mask is all ones), pooler_output where the model has a pooler, and for a few texts the whole
last hidden state; values rounded to 7 significant digits.

usage: python3 tests/data/gen_arch_golden.py        (needs torch, transformers, tokenizers, fortunes)
"""
import glob
import hashlib
import json
import os
import random
import re
import shutil
import sys

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # tokenizers' trainers: one thread, same result
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import (AutoTokenizer, BertConfig, BertModel, BertTokenizer, DistilBertConfig,
                          DistilBertModel, DistilBertTokenizer, ElectraConfig, ElectraModel,
                          ElectraTokenizer, MPNetConfig, MPNetModel, MPNetTokenizer, RobertaConfig,
                          RobertaForSequenceClassification, RobertaModel, RobertaTokenizer,
                          XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "arch")
FORTUNES = "/usr/share/games/fortunes"
VOCAB = 1200
MAX_LEN = 128  # tokens per text; RoBERTa-style models have 130 positions (they start at pad + 1)


# ---------------------------------------------------------------------------------------------
# Text

def load_fortunes():
    """[(file, fortune)] in a fixed order, and the training text (one fortune per paragraph)."""
    files = sorted(f for f in glob.glob(os.path.join(FORTUNES, "*"))
                   if "." not in os.path.basename(f) and os.path.basename(f) not in ("art", "ascii-art"))
    if not files:
        sys.exit("no fortunes: apt-get install fortunes")
    out = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
        raw = re.sub(r".\x08", "", raw).replace("\x08", "")  # overstrike (x BS x, _ BS x) -> the letter
        for entry in raw.split("\n%\n"):
            entry = entry.strip("\n%")
            if entry.strip():
                out.append((os.path.basename(path), entry))
    text = "\n\n".join(e for _, e in out) + "\n"
    return out, text


def one_line(s):
    return re.sub(r"\s+", " ", s).strip()


def pick_texts(fortunes):
    """Varied real sentences (deterministic): short, medium, long fortunes, pairs, a long passage."""
    rng = random.Random(13)
    cand = [one_line(e) for _, e in fortunes]
    cand = [c for c in cand if c.isascii() and c.isprintable()]
    cand = sorted(set(cand))
    short = [c for c in cand if 15 <= len(c) < 60]
    medium = [c for c in cand if 60 <= len(c) < 200]
    long_ = [c for c in cand if 200 <= len(c) < 450]
    texts = rng.sample(short, 12) + rng.sample(medium, 14) + rng.sample(long_, 8)
    # a fortune as written, with its newlines and tabs
    multi = [e for _, e in fortunes if "\n\t" in e and 80 < len(e) < 300 and e.isascii()]
    texts.append(sorted(multi)[rng.randrange(len(multi))])
    texts += [
        "",
        "Café au lait, crème brûlée, naïve façade.",
        "Привет, как дела? Москва — столица России.",
        "I love pizza 🍕🍕🍕 and 東京タワー!",
        "   leading and trailing spaces   ",
    ]
    passage = " ".join(rng.sample(long_, 6))  # > 128 tokens in every tokenizer here
    pairs = [tuple(rng.sample(short, 2)), (rng.choice(short), rng.choice(medium)),
             (rng.choice(medium), rng.choice(medium)), (rng.choice(short), passage)]
    return texts, passage, pairs


# ---------------------------------------------------------------------------------------------
# Tokenizers: trained with `tokenizers`, wrapped by transformers' class of the architecture

# roberta-base's and xlm-roberta-base's <mask> takes the space before it (lstrip), like MPNet's.
MASK_LSTRIP = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)


def train_bpe(text):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 1, min_frequency=2, show_progress=False,
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(text.split("\n\n"), trainer)
    m = json.loads(tok.to_str())["model"]
    vocab = dict(m["vocab"])
    vocab["<mask>"] = len(vocab)  # last, as in roberta-base
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=MAX_LEN, mask_token=MASK_LSTRIP)


def train_unigram(text):
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    trainer = trainers.UnigramTrainer(vocab_size=VOCAB - 1, show_progress=False, unk_token="<unk>",
                                      special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(text.split("\n\n"), trainer)
    m = json.loads(tok.to_str())["model"]
    # The trainer's scores vary in the 11th digit from run to run and ties come out in any
    # order: rounded, and sorted by score (as SentencePiece writes them), then by piece.
    pieces = [(p, round(s, 8)) for p, s in m["vocab"]]
    assert [p for p, _ in pieces[:4]] == ["<s>", "<pad>", "</s>", "<unk>"]
    # The characters it must keep come last, with scores stepping down in hash order: the same
    # scores handed out by code point.
    n = len(pieces)
    while len(pieces[n - 1][0]) == 1:
        n -= 1
    tail = pieces[n:]
    pieces = pieces[:n] + list(zip(sorted(p for p, _ in tail), sorted((s for _, s in tail), reverse=True)))
    vocab = pieces[:4] + sorted(pieces[4:], key=lambda x: (-x[1], x[0])) + [("<mask>", 0.0)]  # <mask> last
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=MAX_LEN, mask_token=MASK_LSTRIP)


def train_wordpiece(text, specials, lowercase, unk="[UNK]", tail=()):
    tok = Tokenizer(models.WordPiece(unk_token=unk))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB - len(tail), show_progress=False,
                                        special_tokens=list(specials))
    tok.train_from_iterator(text.split("\n\n"), trainer)
    trained = json.loads(tok.to_str())["model"]["vocab"]
    # The trainer numbers its alphabet in hash order and merges of equal count in any order,
    # different every run; WordPiece's longest-match does not depend on the ids, so: specials,
    # then single characters, then ##characters, then the rest, each sorted by code point.
    rest = [t for t in trained if t not in specials]
    chars = sorted(t for t in rest if len(t) == 1)
    cont = sorted(t for t in rest if len(t) == 3 and t.startswith("##"))
    merged = sorted(t for t in rest if t not in set(chars) | set(cont))
    vocab = {t: i for i, t in enumerate(list(specials) + chars + cont + merged)}
    for t in tail:
        vocab[t] = len(vocab)
    assert sorted(vocab.values()) == list(range(len(vocab)))
    return vocab


def make_tokenizer(kind, text):
    if kind == "bpe":
        return train_bpe(text)
    if kind == "unigram":
        return train_unigram(text)
    bert_specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    if kind == "wordpiece-cased":
        return DistilBertTokenizer(vocab=train_wordpiece(text, bert_specials, False),
                                   do_lower_case=False, model_max_length=MAX_LEN)
    if kind in ("wordpiece", "wordpiece-electra"):
        cls = ElectraTokenizer if kind == "wordpiece-electra" else BertTokenizer
        return cls(vocab=train_wordpiece(text, bert_specials, True), do_lower_case=True,
                   model_max_length=MAX_LEN)
    if kind == "wordpiece-mpnet":  # microsoft/mpnet-base: <s> <pad> </s> <unk> [UNK](unk) ... <mask>
        vocab = train_wordpiece(text, ["<s>", "<pad>", "</s>", "<unk>", "[UNK]"], True, tail=("<mask>",))
        return MPNetTokenizer(vocab=vocab, do_lower_case=True, model_max_length=MAX_LEN)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------
# Models

def tiny_config(arch, vocab_size, tok):
    common = dict(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                  intermediate_size=128, hidden_act="gelu")
    if arch in ("roberta", "roberta-cls"):
        extra = {}
        if arch == "roberta-cls":
            extra = dict(num_hidden_layers=2, id2label={0: "negative", 1: "neutral", 2: "positive"},
                         label2id={"negative": 0, "neutral": 1, "positive": 2})
        return RobertaConfig(**{**common, **extra}, max_position_embeddings=MAX_LEN + 2, type_vocab_size=1,
                             pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                             eos_token_id=tok.eos_token_id, layer_norm_eps=1e-5)
    if arch == "xlm-roberta":
        return XLMRobertaConfig(**common, max_position_embeddings=MAX_LEN + 2, type_vocab_size=1,
                                pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                eos_token_id=tok.eos_token_id, layer_norm_eps=1e-5)
    if arch == "distilbert":
        return DistilBertConfig(vocab_size=vocab_size, dim=64, hidden_dim=128, n_layers=2, n_heads=4,
                                max_position_embeddings=MAX_LEN, pad_token_id=tok.pad_token_id,
                                activation="gelu", sinusoidal_pos_embds=False)
    if arch == "mpnet":
        return MPNetConfig(**common, max_position_embeddings=MAX_LEN + 2, relative_attention_num_buckets=32,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id, layer_norm_eps=1e-5)
    if arch == "electra":
        return ElectraConfig(**common, embedding_size=64, max_position_embeddings=MAX_LEN, type_vocab_size=2,
                             pad_token_id=tok.pad_token_id, layer_norm_eps=1e-12)
    if arch == "bert":
        return BertConfig(**common, max_position_embeddings=MAX_LEN, type_vocab_size=2,
                          pad_token_id=tok.pad_token_id, layer_norm_eps=1e-12)
    raise ValueError(arch)


MODEL_CLASS = {"roberta": RobertaModel, "xlm-roberta": XLMRobertaModel, "distilbert": DistilBertModel,
               "mpnet": MPNetModel, "electra": ElectraModel, "bert": BertModel,
               "roberta-cls": RobertaForSequenceClassification}


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("LayerNorm" in name or "layer_norm" in name) and name.endswith("weight"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g, dtype=torch.float64))
            elif "relative_attention_bias" in name:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64))


# ---------------------------------------------------------------------------------------------
# References

def g7(xs):
    return [float("%.7g" % v) for v in xs]


def forward(model, ids, type_ids):
    kw = {"input_ids": torch.tensor([ids])}
    if type_ids is not None:
        kw["token_type_ids"] = torch.tensor([type_ids])
    with torch.no_grad():
        return model(**kw)


def reference(model, has_pooler, ids, type_ids, full):
    out = forward(model, ids, type_ids)
    h = out.last_hidden_state[0]  # [tokens, hidden], float64
    r = {"cls": g7(h[0].tolist()), "mean": g7(h.mean(0).tolist())}
    if has_pooler:
        r["pooler"] = g7(out.pooler_output[0].tolist())
    if full:
        r["hidden"] = [g7(row) for row in h.tolist()]
    return r


def relative_buckets(max_len):
    """MPNet's bucket of each relative position key - query = -(max_len-1) .. max_len-1, as
    transformers computes it (log in float32, truncated; 32 buckets, max distance 128)."""
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder
    rel = torch.arange(-(max_len - 1), max_len)
    return {"first_relative_position": -(max_len - 1),
            "buckets": MPNetEncoder.relative_position_bucket(rel).tolist()}


def sensitivity(arch, model, case, pair):
    """Mean-vector cosine of the golden against a few wrong models: each must miss the parity
    budget (cosine >= 0.9999) by far, or the weights are too tame to catch that mistake."""
    def mean(ids, types=None, **kw):
        extra = {"token_type_ids": torch.tensor([types])} if types is not None else {}
        with torch.no_grad():
            return model(input_ids=torch.tensor([ids]), **extra, **kw).last_hidden_state[0].mean(0)

    types = case.get("type_ids")
    base = mean(case["ids"], types)
    n = len(case["ids"])
    wrong = {}
    if arch in ("roberta", "xlm-roberta", "mpnet"):
        wrong["positions from 0, not pad+1"] = mean(case["ids"], types, position_ids=torch.arange(n)[None])
    elif arch != "distilbert":
        wrong["positions shifted by 2"] = mean(case["ids"], types, position_ids=torch.arange(n)[None] + 2)
    if arch == "mpnet":
        w = model.encoder.relative_attention_bias.weight
        saved = w.detach().clone()
        with torch.no_grad():
            w.zero_()
        wrong["no relative attention bias"] = mean(case["ids"])
        with torch.no_grad():
            w.copy_(saved)
    lin = model.transformer.layer[0].ffn.lin2 if arch == "distilbert" else model.encoder.layer[0].output.dense
    saved = lin.bias.detach().clone()
    with torch.no_grad():
        lin.bias.zero_()
    wrong["layer 0 FFN output bias zeroed"] = mean(case["ids"], types)
    with torch.no_grad():
        lin.bias.copy_(saved)
    if "type_ids" in pair:
        wrong["pair without token types"] = mean(pair["ids"])
        base_pair = mean(pair["ids"], pair["type_ids"])
    out = {}
    for k, v in wrong.items():
        ref = base_pair if k == "pair without token types" else base
        c = float(torch.nn.functional.cosine_similarity(ref, v, 0))
        assert c < 0.9995, (arch, k, c)
        out[k] = c
    return out


def encode(tok, a, b=None):
    enc = tok(a, b, truncation="longest_first" if b is not None else True, max_length=MAX_LEN)
    full = tok(a, b, truncation=False)
    return enc["input_ids"], enc.get("token_type_ids"), len(full["input_ids"])


def check_tokenizer_json(d, tok, texts, pairs):
    """tokenizer.json alone (what lowbit reads) gives transformers' ids, pairs included."""
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    raw.no_truncation()
    raw.no_padding()
    for t in texts:
        assert raw.encode(t).ids == tok(t)["input_ids"], (d, t)
    for a, b in pairs:
        assert raw.encode(a, b).ids == tok(a, b)["input_ids"], (d, a, b)


def fit_prefix(tok, passage, n):
    """The longest word prefix of passage with at most n tokens (specials included)."""
    words = passage.split(" ")
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(tok(" ".join(words[:mid]))["input_ids"]) <= n:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def single_token_text(tok):
    for w in ("the", "love", "a", "I"):
        if len(tok(w)["input_ids"]) == 3:
            return w
    raise RuntimeError("no single-token word")


# ---------------------------------------------------------------------------------------------

ARCHS = [  # folder, architecture, tokenizer kind, weight dtype, seed
    ("roberta", "roberta", "bpe", torch.float32, 101),
    ("xlm-roberta", "xlm-roberta", "unigram", torch.float32, 102),
    ("distilbert", "distilbert", "wordpiece-cased", torch.float32, 103),
    ("mpnet", "mpnet", "wordpiece-mpnet", torch.float32, 104),
    ("electra", "electra", "wordpiece-electra", torch.float32, 105),
    ("bert-bf16", "bert", "wordpiece", torch.bfloat16, 106),
    ("bert-fp16", "bert", "wordpiece", torch.float16, 106),  # same weights as bert-bf16
    ("roberta-cls", "roberta-cls", "bpe", torch.float32, 107),
]
FULL_HIDDEN = 8  # cases whose whole last hidden state is stored (+ 1 pair): <= 10 texts


def build(folder, arch, kind, dtype, seed, text, texts, passage, pairs, tokenizers_cache):
    d = os.path.join(OUT, folder)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if kind not in tokenizers_cache:
        tokenizers_cache[kind] = make_tokenizer(kind, text)
    tok = tokenizers_cache[kind]
    tok.save_pretrained(d)
    if arch == "bert":  # the transformers-5 way: tokenizer.json only
        vt = os.path.join(d, "vocab.txt")
        if os.path.exists(vt):
            os.remove(vt)

    torch.manual_seed(seed)
    cfg = tiny_config(arch, len(tok), tok)
    model = MODEL_CLASS[arch](cfg).eval()
    randomize(model, seed)
    if arch == "roberta-cls":  # centre each label's logits over the texts: varied predictions
        with torch.no_grad():
            mean = torch.stack([model(**tok(t, truncation=True, max_length=MAX_LEN, return_tensors="pt")).logits[0]
                                for t in texts]).mean(0)
            model.classifier.out_proj.bias.sub_(mean)
    model.to(dtype).save_pretrained(d, safe_serialization=True)

    # The reference: the folder as saved, re-loaded, in float64.
    tok = AutoTokenizer.from_pretrained(d)
    model, info = MODEL_CLASS[arch].from_pretrained(d, dtype=torch.float64, attn_implementation="eager",
                                                    output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), (folder, info)
    model.eval()

    texts = list(texts)
    one = single_token_text(tok)
    texts.insert(FULL_HIDDEN - 2, one)
    fit = fit_prefix(tok, passage, MAX_LEN)
    texts.insert(FULL_HIDDEN - 1, passage)  # truncated to MAX_LEN: every position is used
    texts.append(fit)
    texts.append(f"The capital of France is {tok.mask_token}, not{tok.mask_token}.")  # added-token matching
    check_tokenizer_json(d, tok, texts, pairs)

    has_types = "token_type_ids" in tok.model_input_names
    has_pooler = getattr(model, "pooler", None) is not None
    cases, cls_rows = [], []
    for i, t in enumerate(texts):
        ids, type_ids, n_full = encode(tok, t)
        case = {"text": t, "ids": ids}
        if has_types:
            case["type_ids"] = type_ids
        case["untruncated_length"] = n_full
        if arch == "roberta-cls":
            with torch.no_grad():
                case["logits"] = model(input_ids=torch.tensor([ids])).logits[0].tolist()
        else:
            case.update(reference(model, has_pooler, ids, type_ids if has_types else None, i < FULL_HIDDEN))
        cases.append(case)
    out_pairs = []
    for j, (a, b) in enumerate(pairs):
        ids, type_ids, n_full = encode(tok, a, b)
        p = {"a": a, "b": b, "ids": ids}
        if has_types:
            p["type_ids"] = type_ids
        p["untruncated_length"] = n_full
        if arch == "roberta-cls":
            with torch.no_grad():
                p["logits"] = model(input_ids=torch.tensor([ids])).logits[0].tolist()
        else:
            p.update(reference(model, has_pooler, ids, type_ids if has_types else None, j == 0))
        out_pairs.append(p)

    if arch != "roberta-cls":
        for k, c in sensitivity(arch, model, cases[1], out_pairs[0]).items():
            print(f"  {folder}: {k}: mean cosine {c:.4f}")
    with open(os.path.join(d, "config.json")) as f:
        saved_cfg = json.load(f)
    doc = {
        "generator": "tests/data/gen_arch_golden.py",
        "folder": folder, "model_type": saved_cfg["model_type"], "model_class": MODEL_CLASS[arch].__name__,
        "tokenizer_class": type(tok).__name__,
        "weights_dtype": str(dtype).replace("torch.", ""),
        "reference": "transformers, this folder re-loaded in float64 (stored weights upcast), eager attention, "
                     "one text at a time, no padding",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "max_length": MAX_LEN,
        "token_type_ids": has_types,
        "outputs": (["logits"] if arch == "roberta-cls" else
                    ["cls = last_hidden_state[0]", "mean = mean of last_hidden_state over all tokens"]
                    + (["pooler = pooler_output"] if has_pooler else [])
                    + [f"hidden = last_hidden_state, cases 0..{FULL_HIDDEN - 1} and pair 0"]),
        "cases": cases, "pairs": out_pairs,
    }
    if arch == "roberta-cls":
        doc["id2label"] = saved_cfg["id2label"]
    if arch == "mpnet":
        doc["relative_position_buckets"] = relative_buckets(MAX_LEN)
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
    return d


def main():
    fortunes, text = load_fortunes()
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(f"training text: {len(fortunes)} fortunes, {len(text.encode())} bytes, sha256 {sha}")
    texts, passage, pairs = pick_texts(fortunes)
    os.makedirs(OUT, exist_ok=True)
    cache = {}
    rows = []
    for folder, arch, kind, dtype, seed in ARCHS:
        d = build(folder, arch, kind, dtype, seed, text, texts, passage, pairs, cache)
        files = sorted(os.listdir(d))
        sizes = {f: os.path.getsize(os.path.join(d, f)) for f in files}
        rows.append((folder, sum(sizes.values()), sizes))
    print(f"\n{'folder':<13} {'total':>9}  files")
    for folder, total, sizes in rows:
        print(f"{folder:<13} {total:>9}  " + ", ".join(f"{f} {s}" for f, s in sizes.items()))
    print(f"{'all':<13} {sum(r[1] for r in rows):>9}")


if __name__ == "__main__":
    main()
