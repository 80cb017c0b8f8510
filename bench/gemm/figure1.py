#!/usr/bin/env python3
"""lowbit's Figure 1 (the paper's §5.1): TOPS of the GEMMs of BERT-base and BERT-large layers on
one GPU, lowbit's W8A8 / W4A8 / W4A4 / FP8 kernels next to cuBLAS FP16 (torch.matmul),
cuBLASLt INT8 (torch._int_mm) and FP8 (torch._scaled_mm), all measured in one run.

On the GPU machine (after bench/gemm/make_gpu_bundle.sh here, carrying build/gpu-bundle):
    python3 bench/gemm/figure1.py run --out DIR      # times everything -> DIR/gemm-figure1.json
Anywhere with matplotlib:
    python3 bench/gemm/figure1.py report DIR/gemm-figure1.json
        -> bench/results/gemm-figure1.{json,md,png}
`run` also writes the report when it can (it copies the JSON next to the markdown).

Timing (both sides): the GPU time per call from a CUDA graph of calls over input/output buffer
sets rotated past 2x the L2 cache (median of 10 replays), and, kept in the JSON, the median of
>= 20 individually timed calls (which includes host launch costs). lowbit's GEMMs are timed by
bench_mma_gemm with the epilogue the encoder uses (per-token x per-channel dequantization + bias,
FP16 out; "fused"), and W8A8 also with raw int32 output like torch._int_mm ("raw").
"""
import argparse
import csv
import datetime
import io
import json
import math
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(ROOT, "bench", "results")

SHAPES = [  # model, GEMM, N, K
    ("BERT-base", "q1 QKV", 2304, 768), ("BERT-base", "q2 attn-out", 768, 768),
    ("BERT-base", "q3 FFN-in", 3072, 768), ("BERT-base", "q4 FFN-out", 768, 3072),
    ("BERT-large", "q1 QKV", 3072, 1024), ("BERT-large", "q2 attn-out", 1024, 1024),
    ("BERT-large", "q3 FFN-in", 4096, 1024), ("BERT-large", "q4 FFN-out", 1024, 4096)]
MS = [128, 512, 2048, 8192, 16384, 32768]
LOWBIT = [("lowbit W8A8", "w8a8", "f16"), ("lowbit W8A8 raw", "w8a8", "i32"),
          ("lowbit W4A8", "w4a8", "f16"), ("lowbit W4A4", "w4a4", "f16"),
          ("lowbit FP8", "fp8", "f16")]
TORCH = ["cuBLAS FP16", "torch._int_mm INT8", "torch._scaled_mm FP8"]
DATASHEET = {"fp16": 989.0, "int8": 1979.0, "fp8": 1979.0}  # H100 SXM dense


def time_torch(ops, ms, iters, warmup):
    import torch
    sys.path.insert(0, HERE)
    from bench_torch_int_mm import bench  # same timing loop as the int_mm baseline script

    prop = torch.cuda.get_device_properties(0)
    l2 = getattr(prop, "L2_cache_size", 50 << 20)
    rows = []

    def sets_for(kind, m, n, k):
        elem = 2 if kind == "cuBLAS FP16" else 1
        count = max(1, min(512, math.ceil(2 * l2 / ((m * k + n * k) * elem + m * n * 4))))
        out = []
        for _ in range(count):
            if kind == "cuBLAS FP16":
                a = torch.randn(m, k, dtype=torch.float16, device="cuda")
                w = torch.randn(n, k, dtype=torch.float16, device="cuda")
                out.append((a, w.t()))
            elif kind == "torch._int_mm INT8":
                a = torch.randint(-128, 128, (m, k), dtype=torch.int8, device="cuda")
                w = torch.randint(-128, 128, (n, k), dtype=torch.int8, device="cuda")
                out.append((a, w.t()))
            else:
                a = torch.randn(m, k, device="cuda").to(torch.float8_e4m3fn)
                w = torch.randn(n, k, device="cuda").to(torch.float8_e4m3fn)
                sa = torch.rand(m, 1, device="cuda") + 0.5
                sb = torch.rand(1, n, device="cuda") + 0.5
                out.append((a, w.t(), sa, sb))
        return out

    def fn_for(kind):
        if kind == "cuBLAS FP16":
            return torch.matmul
        if kind == "torch._int_mm INT8":
            return torch._int_mm
        # Row-wise scales (per token x per channel, like lowbit's), BF16 out: what cuBLASLt's
        # row-wise FP8 path supports.
        return lambda a, b, sa, sb: torch._scaled_mm(a, b, scale_a=sa, scale_b=sb,
                                                     out_dtype=torch.bfloat16)

    def graph_us(fn, sets, reps=10):
        """GPU time per call: calls over the rotated sets captured in one CUDA graph."""
        calls = max(10, min(len(sets), 256))
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for i in range(3):
                fn(*sets[i % len(sets)])
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for i in range(calls):
                fn(*sets[i % len(sets)])
        g.replay()
        times = []
        for _ in range(reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            g.replay()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b) * 1e3 / calls)
        del g
        times.sort()
        return times[len(times) // 2]

    def one(kind, m, n, k):
        sets = sets_for(kind, m, n, k)
        try:
            med, _ = bench(fn_for(kind), sets, max(20, iters), warmup)
            gus = graph_us(fn_for(kind), sets)
        except RuntimeError as e:
            return None, None, str(e).splitlines()[0][:80]
        finally:
            del sets
            torch.cuda.empty_cache()
        return gus, med, None

    peaks = {}
    for kind in ops:
        gus, med, err = one(kind, 8192, 8192, 8192)
        peaks[kind] = None if gus is None else 2 * 8192 ** 3 / (gus * 1e-6) / 1e12
        print(f"peak {kind} 8192^3: {peaks[kind]}", flush=True)
    for model, gemm, n, k in SHAPES:
        for m in ms:
            for kind in ops:
                gus, med, err = one(kind, m, n, k)
                rows.append({"model": model, "gemm": gemm, "m": m, "n": n, "k": k, "op": kind,
                             "us": gus, "call_us": med, "error": err})
                print(f"{kind:<22} {model} {gemm:<12} M={m:<6} {gus if gus else err}", flush=True)
    return rows, peaks, {"torch": torch.__version__, "gpu": prop.name}


def time_lowbit(bundle, ms, iters, warmup):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(bundle, "lib") + ":" + env.get("LD_LIBRARY_PATH", "")
    rows = []
    logs = []
    for label, kernel, out in LOWBIT:
        csv_path = os.path.join("/tmp", f"figure1-{kernel}-{out}.csv")
        cmd = [os.path.join(bundle, "bench_mma_gemm"), "--kernel", kernel, "--out", out,
               "--m", ",".join(map(str, ms)), "--iters", str(iters), "--warmup", str(warmup),
               "--csv", csv_path]
        if out == "i32":
            cmd.append("--no-bias")
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        logs.append(" ".join(cmd) + "\n" + r.stdout + r.stderr)
        print(r.stdout[-3000:], r.stderr[-2000:], flush=True)
        if r.returncode != 0:
            raise SystemExit(f"{label}: bench_mma_gemm failed ({r.returncode})")
        with open(csv_path) as f:
            for rec in csv.DictReader(f):
                n, k = int(rec["N"]), int(rec["K"])
                model, gemm = next((s[0], s[1]) for s in SHAPES if s[2] == n and s[3] == k)
                rows.append({"model": model, "gemm": gemm, "m": int(rec["M"]), "n": n, "k": k,
                             "op": label, "us": float(rec["graph_us"]),
                             "call_us": float(rec["median_us"]), "error": None,
                             "engine": rec["engine"], "tile": rec["tile"],
                             "split": int(rec["split"])})
    return rows, "\n".join(logs)


def tops(r):
    return None if r["us"] is None else 2 * r["m"] * r["n"] * r["k"] / (r["us"] * 1e-6) / 1e12


def report(data, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rows = data["rows"]
    for r in rows:
        r["tops"] = tops(r)
    ops = TORCH + [l[0] for l in LOWBIT]
    by = {(r["model"], r["gemm"], r["m"], r["op"]): r for r in rows}
    md = io.StringIO()
    md.write("# lowbit Figure 1: GEMM throughput on BERT layer shapes\n\n")
    md.write(f"Measured {data['date']} on {data['gpu']} (torch {data['torch']}), all in one run "
             f"by `bench/gemm/figure1.py`. TOPS = 2·M·N·K / GPU time per call, from a CUDA graph "
             f"of calls over operand sets rotated past 2x L2 (median of 10 replays; host launch "
             f"costs excluded on both sides, as in an engine replaying graphs; the JSON also has "
             f"the per-call median with launch costs, `call_us`). lowbit's kernels include "
             f"their fused epilogue (per-token x per-channel dequantization + bias, FP16 out) "
             f"except \"W8A8 raw\" (int32 out, no epilogue: the like-for-like with "
             f"torch._int_mm). Speed-up = over cuBLAS FP16 at the same shape.\n\n")
    md.write("Measured peaks (8192³, this run): " + ", ".join(
        f"{k} {v:.0f}" for k, v in data["peaks"].items() if v) +
        " T(FL)OPS. Datasheet dense peaks (H100 SXM): FP16 989, INT8 1979, FP8 1979.\n\n")
    for model, gemm, n, k in SHAPES:
        md.write(f"## {model} {gemm}: N={n}, K={k}\n\n")
        md.write("| M | " + " | ".join(ops) + " |\n|---|" + "---|" * len(ops) + "\n")
        for m in sorted({r["m"] for r in rows}):
            fp16 = by.get((model, gemm, m, "cuBLAS FP16"))
            cells = []
            for op in ops:
                r = by.get((model, gemm, m, op))
                if r is None or r["tops"] is None:
                    cells.append("n/a")
                    continue
                c = f"{r['tops']:.0f}"
                if op.startswith("lowbit") and fp16 and fp16["us"]:
                    c += f" ({fp16['us'] / r['us']:.2f}x)"
                cells.append(c)
            md.write(f"| {m} | " + " | ".join(cells) + " |\n")
        md.write("\n")
    # Summary against the targets (M >= 8192).
    md.write("## Against the targets (M >= 8192, all eight shapes)\n\n")
    md.write("| kernel | min TOPS | max TOPS | % of datasheet peak (max) | vs torch._int_mm (min..max) |\n"
             "|---|---|---|---|---|\n")
    for label, kernel, _ in LOWBIT:
        big = [r for r in rows if r["op"] == label and r["m"] >= 8192 and r["tops"]]
        if not big:
            continue
        ratios = []
        for r in big:
            b = by.get((r["model"], r["gemm"], r["m"], "torch._int_mm INT8"))
            if b and b["us"]:
                ratios.append(b["us"] / r["us"])
        peak = DATASHEET["fp8" if kernel == "fp8" else "int8"]
        mx = max(r["tops"] for r in big)
        md.write(f"| {label} | {min(r['tops'] for r in big):.0f} | {mx:.0f} | "
                 f"{100 * mx / peak:.0f}% | "
                 + (f"{min(ratios):.2f}x..{max(ratios):.2f}x" if ratios else "n/a") + " |\n")
    md.write("\n")
    with open(os.path.join(out_dir, "gemm-figure1.md"), "w") as f:
        f.write(md.getvalue())
    with open(os.path.join(out_dir, "gemm-figure1.json"), "w") as f:
        json.dump(data, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no PNG (run `figure1.py report` where it is installed)")
        return
    fig, axes = plt.subplots(2, 4, figsize=(20, 9), sharey=True)
    for ax, (model, gemm, n, k) in zip(axes.flat, SHAPES):
        for op in ops:
            pts = sorted((r["m"], r["tops"]) for r in rows
                         if r["model"] == model and r["gemm"] == gemm and r["op"] == op
                         and r["tops"])
            if pts:
                style = "-o" if op.startswith("lowbit") else "--s"
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=op, ms=4)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{model} {gemm} (N={n}, K={k})", fontsize=10)
        ax.set_xlabel("M (tokens)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("T(FL)OPS")
    axes[1][0].set_ylabel("T(FL)OPS")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"lowbit GEMMs vs cuBLAS on {data['gpu']} ({data['date']})")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "gemm-figure1.png"), dpi=110)
    print("wrote", os.path.join(out_dir, "gemm-figure1.png"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--bundle", default=os.path.join(ROOT, "build", "gpu-bundle"))
    r.add_argument("--m", default=",".join(map(str, MS)))
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--warmup", type=int, default=5)
    p = sub.add_parser("report")
    p.add_argument("json")
    p.add_argument("--out-dir", default=RESULTS)
    args = ap.parse_args()
    if args.cmd == "run":
        ms = [int(x) for x in args.m.split(",")]
        lrows, log = time_lowbit(args.bundle, ms, args.iters, args.warmup)
        trows, peaks, meta = time_torch(TORCH, ms, args.iters, args.warmup)
        data = {"date": datetime.date.today().isoformat(), "gpu": meta["gpu"],
                "torch": meta["torch"], "peaks": peaks, "rows": trows + lrows}
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "gemm-figure1.json"), "w") as f:
            json.dump(data, f, indent=1)
        with open(os.path.join(args.out, "gemm-figure1-lowbit.log"), "w") as f:
            f.write(log)
        report(data, args.out)
    else:
        with open(args.json) as f:
            data = json.load(f)
        report(data, args.out_dir)


if __name__ == "__main__":
    main()
