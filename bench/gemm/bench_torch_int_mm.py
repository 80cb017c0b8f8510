#!/usr/bin/env python3
"""Baselines for bench_mma_gemm, timed the same way: torch._int_mm (cuBLASLt INT8, int32 out)
and an FP16 matmul (cuBLAS), same shapes, warm-up, CUDA events, median of >= 20 runs, input sets
rotated so that together they exceed 2x the L2 cache.

  python3 bench/gemm/bench_torch_int_mm.py                 # BERT-base and -large shapes
  python3 bench/gemm/bench_torch_int_mm.py --m 128,8192 --n 3072 --k 768
"""
import argparse
import math

import torch

BERT = [(2304, 768), (768, 768), (3072, 768), (768, 3072),
        (3072, 1024), (1024, 1024), (4096, 1024), (1024, 4096)]


def bench(fn, sets, iters, warmup):
    for i in range(warmup):
        fn(*sets[i % len(sets)])
    times = []
    for i in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn(*sets[i % len(sets)])
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", default="1,16,64,128,512,2048,8192,16384")
    ap.add_argument("--n", type=int)
    ap.add_argument("--k", type=int)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    ms = [int(x) for x in args.m.split(",")]
    shapes = [(args.n, args.k)] if args.n and args.k else BERT
    prop = torch.cuda.get_device_properties(0)
    l2 = getattr(prop, "L2_cache_size", 50 << 20)
    print(f"# {prop.name}, {prop.multi_processor_count} SMs, torch {torch.__version__}; "
          f"rotating >= {2 * l2 / 1e6:.0f} MB; {args.iters} runs after {args.warmup} warm-up")
    print(f"{'op':<8} {'M':>6} {'N':>6} {'K':>6} {'median_us':>10} {'min_us':>10} {'TOPS':>9}")
    for n, k in shapes:
        for m in ms:
            for name, dtype in (("int_mm", torch.int8), ("fp16_mm", torch.float16)):
                elem = 1 if dtype == torch.int8 else 2
                set_bytes = (m * k + n * k) * elem + m * n * 4
                count = max(1, min(4096, math.ceil(2 * l2 / set_bytes)))
                sets = []
                for _ in range(count):
                    if dtype == torch.int8:
                        a = torch.randint(-128, 128, (m, k), dtype=torch.int8, device="cuda")
                        w = torch.randint(-128, 128, (n, k), dtype=torch.int8, device="cuda")
                    else:
                        a = torch.randn(m, k, dtype=dtype, device="cuda")
                        w = torch.randn(n, k, dtype=dtype, device="cuda")
                    sets.append((a, w.t()))  # B = Wᵀ, column-major: cuBLASLt's fast layout
                fn = torch._int_mm if dtype == torch.int8 else torch.matmul
                try:
                    med, mn = bench(fn, sets, max(20, args.iters), args.warmup)
                except RuntimeError as e:  # torch._int_mm refuses some small M
                    print(f"{name:<8} {m:>6} {n:>6} {k:>6}  n/a: {str(e).splitlines()[0][:60]}")
                    continue
                tops = 2 * m * n * k / (med * 1e-6) / 1e12
                print(f"{name:<8} {m:>6} {n:>6} {k:>6} {med:>10.2f} {mn:>10.2f} {tops:>9.1f}")
                del sets


if __name__ == "__main__":
    main()
