#!/usr/bin/env bash
# A/B on the GPU machine of the GELU and the producers' code path, one binary, interleaved
# (carry build/gpu-bundle.tgz built with the LOWBIT_EXP_* switches of commit 2efa5dd+1; results in
# bench/results/throughput-h200/session2-ab.txt). The switches were removed after the run.
set -u
mkdir -p build && tar xzf build/gpu-bundle.tgz -C build
export LD_LIBRARY_PATH=$PWD/build/gpu-bundle/lib
L=build/gpu-bundle/lowbit
python3 -c "
import sys; sys.path.insert(0,'bench/e2e'); import e2e
for size, mode in (('large','w8a8'),('base','w4a4')):
    ck=e2e.make_checkpoint('/tmp/u',size); e2e.quantize('build/gpu-bundle/lowbit',ck,mode,'/tmp/u')" >/dev/null 2>&1
run() { env $1 $L bench --model /tmp/u/$2 --device cuda --batch $3 --seq $4 --qbest off --iters 20 2>&1 | grep -o "median *[0-9.]* ms" | awk '{print $2}'; }
for rep in 1 2; do
  for cfg in X=0 LOWBIT_EXP_GELU_ERFF=1 LOWBIT_EXP_QUANT_LEGACY=1 "LOWBIT_EXP_GELU_ERFF=1 LOWBIT_EXP_QUANT_LEGACY=1"; do
    a=$(run "$cfg" bert-large-w8a8 128 384); b=$(run "$cfg" bert-base-w4a4 128 128); c=$(run "$cfg" bert-base-w4a4 32 128)
    echo "rep$rep | $cfg | large-w8a8 128x384 $a | base-w4a4 128x128 $b | base-w4a4 32x128 $c" | tee -a $OUT/ab.txt
  done
done
