#!/usr/bin/env bash
# Builds the GPU GEMM test and benchmark here and gathers them, with the shared libraries that a
# GPU machine without the CPU engine's dependencies lacks, in build/gpu-bundle/ (about 60 MB):
#   build/gpu-bundle/test_cuda_gemm   (gtest; links the CPU oracle, hence OpenBLAS, OpenMP)
#   build/gpu-bundle/bench_mma_gemm   (needs only the CUDA runtime)
#   build/gpu-bundle/lib/             libopenblas, libgfortran, libquadmath, libgomp, libcudart
# On the GPU machine:  LD_LIBRARY_PATH=build/gpu-bundle/lib build/gpu-bundle/test_cuda_gemm
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset release >/dev/null
cmake --build --preset release -j"${LOWBIT_JOBS:-2}" --target test_cuda_gemm bench_mma_gemm
out=build/gpu-bundle
rm -rf "$out"
mkdir -p "$out/lib"
cp build/release/tests/test_cuda_gemm build/release/bench/bench_mma_gemm "$out/"
# Every resolved library except glibc's, libstdc++ and libgcc_s (the GPU image has newer ones).
for bin in "$out/test_cuda_gemm" "$out/bench_mma_gemm"; do
  ldd "$bin" | awk '/=> \//{print $3}' |
    grep -Ev '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so' |
    while read -r lib; do cp -L "$lib" "$out/lib/"; done
done
du -sh "$out" "$out"/* "$out"/lib/*
