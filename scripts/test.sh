#!/usr/bin/env bash
# The README's second command (and CI's): install what the tests need, then
#  1. build (CUDA too where nvcc is found) and run every test not labelled gpu;
#  2. rebuild on the CPU under AddressSanitizer + UndefinedBehaviorSanitizer and run them again;
#  3. run the Python toolkit's tests (python/tests, PyTorch on the CPU);
#  4. build the libFuzzer targets (safetensors, tokenizer, lowbit model format) with clang and
#     run each for LOWBIT_FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
LOWBIT_WITH_FUZZ=1 LOWBIT_WITH_PYTHON=1 scripts/install_deps.sh
export LOWBIT_MINILM_DIR=${LOWBIT_MINILM_DIR:-$(scripts/model_dir.sh)}
jobs=${LOWBIT_JOBS:-$(nproc)}
fuzz_seconds=${LOWBIT_FUZZ_SECONDS:-60}
start=$(date +%s)
root=$(pwd)
passed=0; failed=0
summary=()

run_ctest() {  # build dir, label
  local log; log=$(mktemp)
  if ctest --test-dir "$1" -LE gpu --output-on-failure -j"$jobs" 2>&1 | tee "$log"; then :; fi
  local line; line=$(grep -E '[0-9]+% tests passed' "$log" | tail -1 || true)
  local n_fail n_total
  n_total=$(echo "$line" | sed -nE 's/.* out of ([0-9]+).*/\1/p'); n_total=${n_total:-0}
  n_fail=$(echo "$line" | sed -nE 's/.*, ([0-9]+) tests? failed.*/\1/p'); n_fail=${n_fail:-1}
  [ "$n_total" -eq 0 ] && n_fail=1
  passed=$((passed + n_total - n_fail)); failed=$((failed + n_fail))
  summary+=("$2: $((n_total - n_fail))/$n_total passed")
  rm -f "$log"
}

echo "== 1/4 build + tests (Release)"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
run_ctest build/release "release"

echo "== 2/4 build + tests (ASan + UBSan, CPU)"
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build/asan "asan+ubsan"

echo "== 3/4 Python toolkit (python/tests)"
pylog=$(mktemp)
if python3 -m unittest discover -s python/tests 2>&1 | tee "$pylog"; then :; fi
py_total=$(sed -nE 's/^Ran ([0-9]+) tests?.*/\1/p' "$pylog" | tail -1); py_total=${py_total:-0}
if grep -qE '^OK' "$pylog" && [ "$py_total" -gt 0 ]; then
  passed=$((passed + py_total)); summary+=("python: $py_total/$py_total passed")
else
  failed=$((failed + 1)); summary+=("python: FAILED ($py_total tests ran)")
fi
rm -f "$pylog"

echo "== 4/4 fuzzing (${fuzz_seconds}s per target)"
CC=clang CXX=clang++ cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs" --target fuzz_safetensors fuzz_tokenizer fuzz_lowbit
corpus=$(mktemp -d)
python3 tests/fuzz/make_safetensors_seeds.py "$corpus/safetensors"
python3 tests/fuzz/make_lowbit_seeds.py "$corpus/lowbit"
mkdir -p "$corpus/tokenizer"
python3 - "$corpus/tokenizer" <<'PY'
import json, sys, os
cases = json.load(open("tests/data/hf_golden.json"))["cases"]
for i, c in enumerate(cases):
    open(os.path.join(sys.argv[1], f"seed{i}"), "wb").write(c["text"].encode("utf-8"))
PY
for f in safetensors tokenizer lowbit; do
  if (cd "$corpus" && "$root/build/fuzz/tests/fuzz_$f" -max_total_time="$fuzz_seconds" \
        -print_final_stats=1 "$corpus/$f" 2>&1 | tail -n 12); then
    passed=$((passed + 1)); summary+=("fuzz_$f: ${fuzz_seconds}s, no crash")
  else
    failed=$((failed + 1)); summary+=("fuzz_$f: FAILED (crash or sanitizer report)")
  fi
done
rm -rf "$corpus"

echo
echo "== summary ($(( $(date +%s) - start ))s)"
for s in "${summary[@]}"; do echo "  $s"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
