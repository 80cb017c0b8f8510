#!/usr/bin/env bash
# Builds the GPU tests and benchmarks here and gathers them, with the shared libraries that a
# GPU machine without the CPU engine's dependencies lacks, in build/gpu-bundle/ (about 100 MB,
# 32 MB compressed):
#   build/gpu-bundle/test_cuda_gemm, test_cuda_wgmma, test_cuda_quant, test_cuda_attention,
#     test_gpu_encoder  (gtest; link the CPU oracle: OpenBLAS, OpenMP)
#   build/gpu-bundle/lowbit           (the CLI: embed --device cuda, bench, tune-gemm, quantize)
#   build/gpu-bundle/bench_mma_gemm   (needs only the CUDA runtime)
#   build/gpu-bundle/lib/             libopenblas, libgfortran, libquadmath, libgomp, libcudart
# On the GPU machine (carry build/gpu-bundle.tgz): tar xzf build/gpu-bundle.tgz -C build, then
#   LD_LIBRARY_PATH=build/gpu-bundle/lib build/gpu-bundle/test_cuda_gemm
set -euo pipefail
cd "$(dirname "$0")/../.."
# Only the Hopper machine code (the lent GPUs are H100 / H200): a quarter of the fat binaries'
# size, so the bundle fits the 64 MiB that travels with a device call.
cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a-real >/dev/null
cmake --build build/gpu -j"${LOWBIT_JOBS:-2}" --target test_cuda_gemm test_cuda_wgmma test_cuda_cutlass test_cuda_quant test_cuda_attention test_gpu_encoder test_ops bench_mma_gemm lowbit_cli
out=build/gpu-bundle
rm -rf "$out"
mkdir -p "$out/lib"
# LOWBIT_BUNDLE_TESTS picks the test binaries (default all): each carries the CUDA kernels, so a
# call that needs few of them travels lighter (the CUTLASS kernels made each ~5 MB larger).
tests=${LOWBIT_BUNDLE_TESTS:-test_cuda_gemm test_cuda_wgmma test_cuda_cutlass test_cuda_quant test_cuda_attention test_gpu_encoder test_ops}
for t in $tests; do cp "build/gpu/tests/$t" "$out/"; done
cp build/gpu/bench/bench_mma_gemm build/gpu/tools/lowbit "$out/"
# The fat binaries carry only sm_90a code; symbols are not needed on the GPU machine.
for bin in $tests bench_mma_gemm lowbit; do strip --strip-unneeded "$out/$bin"; done
# Every resolved library except glibc's, libstdc++ and libgcc_s (the GPU image has newer ones).
for bin in $tests bench_mma_gemm lowbit; do
  ldd "$out/$bin" | awk '/=> \//{print $3}' |
    grep -Ev '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so' |
    while read -r lib; do cp -L "$lib" "$out/lib/"; done
done
du -sh "$out" "$out"/* "$out"/lib/*
# What travels to the GPU machine (64 MiB limit per call, the working tree included): the bundle
# compressed, ~52 MB with every test.
# There:  tar xzf build/gpu-bundle.tgz -C build
tar czf build/gpu-bundle.tgz -C build gpu-bundle
ls -la build/gpu-bundle.tgz
