#!/usr/bin/env python3
"""Regenerates tests/data/tiny-cls/: a small random BertForSequenceClassification (Hugging Face's
own init, seed 0; stored in FP16; hidden 128 so that the GPU encoder can run it too) with a 3-label id2label, a
word-level vocab, and golden.json: transformers' FP32 logits (the reference lowbit's classify is
checked against) and the token ids of BertTokenizer for each sentence.

usage: python3 tests/data/gen_cls_golden.py      (needs torch and transformers; the tests do not)
"""
import json
import os

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny-cls")
WORDS = ("the a an and or but not no very quite really movie film story plot acting actor "
         "actors music scene scenes good great fine bad awful boring dull brilliant funny sad "
         "long short slow fast was is were are be been it this that i you we they he she one "
         "two of in on at to for with as by from so too much more most less best worst ever "
         "never love loved hate hated like liked enjoy enjoyed watch watched see saw end ending "
         "characters script director year time people made make , . ! ? ' - ##s ##ed ##ing ##ly").split()
SENTENCES = [
    "the movie was great .",
    "the acting was awful and the plot was boring .",
    "i loved the music but the ending was too long .",
    "it is not a good film , it is a bad film !",
    "brilliant , funny and sad : the best film of the year .",
    "they made a very dull movie",
    "we watched it .",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + list("abcdefghijklmnopqrstuvwxyz:")
    with open(os.path.join(OUT, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=256, max_position_embeddings=64, type_vocab_size=2,
                     id2label={0: "negative", 1: "neutral", 2: "positive"},
                     label2id={"negative": 0, "neutral": 1, "positive": 2}, pad_token_id=0,
                     initializer_range=0.15)
    model = BertForSequenceClassification(cfg).eval()
    # HF's init gives the head small weights and zero biases: scale them so the logits differ
    # visibly between sentences.
    with torch.no_grad():
        model.classifier.weight.mul_(3)
        model.classifier.bias.uniform_(-0.5, 0.5)
        model.bert.pooler.dense.bias.uniform_(-0.2, 0.2)
    tok = BertTokenizer(os.path.join(OUT, "vocab.txt"), do_lower_case=True)
    with torch.no_grad():  # centre each label's logits over the sentences: varied predictions
        mean = torch.stack([model(**tok(t, return_tensors="pt")).logits[0] for t in SENTENCES]).mean(0)
        model.classifier.bias.sub_(mean)
    # Stored in FP16 (half the bytes in the repository); the reference runs those FP16 values in
    # FP32, as lowbit does after loading.
    model.half().save_pretrained(OUT, safe_serialization=True)
    model = model.float()
    golden = {"sentences": [], "generator": "tests/data/gen_cls_golden.py",
              "transformers": __import__("transformers").__version__, "torch": torch.__version__}
    with torch.no_grad():
        for s in SENTENCES:
            enc = tok(s, return_tensors="pt")
            logits = model(**enc).logits[0].double().tolist()
            golden["sentences"].append({"text": s, "ids": enc["input_ids"][0].tolist(), "logits": logits})
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print("wrote", OUT, sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
