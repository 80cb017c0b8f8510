#!/usr/bin/env python3
"""Real English sentences from Debian's `fortunes` package (human-written quotations, jokes,
literature and definitions), extracted deterministically: split each fortune into sentences,
keep those of 5..60 words made of printable text, drop duplicates, keep file order.

usage: python3 bench/real_text.py N > sentences.txt   (installs `fortunes` with apt if missing)
"""
import os
import re
import subprocess
import sys

ROOT = "/usr/share/games/fortunes"
# Prose collections only (no ASCII art, no offensive section).
FILES = ["literature", "wisdom", "humorists", "education", "science", "politics", "people",
         "work", "computers", "love", "food", "law", "medicine", "fortunes", "definitions",
         "platitudes", "men-women", "miscellaneous", "songs-poems", "sports", "pets", "kids"]


def ensure_installed():
    if not os.path.isdir(ROOT):
        subprocess.run(["apt-get", "install", "-y", "-qq", "fortunes"], check=True,
                       stdout=subprocess.DEVNULL)


def sentences(limit):
    ensure_installed()
    seen, out = set(), []
    for name in FILES:
        path = os.path.join(ROOT, name)
        if not os.path.exists(path):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        for fortune in text.split("\n%\n"):
            body = " ".join(line.strip() for line in fortune.splitlines()
                            if not line.strip().startswith("--"))
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", body):
                s = re.sub(r"\s+", " ", s).strip()
                words = s.split()
                if not 5 <= len(words) <= 60 or not s.isprintable() or s in seen:
                    continue
                seen.add(s)
                out.append(s)
                if len(out) == limit:
                    return out
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    got = sentences(n)
    if len(got) < n:
        sys.exit(f"only {len(got)} sentences found, {n} asked for")
    sys.stdout.write("\n".join(got) + "\n")
