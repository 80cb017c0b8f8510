#!/usr/bin/env bash
# The GPU machine's side of issue 14 (throughput), in stages that each fit one device call
# (results under $OUT; carry build/gpu-bundle.tgz from bench/gemm/make_gpu_bundle.sh):
#   bash bench/e2e/run_throughput_device.sh check  GPU tests: the Hopper GEMMs in both schedules
#                                                  (test_cuda_wgmma), every op vs the CPU
#                                                  (test_ops), the encoder vs the CPU
#                                                  (test_gpu_encoder); the first two again with
#                                                  LOWBIT_CUDA_SYNC=1
#   bash bench/e2e/run_throughput_device.sh gemm   the 8 BERT GEMM shapes x M, cooperative vs
#                                                  ping-pong, W8A8 / W4A8 / FP8, one run
#   bash bench/e2e/run_throughput_device.sh e2e    lowbit end to end on the TARGETS shapes with
#                                                  LOWBIT_GEMM_SCHEDULE=cooperative vs the shipped
#                                                  choice (auto), interleaved (unify_bench.py); the
#                                                  per-stage profile of BERT-large 128x384 in all
#                                                  three schedules; variable lengths in arrival
#                                                  order vs offline batching
#   bash bench/e2e/run_throughput_device.sh profile  the per-stage profile of BERT-large 128x384
#                                                  in each schedule and mode; variable lengths in
#                                                  drawn order vs offline batching
#   bash bench/e2e/run_throughput_device.sh final  before / after (carry build/old-cli.tgz: the
#                                                  CLI of the commit before) with Hugging Face FP16
#                                                  SDPA on the same shapes, one run (with
#                                                  LOWBIT_UNIFY_ARGS="--baselines compile,torchao"
#                                                  also torch.compile and torchao W8A8)
#   bash bench/e2e/run_throughput_device.sh figure1  the GEMM Figure 1 (bench/gemm/figure1.py run)
#   bash bench/e2e/run_throughput_device.sh cutlass  the CUTLASS engine: its tests, the GEMMs
#                                                  and end to end next to the wgmma engine
#   bash bench/e2e/run_throughput_device.sh tune   lowbit tune-gemm on the BERT shapes (the plan)
#   bash bench/e2e/run_throughput_device.sh ncu    Nsight Compute on one BERT-large 128x384 layer
#   bash bench/e2e/run_throughput_device.sh ncu-source  per-SASS-line counters from a report
# Several stages in one call: bash run_throughput_device.sh check gemm e2e
set -u
mkdir -p build "$OUT/logs"
rm -rf build/gpu-bundle && tar xzf build/gpu-bundle.tgz -C build
export LD_LIBRARY_PATH=$PWD/build/gpu-bundle/lib
export LOWBIT_TEST_DATA_DIR=$PWD/tests/data
B=$PWD/build/gpu-bundle
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/logs/gpu.txt"
git rev-parse --short HEAD 2>/dev/null | tee "$OUT/logs/commit.txt"
# Wrappers: the same CLI with the GEMM schedule pinned (unify_bench.py takes two binaries).
for s in cooperative pingpong auto; do
  printf '#!/bin/sh\nLOWBIT_GEMM_SCHEDULE=%s exec %s "$@"\n' "$s" "$B/lowbit" >"build/lowbit-$s"
  chmod +x "build/lowbit-$s"
done
# ... and with the GEMM engine pinned under Auto (LOWBIT_GEMM_ENGINE).
for e in wgmma cutlass; do
  printf '#!/bin/sh\nLOWBIT_GEMM_ENGINE=%s exec %s "$@"\n' "$e" "$B/lowbit" >"build/lowbit-$e"
  chmod +x "build/lowbit-$e"
done
for stage in "$@"; do
  case $stage in
    check)
      for t in ${LOWBIT_TESTS:-test_cuda_wgmma test_cuda_quant test_cuda_attention test_ops test_gpu_encoder}; do
        timeout 240 "$B/$t" --gtest_filter=-*MiniLm*:*RealMpnet* >"$OUT/logs/$t.log" 2>&1
        echo "$t rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/$t.log" | tr '\n' ' ')"
        grep -E '^\[  FAILED|Failure' -A4 "$OUT/logs/$t.log" | head -20
      done
      for t in ${LOWBIT_SYNC_TESTS:-test_cuda_wgmma test_ops}; do
        LOWBIT_CUDA_SYNC=1 timeout 200 "$B/$t" --gtest_filter=-*MiniLm*:*RealMpnet* \
          >"$OUT/logs/$t-sync.log" 2>&1
        echo "$t LOWBIT_CUDA_SYNC=1 rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/$t-sync.log" | tr '\n' ' ')"
      done
      ;;
    gemm)
      for s in cooperative pingpong; do
        timeout 240 "$B/bench_mma_gemm" --kernel w8a8,w4a8,fp8 --engine wgmma --schedule $s \
          --m 512,2048,8192,16384,32768 --iters 30 --warmup 5 --csv "$OUT/logs/gemm-$s.csv" \
          >"$OUT/logs/gemm-$s.txt" 2>&1
        echo "gemm $s rc=$?"
      done
      python3 - "$OUT/logs" <<'PY'
import csv, sys, os
d = sys.argv[1]
rows = {}
for s in ("cooperative", "pingpong"):
    p = os.path.join(d, f"gemm-{s}.csv")
    if not os.path.exists(p):
        continue
    for r in csv.DictReader(open(p)):
        rows.setdefault((r["kernel"], int(r["M"]), int(r["N"]), int(r["K"])), {})[s] = float(r["graph_us"])
print("kern      M     N     K  coop_us    pp_us  pp/coop  coop_TOPS  pp_TOPS")
for (k, m, n, kk), v in sorted(rows.items()):
    c, p = v.get("cooperative"), v.get("pingpong")
    if c and p:
        f = 2 * m * n * kk / 1e6
        print(f"{k:5s} {m:6d} {n:5d} {kk:5d} {c:8.1f} {p:8.1f} {c / p:7.2f}x {f / c:9.0f} {f / p:8.0f}")
PY
      ;;
    e2e)
      # LOWBIT_E2E_OLD / _NEW: the two wrappers compared (default cooperative / auto).
      timeout ${LOWBIT_E2E_TIMEOUT:-600} python3 bench/e2e/unify_bench.py \
        --old "$PWD/build/lowbit-${LOWBIT_E2E_OLD:-cooperative}" \
        --new "$PWD/build/lowbit-${LOWBIT_E2E_NEW:-auto}" --out "$OUT/unify" ${LOWBIT_UNIFY_ARGS:-} \
        2>"$OUT/logs/unify.log"
      echo "unify rc=$?"; tail -30 "$OUT/logs/unify.log"
      ;;
    profile)
      # The per-stage profile of BERT-large 128x384 (random weights) per mode and schedule, and
      # variable lengths in drawn order vs offline batching.
      python3 - <<'PY'
import sys; sys.path.insert(0, "bench/e2e")
import e2e
ck = e2e.make_checkpoint("/tmp/lowbit-unify", "large")
for m in ("w8a8", "w4a8"):
    e2e.quantize("build/gpu-bundle/lowbit", ck, m, "/tmp/lowbit-unify")
PY
      for s in cooperative pingpong auto; do
        for m in bert-large-w8a8 bert-large-w4a8 bert-large; do
          "build/lowbit-$s" bench --model /tmp/lowbit-unify/$m --device cuda \
            --batch 128 --seq 384 --profile --qbest off >"$OUT/logs/profile-$m-$s.txt" 2>&1
        done
      done
      for m in bert-large-w8a8 bert-large-w4a8 bert-large; do
        for b in --arrival ""; do
          build/lowbit-auto bench --model /tmp/lowbit-unify/$m --device cuda --varlen 4096 \
            --batch 128 --qbest off $b 2>&1 | grep sequences/s | sed "s|^|$m: |" | tee -a "$OUT/logs/varlen.txt"
        done
      done
      grep -H "" "$OUT"/logs/profile-*.txt | grep -E "median|q1|q2|q3|q4|attention|LayerNorm|quant" | sed 's|.*/profile-||' | head -90
      ;;
    ncu)
      # Nsight Compute on the first layer of one eager BERT-large 128x384 pass per mode: every
      # kernel's speed of light, memory and warp-stall sections (details as text, raw as CSV).
      python3 - <<'PY'
import sys; sys.path.insert(0, "bench/e2e")
import e2e
ck = e2e.make_checkpoint("/tmp/lowbit-unify", "large")
e2e.quantize("build/gpu-bundle/lowbit", ck, "w8a8", "/tmp/lowbit-unify")
PY
      for m in ${LOWBIT_NCU_MODELS:-bert-large-w8a8}; do
        timeout 300 ncu --set full --launch-skip ${LOWBIT_NCU_SKIP:-0} \
          --launch-count ${LOWBIT_NCU_COUNT:-14} --export "$OUT/logs/ncu-$m" --force-overwrite \
          "$B/lowbit" bench --model /tmp/lowbit-unify/$m --device cuda --batch 128 --seq 384 \
          --profile --qbest off --iters 1 --warmup 0 --no-graphs >"$OUT/logs/ncu-$m.log" 2>&1
        echo "ncu $m rc=$?"; tail -3 "$OUT/logs/ncu-$m.log"
        ncu --import "$OUT/logs/ncu-$m.ncu-rep" --page details --print-details all \
          >"$OUT/logs/ncu-$m-details.txt" 2>&1
        ncu --import "$OUT/logs/ncu-$m.ncu-rep" --page raw --csv >"$OUT/logs/ncu-$m-raw.csv" 2>&1
        grep -E '^  [a-z_].*\(|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\) Th|Registers Per|Achieved Occupancy|Issue Slots Busy|Executed Ipc A' \
          "$OUT/logs/ncu-$m-details.txt" | sed 's/  */ /g' | cut -c1-150 | head -150
      done
      ;;
    ncu-source)
      # Per-instruction SASS counters (executions, stall samples) of the kernels matching
      # LOWBIT_NCU_KERNEL in a report (LOWBIT_NCU_REP, e.g. one carried from an earlier call).
      rep=${LOWBIT_NCU_REP:-$OUT/logs/ncu-bert-large-w8a8.ncu-rep}
      ncu --import "$rep" --page source --csv --print-source sass \
        --kernel-name "regex:${LOWBIT_NCU_KERNEL:-wgmma_gemm}" >"$OUT/logs/ncu-source.csv" 2>&1
      echo "ncu-source rc=$? $(wc -c <"$OUT/logs/ncu-source.csv") bytes"; head -c 600 "$OUT/logs/ncu-source.csv"
      gzip -f "$OUT/logs/ncu-source.csv"
      ;;
    figure1)
      # The GEMM Figure 1 on this GPU: 8 BERT shapes x M 128..32768, lowbit's families next to
      # cuBLAS FP16, torch._int_mm and torch._scaled_mm (bench/gemm/figure1.py; the PNG is drawn
      # where matplotlib is, e.g. here afterwards with `figure1.py report`).
      timeout ${LOWBIT_FIGURE1_TIMEOUT:-400} python3 bench/gemm/figure1.py run --out "$OUT/figure1" \
        --bundle "$B" >"$OUT/logs/figure1.log" 2>&1
      echo "figure1 rc=$?"; tail -5 "$OUT/logs/figure1.log"
      ;;
    cutlass)
      # The CUTLASS engine next to the wgmma engine: its tests (also with LOWBIT_CUDA_SYNC=1),
      # the 8 BERT GEMM shapes x large M for W8A8 and FP8 with the F16 + bias epilogue (+ GELU on
      # the FFN-in shapes) in both engines, and end to end (LOWBIT_GEMM_ENGINE=cutlass: Auto takes
      # the CUTLASS engine wherever it applies) against the shipped engine, interleaved.
      timeout 240 "$B/test_cuda_cutlass" >"$OUT/logs/test_cuda_cutlass.log" 2>&1
      echo "test_cuda_cutlass rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/test_cuda_cutlass.log" | tr '\n' ' ')"
      grep -E '^\[  FAILED|Failure' -A4 "$OUT/logs/test_cuda_cutlass.log" | head -20
      LOWBIT_CUDA_SYNC=1 timeout 240 "$B/test_cuda_cutlass" >"$OUT/logs/test_cuda_cutlass-sync.log" 2>&1
      echo "test_cuda_cutlass LOWBIT_CUDA_SYNC=1 rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/test_cuda_cutlass-sync.log" | tr '\n' ' ')"
      for e in wgmma cutlass; do
        for g in "" --gelu; do
          timeout 200 "$B/bench_mma_gemm" --kernel w8a8,fp8 --engine $e $g \
            --m ${LOWBIT_CUTLASS_MS:-8192,32768,49152} --iters 20 --warmup 5 \
            --csv "$OUT/logs/gemm-$e$g.csv" >"$OUT/logs/gemm-$e$g.txt" 2>&1
          echo "gemm $e $g rc=$?"
        done
      done
      python3 - "$OUT/logs" <<'PY'
import csv, sys, os
d = sys.argv[1]
rows = {}
for e in ("wgmma", "cutlass"):
    for g in ("", "--gelu"):
        p = os.path.join(d, f"gemm-{e}{g}.csv")
        if not os.path.exists(p):
            continue
        for r in csv.DictReader(open(p)):
            rows.setdefault((r["kernel"], g or "bias", int(r["M"]), int(r["N"]), int(r["K"])), {})[e] = (float(r["graph_us"]), r["tile"])
print("kern epi        M     N     K  wgmma_us cutlass_us  speedup  wgmma_TOPS cutlass_TOPS  cutlass_tile")
for (k, g, m, n, kk), v in sorted(rows.items()):
    w, c = v.get("wgmma"), v.get("cutlass")
    if w and c:
        f = 2 * m * n * kk / 1e6
        print(f"{k:5s}{g:7s} {m:6d} {n:5d} {kk:5d} {w[0]:9.1f} {c[0]:10.1f} {w[0] / c[0]:7.2f}x {f / w[0]:10.0f} {f / c[0]:12.0f}  {c[1]}")
PY
      timeout ${LOWBIT_CUTLASS_E2E_TIMEOUT:-400} python3 bench/e2e/unify_bench.py \
        --old "$PWD/build/lowbit-auto" --new "$PWD/build/lowbit-cutlass" --out "$OUT/unify" \
        --modes ${LOWBIT_CUTLASS_MODES:-w8a8,fp8} --title "wgmma engine (old) / CUTLASS engine (new)" \
        ${LOWBIT_UNIFY_ARGS:-} 2>"$OUT/logs/unify.log"
      echo "unify rc=$?"; tail -20 "$OUT/logs/unify.log"
      for m in bert-large-w8a8 bert-large-fp8; do
        for w in auto cutlass; do
          [ -d /tmp/lowbit-unify/$m ] && "build/lowbit-$w" bench --model /tmp/lowbit-unify/$m \
            --device cuda --batch 128 --seq 384 --profile --qbest off \
            >"$OUT/logs/profile-$m-$w.txt" 2>&1
        done
      done
      grep -H "" "$OUT"/logs/profile-*.txt | grep -E "median|q1|q2|q3|q4|quant" | sed 's|.*/profile-||' | head -60
      ;;
    tune)
      # lowbit tune-gemm (the wgmma and CUTLASS configurations) on the BERT shapes at the
      # throughput token counts; the plan it writes names the engine it chose per shape.
      timeout ${LOWBIT_TUNE_TIMEOUT:-150} "$B/lowbit" tune-gemm --kernels ${LOWBIT_TUNE_KERNELS:-w8a8} \
        --m ${LOWBIT_TUNE_MS:-32768,49152} --iters 10 --out "$OUT/logs/gemm-plan.json" \
        >"$OUT/logs/tune-gemm.txt" 2>&1
      echo "tune-gemm rc=$?"; cat "$OUT/logs/tune-gemm.txt" | head -40
      ;;
    gemmlite)
      # W8A8 vs W4A8 vs FP8 at M = 8192 / 32768 on the 8 BERT shapes, the shipped schedule.
      timeout 120 "$B/bench_mma_gemm" --kernel w8a8,w4a8,fp8 --engine wgmma --m 8192,32768 \
        --iters 20 --warmup 5 --csv "$OUT/logs/gemm-auto.csv" >"$OUT/logs/gemm-auto.txt" 2>&1
      echo "gemmlite rc=$?"; grep -E "^(w8a8|w4a8|fp8) " "$OUT/logs/gemm-auto.txt" | awk '{print $1,$2,$3,$4,$6,$14,$15}'
      ;;
    final)
      # Before (build/old-cli: the commit before this work) / after, and HF FP16 SDPA, one run.
      rm -rf build/old-cli && tar xzf build/old-cli.tgz -C build
      # torchao for the W8A8 baseline travels as a wheel (carry build/wheels/torchao-*.whl, from
      # `pip download --no-deps torchao -d build/wheels`); pass --baselines compile,torchao in
      # LOWBIT_UNIFY_ARGS.
      for w in build/wheels/torchao-*.whl; do
        [ -f "$w" ] && pip install -q --no-deps --target /tmp/torchao "$w" &&
          export PYTHONPATH=/tmp/torchao${PYTHONPATH:+:$PYTHONPATH}
      done
      timeout ${LOWBIT_FINAL_TIMEOUT:-600} python3 bench/e2e/unify_bench.py \
        --old "$PWD/build/old-cli/lowbit" --new "$B/lowbit" --out "$OUT/unify" --hf \
        --title "Issue 14: before / after, next to Hugging Face FP16 SDPA" \
        ${LOWBIT_UNIFY_ARGS:-} 2>"$OUT/logs/unify.log"
      echo "final rc=$?"; tail -12 "$OUT/logs/unify.log"
      ;;
  esac
done
cd "$OUT" && parts=$(ls -d logs unify figure1 2>/dev/null; true) && [ -n "$parts" ] &&
  tar czf "throughput-$(echo "$@" | tr ' ' '-').tgz" $parts && rm -rf $parts
ls -la "$OUT"
