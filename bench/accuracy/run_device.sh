#!/usr/bin/env bash
# The device side of the accuracy experiment (carry build/acc-carry, made by make_carry.sh):
#   bash bench/accuracy/run_device.sh [TASKS] [SEEDS] [JOBS] [PLAN_JSON]
# unpacks the CLI, the tasks and the model, runs `python3 -m lowbit.experiment run` and copies
# every run's result.json, logs and curves (not the models) to $OUT/runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
tasks=${1:-rt,mr,trec}; seeds=${2:-0,1,2}; jobs=${3:-9}; plan=${4:-"{}"}
out=${OUT:-build/acc-out}
mkdir -p "$out"
t0=$(date +%s)
for f in cli.txz data.txz model.tgz; do tar xf "build/acc-carry/$f" -C build || exit 1; done
# A wrapper, so that the bundled libraries serve the CLI only (not torch in the same process tree).
cat > build/acc-cli/run <<'SH'
#!/usr/bin/env bash
d=$(dirname "$0"); LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/lowbit" "$@"
SH
chmod +x build/acc-cli/run
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
  echo "unpacked in $(( $(date +%s) - t0 )) s"; } | tee "$out/env.txt"
export PYTHONPATH=$PWD/python LOWBIT_TORCH_THREADS=${LOWBIT_TORCH_THREADS:-1} LOWBIT_ENGINE_THREADS=${LOWBIT_ENGINE_THREADS:-2}
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
runs=build/acc-runs
timeout "${LOWBIT_ACC_TIMEOUT:-540}" python3 -m lowbit.experiment run --model build/acc-model --data build/acc-data \
  --out "$runs" --tasks "$tasks" --seeds "$seeds" --jobs "$jobs" --plan "$plan" --lowbit build/acc-cli/run \
  > "$out/run.log" 2>&1
echo "experiment exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$out/env.txt"
tail -5 "$out/run.log"
grep -h "teacher fine-tuned\|test accuracy\|Error\|error" "$runs"/*/seed*/chain.log | tail -80
# Results without the models (and without the big checkpoints).
(cd build && find acc-runs \( -name result.json -o -name '*.log' -o -name log.jsonl -o -name 'curve.png' \) -print0 |
  tar czf "$out/runs.tgz" --null -T -)
ls -la "$out"
