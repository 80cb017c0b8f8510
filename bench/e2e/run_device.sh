#!/usr/bin/env bash
# The GPU machine's side of issue 5's measurements, in stages that each fit one device call:
#   bash bench/e2e/run_device.sh check|base|large|compile   (results under $OUT)
# check: the GPU unit tests of the producers and the encoder, and a profiled BERT-large W8A8
# 128x384 pass; base / large: bench/e2e/e2e.py run for one model (lowbit modes, qbest tune,
# HF eager / SDPA); compile: HF torch.compile max-autotune on the TARGETS shapes.
set -u
stage=$1
mkdir -p build "$OUT/logs"
rm -rf build/gpu-bundle && tar xzf build/gpu-bundle.tgz -C build
export LD_LIBRARY_PATH=$PWD/build/gpu-bundle/lib
B=$PWD/build/gpu-bundle
E2E="python3 bench/e2e/e2e.py"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/logs/gpu.txt"
case $stage in
  check)
    for t in test_cuda_quant test_gpu_encoder; do
      LOWBIT_TEST_DATA_DIR=$PWD/tests/data timeout 300 "$B/$t" --gtest_filter=-*MiniLm* >"$OUT/logs/$t.log" 2>&1
      echo "$t rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/$t.log" | tr '\n' ' ')"
    done
    python3 -c "
import sys; sys.path.insert(0, 'bench/e2e'); import e2e
c = e2e.make_checkpoint('/tmp/lowbit-e2e', 'large')
e2e.quantize('$B/lowbit', c, 'w8a8', '/tmp/lowbit-e2e')" 2>&1 | tail -2
    for m in bert-large bert-large-w8a8; do
      "$B/lowbit" bench --model /tmp/lowbit-e2e/$m --device cuda --batch 128 --seq 384 --iters 5 \
        --profile --qbest off --format json >"$OUT/logs/profile-$m.json" 2>"$OUT/logs/profile-$m.err"
      python3 -c "
import json; r = json.load(open('$OUT/logs/profile-$m.json'))['results'][0]
print('$m', round(r['median_ms'], 2), 'ms', [(n, round(t, 2)) for n, t in r['stages_ms']])"
    done
    ;;
  base|large)
    $E2E run --lowbit "$B/lowbit" --out "$OUT/e2e-$stage" --models "$stage" 2>"$OUT/logs/e2e-$stage.log"
    echo "e2e rc=$?"; tail -5 "$OUT/logs/e2e-$stage.log"
    ;;
  compile)
    $E2E run --lowbit "$B/lowbit" --out "$OUT/e2e-compile" --models base,large --no-lowbit --no-hf \
      --compile --compile-budget-s 480 2>"$OUT/logs/e2e-compile.log"
    echo "compile rc=$?"; tail -8 "$OUT/logs/e2e-compile.log"
    ;;
esac
cd "$OUT" && tar czf "stage-$stage.tgz" logs e2e-* 2>/dev/null && rm -rf logs e2e-*; ls -la "$OUT"
