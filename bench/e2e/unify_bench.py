#!/usr/bin/env python3
"""Two lowbit CLIs side by side (issue 13: before / after the one-model change; issue 14: before /
after the throughput work) on the TARGETS shapes (BERT-base and BERT-large with random weights,
fp16 / w8a8 / w4a8 / w4a4, the variable-length set), interleaved in one run (old, new, old, new)
so that drift shows as the spread between the two runs of each binary; with --hf, Hugging Face
FP16 (SDPA attention) on the same fixed shapes in the same run; with --baselines
compile,torchao, also torch.compile(mode="max-autotune") FP16 and torchao W8A8
(Int8DynamicActivationInt8WeightConfig) under the same compile, on --baseline-shapes (their
compilation takes minutes per shape). A baseline that fails (e.g. torchao not installed) is
logged and left out. Writes <out>/unify.md and <out>/unify.json.

  python3 bench/e2e/unify_bench.py --new build/gpu-bundle/lowbit --old build/old-cli/lowbit \
      --out /tmp/unify [--hf] [--title "..."]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (make_checkpoint, quantize)

SHAPES = {
    "base": [(["--batch", "1,32,128", "--seq", "128"]), (["--batch", "64", "--seq", "512"])],
    "large": [(["--batch", "1", "--seq", "128"]), (["--batch", "32,128", "--seq", "384"]),
              (["--varlen", "4096", "--batch", "128"])],
}
MODES = ["fp16", "w8a8", "w4a8", "w4a4"]


def log(msg):
    print(f"[unify {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench(cli, model, extra, iters):
    cmd = [cli, "bench", "--model", model, "--device", "cuda", "--format", "json", "--iters",
           str(iters), "--warmup", "3", "--qbest", "off"] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"FAILED {' '.join(cmd)}: {r.stderr.strip()[-400:]}")
        return None
    return json.loads(r.stdout)


def key_of(res):
    if "varlen" in res:
        return f"varlen {res['varlen']} (mean {res['mean_len']:.0f}), batch {res['batch']}"
    return f"{res['batch']}x{res['seq']}"


def value_of(res):  # ms per call, or ms per whole varlen pass
    return res["median_ms"] if "median_ms" in res else res["pass_s_median"] * 1e3


BASELINE_NAMES = {"compile": "torch.compile max-autotune FP16",
                  "torchao": "torchao W8A8 + compile"}


def run_baselines(a, size, ckpt, base):
    """torch.compile / torchao on this model's --baseline-shapes, into base[name][(model, shape)]."""
    shapes = [s.split(":")[1] for s in a.baseline_shapes.split(",") if s.split(":")[0] == size]
    for name in [b for b in a.baselines.split(",") if b]:
        for shape in shapes:
            b, s = (int(v) for v in shape.split("x"))
            t0 = time.time()
            try:
                r = e2e.hf_bench(ckpt, "sdpa", [b], [s], a.iters, "max-autotune",
                                 torchao_w8a8=(name == "torchao"))[0]
            except Exception as e:  # noqa: BLE001 (a missing or incompatible torchao, a compile error)
                log(f"baseline {name} bert-{size} {shape} FAILED: {type(e).__name__}: {str(e)[:300]}")
                continue
            base.setdefault(name, {})[(f"bert-{size}", shape)] = r["median_ms"]
            log(f"baseline {name} bert-{size} {shape}: {r['median_ms']:.3f} ms "
                f"(compile and warm-up {r['warmup_s']:.0f} s, total {time.time() - t0:.0f} s)")


def write(a, rows, hf, gpu, base=None):
    """<out>/unify.json and unify.md from the rows so far (called after every shape group, so a
    run cut short keeps what it measured)."""
    for r in rows:
        r["hf_sdpa_ms"] = hf.get((r["model"], r["shape"]))
    json.dump({"rows": rows, "baselines": {k: {f"{m} {sh}": v for (m, sh), v in d.items()}
                                           for k, d in (base or {}).items()}},
              open(os.path.join(a.out, "unify.json"), "w"), indent=1)
    lines = [f"# {a.title} ({gpu}, {time.strftime('%Y-%m-%d')})", "",
             "Median wall time per call (host to host, CUDA graphs, qbest off), two runs of each "
             "binary interleaved old/new/old/new; ratio = best old / best new (> 1: faster now). "
             "Variable length: ms per pass over all sequences." +
             (" HF: Hugging Face BertModel FP16, SDPA attention, same checkpoint, same run; "
              "HF / after > 1: lowbit faster." if a.hf else ""), "",
             "| model | mode | shape | before (ms, 2 runs) | after (ms, 2 runs) | after vs before | "
             "GPU weights MiB before / after |" + (" HF SDPA ms | HF / after |" if a.hf else ""),
             "|---|---|---|---|---|---|---|" + ("---|---|" if a.hf else "")]
    for r in rows:
        h = r["hf_sdpa_ms"]
        lines.append(f"| {r['model']} | {r['mode']} | {r['shape']} | "
                     f"{r['old_ms'][0]:.3f}, {r['old_ms'][1]:.3f} | {r['new_ms'][0]:.3f}, "
                     f"{r['new_ms'][1]:.3f} | {r['ratio']:.3f}× | "
                     f"{r['weights_MiB_old']:.0f} / {r['weights_MiB_new']:.0f} |" +
                     ((f" {h:.3f} | {h / min(r['new_ms']):.2f}× |" if h else " – | – |")
                      if a.hf else ""))
    if base:
        lines += ["", "What a PyTorch user would pick instead, same run (ms per call; lowbit: its fastest "
                  "mode after this work at that shape; ratio > 1: lowbit faster):", "",
                  "| model | shape | " + " | ".join(BASELINE_NAMES[b] for b in a.baselines.split(",")) +
                  " | lowbit best (mode) | " +
                  " | ".join(f"vs {BASELINE_NAMES[b]}" for b in a.baselines.split(",")) + " |",
                  "|---|---|" + "---|" * (2 * len(a.baselines.split(",")) + 1)]
        for (model, shape) in sorted({k for v in base.values() for k in v}):
            mine = [(min(r["new_ms"]), r["mode"]) for r in rows
                    if r["model"] == model and r["shape"] == shape]
            best = min(mine) if mine else None
            vals = [base.get(b, {}).get((model, shape)) for b in a.baselines.split(",")]
            lines.append(f"| {model} | {shape} | " +
                         " | ".join(f"{v:.3f}" if v else "–" for v in vals) + " | " +
                         (f"{best[0]:.3f} ({best[1]})" if best else "–") + " | " +
                         " | ".join(f"{v / best[0]:.2f}×" if v and best else "–" for v in vals) + " |")
    open(os.path.join(a.out, "unify.md"), "w").write("\n".join(lines) + "\n")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--new", required=True)
    ap.add_argument("--old", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", default="/tmp/lowbit-unify")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--models", default="base,large")
    ap.add_argument("--hf", action="store_true",
                    help="also Hugging Face FP16 SDPA on the fixed shapes (torch + transformers)")
    ap.add_argument("--title", default="Before / after the one-model change")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--first-shape-only", action="store_true",
                    help="only each model's first shape group (a quick re-check)")
    ap.add_argument("--baselines", default="",
                    help="comma list of compile (torch.compile max-autotune, FP16) and torchao "
                         "(torchao W8A8 under the same compile)")
    ap.add_argument("--baseline-shapes", default="base:1x128,large:128x384",
                    help="model:BxS list the --baselines run on")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    rows = []
    hf = {}  # (model, "BxS") -> ms
    base = {}  # baseline name -> (model, "BxS") -> ms
    for size in a.models.split(","):
        ckpt = e2e.make_checkpoint(a.root, size)
        run_baselines(a, size, ckpt, base)
        if a.hf:
            for extra in SHAPES[size]:
                if "--varlen" in extra:
                    continue
                bs = [int(v) for v in extra[extra.index("--batch") + 1].split(",")]
                ss = [int(v) for v in extra[extra.index("--seq") + 1].split(",")]
                for r in e2e.hf_bench(ckpt, "sdpa", bs, ss, a.iters):
                    hf[(f"bert-{size}", f"{r['batch']}x{r['seq']}")] = r["median_ms"]
        for mode in a.modes.split(","):
            model = e2e.quantize(a.new, ckpt, mode, a.root)
            for extra in SHAPES[size][:1] if a.first_shape_only else SHAPES[size]:
                runs = {"old": [], "new": []}
                for rep in range(2):
                    for which in ("old", "new"):
                        t0 = time.time()
                        r = bench(a.old if which == "old" else a.new, model, extra,
                                  a.iters if "--varlen" not in extra else max(3, a.iters // 5))
                        log(f"bert-{size} {mode} {' '.join(extra)} {which}#{rep}: "
                            f"{time.time() - t0:.1f} s")
                        runs[which].append(r)
                if any(r is None for v in runs.values() for r in v):
                    continue
                for i, res in enumerate(runs["new"][0]["results"]):
                    o = [value_of(runs["old"][k]["results"][i]) for k in range(2)]
                    n = [value_of(runs["new"][k]["results"][i]) for k in range(2)]
                    rows.append({"model": f"bert-{size}", "mode": mode, "shape": key_of(res),
                                 "old_ms": o, "new_ms": n,
                                 "ratio": min(o) / min(n),
                                 "weights_MiB_old": runs["old"][0]["results"][i]["weights_bytes"] / 2**20,
                                 "weights_MiB_new": res["weights_bytes"] / 2**20})
                    log(f"  {rows[-1]['shape']}: old {o} new {n} -> {rows[-1]['ratio']:.3f}x")
                write(a, rows, hf, gpu, base)
    print("\n".join(write(a, rows, hf, gpu, base)))


if __name__ == "__main__":
    main()
