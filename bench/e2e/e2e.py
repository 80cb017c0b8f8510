#!/usr/bin/env python3
"""End-to-end encoder benchmark: lowbit (FP16, W8A8, W4A8, W4A4, FP8) against Hugging Face FP16
(eager and SDPA attention, optionally torch.compile) on BERT-base and BERT-large shapes, in one
run on one GPU.

    python3 bench/e2e/e2e.py run --lowbit build/gpu-bundle/lowbit --out $OUT/e2e [--models base,large]
    python3 bench/e2e/e2e.py report --raw bench/results/e2e-raw.json --out bench/results/e2e

`run` (on the GPU machine: torch + transformers, no network):
  1. writes random-weight BERT checkpoints (transformers' own init, seed 0) with a vocab.txt;
  2. quantizes each with `lowbit quantize --recipe MODE` (post-training, no calibration: speed
     does not depend on the values) into a lowbit model per mode;
  3. times `lowbit bench` per mode and Hugging Face per attention implementation over the same
     batch x sequence grid. Both sides are timed the same way: wall clock around one call that
     returns results on the host (lowbit: pooled embeddings copied back; HF: last hidden state,
     torch.cuda.synchronize()), median of --iters runs after warm-up;
  4. variable lengths (lowbit): --varlen sequences, lengths ~ N(180, 80) clipped to 16..384;
  5. writes one JSON with everything (and the GPU, versions, commands).
`report` turns that JSON into markdown tables and PNG plots.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

BATCHES = [1, 8, 32, 64, 128]
SEQS = [32, 128, 384, 512]
MODES = ["fp16", "w8a8", "w4a8", "w4a4", "fp8", "w4a4-qbest"]
SIZES = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_checkpoint(root, size):
    import torch
    from transformers import BertConfig, BertModel

    d = os.path.join(root, f"bert-{size}")
    if os.path.exists(os.path.join(d, "model.safetensors")):
        return d
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, max_position_embeddings=512, **SIZES[size])
    model = BertModel(cfg, add_pooling_layer=False)
    model.save_pretrained(d, safe_serialization=True)
    # A vocabulary of the right size: the benchmark feeds token ids, never text.
    special = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        for i in range(cfg.vocab_size):
            f.write(special.get(i, f"[unused{i}]" if i < 1000 else f"tok{i}") + "\n")
    return d


def quantize(lowbit, src, mode, root):
    if mode == "fp16":
        return src  # the GPU runs an FP32 checkpoint's GEMMs in FP16
    dst = os.path.join(root, f"{os.path.basename(src)}-{mode}")
    if not os.path.exists(os.path.join(dst, "recipe.json")):
        t0 = time.time()
        subprocess.run([lowbit, "quantize", "--model", src, "--out", dst, "--recipe", mode, "--force"],
                       check=True, stdout=subprocess.DEVNULL)
        log(f"quantized {src} -> {mode} in {time.time() - t0:.1f} s")
    return dst


def lowbit_bench(lowbit, model, iters, extra, qbest="off"):
    cmd = [lowbit, "bench", "--model", model, "--device", "cuda", "--format", "json",
           "--iters", str(iters), "--warmup", "3", "--qbest", qbest] + extra
    t0 = time.time()
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    log(f"{' '.join(cmd[3:])}: {time.time() - t0:.1f} s")
    return json.loads(r.stdout)


def hf_bench(ckpt, impl, batches, seqs, iters, compile_mode=None, torchao_w8a8=False):
    """Hugging Face BertModel FP16 on the GPU, wall time per call. compile_mode: torch.compile
    (e.g. "max-autotune", which also captures CUDA graphs); torchao_w8a8: torchao's
    Int8DynamicActivationInt8WeightConfig (int8 weights, dynamic per-token int8 activations)
    applied first (then usually compiled, as torchao intends)."""
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(ckpt, attn_implementation=impl, dtype=torch.float16).cuda().eval()
    if torchao_w8a8:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantize_(model, Int8DynamicActivationInt8WeightConfig())
    fn = model
    if compile_mode:
        fn = torch.compile(model, mode=compile_mode)
    out = []
    g = torch.Generator(device="cuda").manual_seed(0)
    for b in batches:
        for s in seqs:
            ids = torch.randint(1000, 30522, (b, s), device="cuda", generator=g)
            mask = torch.ones_like(ids)
            with torch.inference_mode():
                t_first = time.time()
                for _ in range(3 if not compile_mode else 5):
                    fn(input_ids=ids, attention_mask=mask).last_hidden_state
                torch.cuda.synchronize()
                warm_s = time.time() - t_first
                ms = []
                for _ in range(iters):
                    t0 = time.perf_counter()
                    fn(input_ids=ids, attention_mask=mask).last_hidden_state
                    torch.cuda.synchronize()
                    ms.append((time.perf_counter() - t0) * 1e3)
            ms.sort()
            out.append({"batch": b, "seq": s, "median_ms": ms[len(ms) // 2],
                        "p90_ms": ms[int(0.9 * (len(ms) - 1))], "warmup_s": warm_s,
                        "sequences_per_s": b / (ms[len(ms) // 2] / 1e3)})
            log(f"HF {impl}{' torchao w8a8' if torchao_w8a8 else ''}"
                f"{' compile ' + compile_mode if compile_mode else ''} {b}x{s}: {ms[len(ms) // 2]:.3f} ms")
    del model, fn
    torch.cuda.empty_cache()
    return out


def qbest_tune(lowbit, model, batches, seqs, report):
    """lowbit tune: every allowed mix of q1..q4 modes per shape; writes <model>/qbest.json."""
    cmd = [lowbit, "tune", "--model", model, "--batch", batches, "--seq", seqs, "--layers", "1",
           "--format", "json", "--report", report]
    t0 = time.time()
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    log(f"{' '.join(cmd[1:])}: {time.time() - t0:.1f} s")
    out = json.loads(r.stdout)
    out["wall_s"] = time.time() - t0
    return out


def cmd_run(args):
    import torch
    import transformers

    root = args.work
    os.makedirs(root, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    batches = [int(x) for x in args.batches.split(",")]
    seqs = [int(x) for x in args.seqs.split(",")]
    raw = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "transformers": transformers.__version__, "python": platform.python_version(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "iters": args.iters,
           "timing": "wall clock per call, host to host (inputs in, results back), median",
           "models": {}}
    t_start = time.time()
    for size in args.models.split(","):
        ckpt = make_checkpoint(root, size)
        entry = {"lowbit": {}, "hf": {}, "varlen": {}}
        for mode in ([] if args.no_lowbit else args.modes.split(",")):
            qbest = mode.endswith("-qbest")
            m = quantize(args.lowbit, ckpt, mode[:-len("-qbest")] if qbest else mode, root)
            if qbest:
                entry["qbest"] = qbest_tune(args.lowbit, m, args.batches, args.seqs,
                                            os.path.join(args.out, f"qbest-bert-{size}.md"))
            plan = "auto" if qbest else "off"
            entry["lowbit"][mode] = lowbit_bench(args.lowbit, m, args.iters,
                                                 ["--batch", args.batches, "--seq", args.seqs], plan)
            if args.varlen and size == "large":
                entry["varlen"][mode] = lowbit_bench(
                    args.lowbit, m, 3,
                    ["--varlen", str(args.varlen), "--batch", "128", "--max-len", "384"], plan)
        if not args.no_hf:
            for impl in ("eager", "sdpa"):
                entry["hf"][impl] = hf_bench(ckpt, impl, batches, seqs, args.iters)
        if args.compile:
            # The TARGETS shapes only: max-autotune compiles (and autotunes) once per shape, for
            # minutes each. Shapes that do not fit in --compile-budget-s are left out (logged).
            shapes = [(1, 128), (64, 512)] if size == "base" else [(1, 128), (128, 384)]
            entry["hf"]["compile"] = []
            for b, s in shapes:
                if time.time() - t_start > args.compile_budget_s:
                    log(f"compile budget spent: BERT-{size} {b}x{s} left out")
                    continue
                entry["hf"]["compile"] += hf_bench(ckpt, "sdpa", [b], [s], args.iters, "max-autotune")
        raw["models"][size] = entry
        with open(os.path.join(args.out, "e2e-raw.json"), "w") as f:
            json.dump(raw, f, indent=1)
    log("wrote", os.path.join(args.out, "e2e-raw.json"))


def targets_section(raw):
    """../shared/TARGETS.md's numbers against the best lowbit mode of this run."""
    def best(size, b, s):
        e = raw["models"].get(size)
        if not e:
            return None, None
        rows = [(r["median_ms"], m) for m, v in e["lowbit"].items() for r in v["results"]
                if (r["batch"], r["seq"]) == (b, s)]
        return min(rows) if rows else (None, None)

    md = ["## The targets of TARGETS.md", "",
          "| target | best lowbit (mode) | met |", "|---|---|---|"]
    for size, b, s, limit in (("base", 1, 128, 0.20), ("base", 64, 512, 6.0), ("large", 1, 128, 0.40)):
        ms, m = best(size, b, s)
        if ms is not None:
            md.append(f"| BERT-{size} {b}x{s} <= {limit} ms | {ms:.3f} ms ({m}) | {'yes' if ms <= limit else 'no'} |")
    ms, m = best("large", 128, 384)
    if ms is not None:
        sps = 128 / (ms / 1e3)
        md.append(f"| BERT-large 128x384 >= 4,000 seq/s | {sps:,.0f} seq/s ({m}) | {'yes' if sps >= 4000 else 'no'} |")
    var = raw["models"].get("large", {}).get("varlen", {})
    if var:
        m, v = max(var.items(), key=lambda kv: kv[1]["results"][0]["sequences_per_s"])
        sps = v["results"][0]["sequences_per_s"]
        md.append(f"| variable-length BERT-large >= 9,100 seq/s | {sps:,.0f} seq/s ({m}) | {'yes' if sps >= 9100 else 'no'} |")
    for size in ("base", "large"):
        e = raw["models"].get(size)
        if not e or "w4a8" not in e["lowbit"] or "w8a8" not in e["lowbit"]:
            continue
        def at(mode, b, s):
            return next((r["median_ms"] for r in e["lowbit"][mode]["results"] if (r["batch"], r["seq"]) == (b, s)), None)
        for b, s in ((1, 128), (8, 128)):
            i8, i4 = at("w8a8", b, s), at("w4a8", b, s)
            i4q = at("w4a4-qbest", b, s) if "w4a4-qbest" in e["lowbit"] else None
            if i8 and i4:
                best4 = min(x for x in (i4, i4q) if x)
                md.append(f"| INT4 >= 1.3x INT8, BERT-{size} {b}x{s} | w8a8 {i8:.3f} ms; w4a8 {i4:.3f} ms"
                          + (f", w4a4-qbest {i4q:.3f} ms" if i4q else "")
                          + f": {i8 / best4:.2f}x | {'yes' if i8 / best4 >= 1.3 else 'no'} |")
    return md + [""]


def cmd_report(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = args.raw.split(",")  # runs split across device calls: their models merged
    raw = json.load(open(paths[0]))
    for extra_path in paths[1:]:
        raw["models"].update(json.load(open(extra_path))["models"])
    if args.compile_raw:
        extra = json.load(open(args.compile_raw))
        for size, e in extra["models"].items():
            if size in raw["models"] and "compile" in e["hf"]:
                raw["models"][size]["hf"]["compile"] = e["hf"]["compile"]
    md = [f"# End-to-end BERT encoder: lowbit vs Hugging Face ({raw['gpu']})", "",
          f"Generated by `bench/e2e/e2e.py report` from `{', '.join(os.path.basename(p) for p in paths + ([args.compile_raw] if args.compile_raw else []))}` "
          f"({raw['date']}; torch {raw['torch']}, transformers {raw['transformers']}).",
          f"Timing: {raw['timing']} of {raw['iters']} runs. Random weights (speed does not depend on "
          "them). lowbit modes apply to all four GEMMs of every layer (the paper's *-qall); "
          "lowbit fp16 runs the FP32 checkpoint with FP16 GEMMs. The last column is HF SDPA's time over "
          "the fastest lowbit mode's. HF at small shapes is bound by its Python / launch overhead, "
          "so its times there vary by a few ms between runs. HF compile is torch.compile "
          "mode=max-autotune (CUDA graphs, autotuned Triton / cuBLAS GEMMs), on the TARGETS shapes only: "
          "it compiles and autotunes per shape for minutes. w4a4-qbest is the W4A4 model following "
          "the plan `lowbit tune` wrote for it (q1..q4 each in w4a4, w4a8, w8a8 or fp16 per token count).", ""]
    summary = {}
    for size, e in raw["models"].items():
        hf = {impl: {(r["batch"], r["seq"]): r for r in rows} for impl, rows in e["hf"].items()}
        lb = {m: {(r["batch"], r["seq"]): r for r in v["results"]} for m, v in e["lowbit"].items()}
        shapes = sorted({k for v in lb.values() for k in v} | {k for v in hf.values() for k in v})
        cols = [f"HF {i}" for i in hf] + [f"lowbit {m}" for m in lb]
        md += [f"## BERT-{size}: latency (ms)", "",
               "| batch x seq | " + " | ".join(cols) + " | best lowbit vs HF sdpa |",
               "|---" * (len(cols) + 2) + "|"]
        for k in shapes:
            row = [f"{k[0]} x {k[1]}"]
            for i in hf:
                row.append(f"{hf[i][k]['median_ms']:.3f}" if k in hf[i] else "")
            best = None
            for m in lb:
                if k in lb[m]:
                    v = lb[m][k]["median_ms"]
                    row.append(f"{v:.3f}")
                    best = v if best is None else min(best, v)
                else:
                    row.append("")
            ref = hf.get("sdpa", {}).get(k)
            row.append(f"{ref['median_ms'] / best:.1f}x" if ref and best else "")
            md.append("| " + " | ".join(row) + " |")
        md += ["", f"## BERT-{size}: throughput (sequences/s)", "",
               "| batch x seq | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for k in shapes:
            row = [f"{k[0]} x {k[1]}"]
            for i in hf:
                row.append(f"{hf[i][k]['sequences_per_s']:.0f}" if k in hf[i] else "")
            for m in lb:
                row.append(f"{lb[m][k]['sequences_per_s']:.0f}" if k in lb[m] else "")
            md.append("| " + " | ".join(row) + " |")
        md += ["", "Speed-up of each lowbit mode over HF FP16 SDPA (eager in brackets):", "",
               "| batch x seq | " + " | ".join(lb) + " |", "|---" * (len(lb) + 1) + "|"]
        for k in shapes:
            row = [f"{k[0]} x {k[1]}"]
            for m in lb:
                if k in lb[m] and k in hf.get("sdpa", {}):
                    v = lb[m][k]["median_ms"]
                    eager = hf.get("eager", {}).get(k)
                    row.append(f"{hf['sdpa'][k]['median_ms'] / v:.1f}x" +
                               (f" ({eager['median_ms'] / v:.1f}x)" if eager else ""))
                else:
                    row.append("")
            md.append("| " + " | ".join(row) + " |")
        mem = {m: v["results"][-1] for m, v in e["lowbit"].items() if v["results"]}
        md += ["", "GPU memory (lowbit): weights and activation buffers at the largest shape:", "",
               "| mode | weights MiB | activations MiB |", "|---|---|---|"]
        for m, r in mem.items():
            md.append(f"| {m} | {r['weights_bytes'] / 2**20:.1f} | {r['activation_bytes'] / 2**20:.1f} |")
        if e.get("varlen"):
            md += ["", f"## BERT-{size}: variable lengths", ""]
            for m, v in e["varlen"].items():
                r = v["results"][0]
                md.append(f"- {m}: {r['varlen']} sequences, lengths ~ N(180, 80) clipped to 16..{r['max_len']} "
                          f"(mean {r['mean_len']:.0f} tokens), batches of {r['batch']}: "
                          f"**{r['sequences_per_s']:.0f} sequences/s**")
        if e.get("qbest"):
            q = e["qbest"]
            md += ["", f"## BERT-{size}: qbest (lowbit tune on the w4a4 model)", "",
                   f"`lowbit tune` timed {len(q['shapes'][0]['mixes_ms'])} mixes per shape (q1/q2/q3/q4 each in "
                   + ", ".join("{" + ", ".join(m) + "}" for m in q["modes"])
                   + f") on a pass through {q['layers_timed']} layer, in {q['wall_s']:.0f} s for all shapes. "
                   "The engine then follows the plan (column w4a4-qbest above). Fastest mix per shape:", "",
                   "| batch x seq | fastest mix (q1/q2/q3/q4) | 1 layer ms | w4a4-qall ms | gain |",
                   "|---|---|---|---|---|"]
            for r in q["shapes"]:
                md.append(f"| {r['batch']} x {r['seq']} | {r['best']} | {r['best_ms']:.3f} | "
                          f"{r['recipe_ms']:.3f} | {r['recipe_ms'] / r['best_ms']:.2f}x |")
        md.append("")
        summary[size] = (shapes, hf, lb)
        # Plot: latency vs shape per engine, log scale.
        fig, ax = plt.subplots(figsize=(12, 5))
        xs = list(range(len(shapes)))
        for i in hf:
            ax.plot(xs, [hf[i][k]["median_ms"] if k in hf[i] else None for k in shapes], "o--", label=f"HF fp16 {i}")
        for m in lb:
            ax.plot(xs, [lb[m][k]["median_ms"] if k in lb[m] else None for k in shapes], "s-", label=f"lowbit {m}")
        ax.set_xticks(xs, [f"{b}x{s}" for b, s in shapes], rotation=60)
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms (log)")
        ax.set_title(f"BERT-{size} end to end on {raw['gpu']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(f"{args.out}-bert-{size}.png", dpi=110)
        plt.close(fig)
    md += targets_section(raw)
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md))
    print("wrote", args.out + ".md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--lowbit", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--work", default="/tmp/lowbit-e2e")
    r.add_argument("--models", default="base,large")
    r.add_argument("--modes", default=",".join(MODES))
    r.add_argument("--batches", default=",".join(map(str, BATCHES)))
    r.add_argument("--seqs", default=",".join(map(str, SEQS)))
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--varlen", type=int, default=4096)
    r.add_argument("--no-hf", action="store_true")
    r.add_argument("--no-lowbit", action="store_true")
    r.add_argument("--compile-budget-s", type=float, default=420)
    r.add_argument("--compile", action="store_true", help="also torch.compile max-autotune (slow)")
    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--compile-raw", help="a second run's JSON with HF torch.compile results to merge")
    p.add_argument("--out", required=True)
    a = ap.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_report(a)


if __name__ == "__main__":
    main()
