#!/usr/bin/env bash
# The GPU machine's side of issue 13 (one model on every device), in stages that each fit one
# device call (results under $OUT):
#   bash bench/e2e/run_unify_device.sh check   GPU tests: every op vs the CPU (tests/ops), the
#                                              encoder on a GPU Session vs the CPU (every family,
#                                              every mode, qbest, graphs), flash attention with
#                                              MPNet's bias; then again with LOWBIT_CUDA_SYNC=1
#   bash bench/e2e/run_unify_device.sh bench   before / after: the CLI of the commit before the
#                                              change (build/old-cli, 10a2ad2) and this one, on
#                                              the TARGETS shapes, interleaved in one run
#                                              (LOWBIT_UNIFY_ARGS=--first-shape-only: a quick re-check)
# Carry build/gpu-bundle.tgz (make_gpu_bundle.sh) and, for bench, build/old-cli.tgz.
set -u
stage=$1
mkdir -p build "$OUT/logs"
rm -rf build/gpu-bundle && tar xzf build/gpu-bundle.tgz -C build
export LD_LIBRARY_PATH=$PWD/build/gpu-bundle/lib
export LOWBIT_TEST_DATA_DIR=$PWD/tests/data
B=$PWD/build/gpu-bundle
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/logs/gpu.txt"
case $stage in
  check)
    for t in test_ops test_cuda_attention test_gpu_encoder test_cuda_quant; do
      timeout 300 "$B/$t" --gtest_filter=-*MiniLm*:*RealMpnet* >"$OUT/logs/$t.log" 2>&1
      echo "$t rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/$t.log" | tr '\n' ' ')"
    done
    for t in test_ops test_gpu_encoder; do
      LOWBIT_CUDA_SYNC=1 timeout 300 "$B/$t" --gtest_filter=-*MiniLm*:*RealMpnet* \
        >"$OUT/logs/$t-sync.log" 2>&1
      echo "$t LOWBIT_CUDA_SYNC=1 rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/logs/$t-sync.log" | tr '\n' ' ')"
    done
    grep -hE "budget|cosine|worst|difference" "$OUT"/logs/test_ops.log "$OUT"/logs/test_gpu_encoder.log | head -60
    ;;
  bench)
    rm -rf build/old-cli && tar xzf build/old-cli.tgz -C build
    python3 bench/e2e/unify_bench.py --new "$B/lowbit" --old "$PWD/build/old-cli/lowbit" \
      --out "$OUT/unify" ${LOWBIT_UNIFY_ARGS:-} 2>"$OUT/logs/unify.log"
    echo "bench rc=$?"; tail -40 "$OUT/logs/unify.log"
    ;;
esac
cd "$OUT" && tar czf "stage-$stage.tgz" logs unify 2>/dev/null && rm -rf logs unify; ls -la "$OUT"
