"""Shared by the tests: the repository's paths, tests/data/tiny-cls and its sentences,
tests/data/arch, the CLI."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
TINY = os.path.join(ROOT, "tests", "data", "tiny-cls")
ARCH = os.path.join(ROOT, "tests", "data", "arch")  # one tiny checkpoint per engine family


def _cli():
    """$LOWBIT_BIN, else the first build of the CLI found (release, then cpu)."""
    if "LOWBIT_BIN" in os.environ:
        return os.environ["LOWBIT_BIN"]
    builds = [os.path.join(ROOT, "build", b, "tools", "lowbit") for b in ("release", "cpu")]
    return next((b for b in builds if os.path.exists(b)), builds[0])


LOWBIT = _cli()


def texts():
    with open(os.path.join(TINY, "golden.json")) as f:
        return [s["text"] for s in json.load(f)["sentences"]]
