"""Shared by the tests: the repository's paths, tests/data/tiny-cls and its sentences, the CLI."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
TINY = os.path.join(ROOT, "tests", "data", "tiny-cls")
LOWBIT = os.environ.get("LOWBIT_BIN", os.path.join(ROOT, "build", "release", "tools", "lowbit"))


def texts():
    with open(os.path.join(TINY, "golden.json")) as f:
        return [s["text"] for s in json.load(f)["sentences"]]
