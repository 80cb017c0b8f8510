// Every CUDA call is checked; a failure throws lowbit::Error naming file:line and the call.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

#include "core/error.h"

#define LOWBIT_CUDA_CHECK(call)                                        \
  do {                                                                 \
    const cudaError_t lowbit_err_ = (call);                            \
    if (lowbit_err_ != cudaSuccess)                                    \
      ::lowbit::fail(__FILE__, ":", __LINE__, ": ", #call,             \
                     " failed: ", cudaGetErrorName(lowbit_err_), ": ", \
                     cudaGetErrorString(lowbit_err_));                 \
  } while (0)

// Raises Kernel's dynamic shared-memory limit to `bytes` (needed above 48 KiB), once per
// process and device. The kernel is a template argument so that each kernel has its own flags
// (kernels of one signature share a pointer type).
namespace lowbit::cuda {
template <auto Kernel>
void raise_smem_limit(int bytes) {
  static std::atomic<uint64_t> raised{0};
  int dev = 0;
  LOWBIT_CUDA_CHECK(cudaGetDevice(&dev));
  const uint64_t bit = uint64_t(1) << (dev & 63);
  if (!(raised.load(std::memory_order_relaxed) & bit)) {
    LOWBIT_CUDA_CHECK(
        cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    raised.fetch_or(bit, std::memory_order_relaxed);
  }
}
}  // namespace lowbit::cuda

// After a kernel launch: checks the launch, and with LOWBIT_CUDA_SYNC=1 also its execution
// (except while this thread captures a CUDA graph, where nothing executes and a synchronisation
// would invalidate the capture; the eager run of each shape before its capture is checked).
#define LOWBIT_CUDA_LAUNCHED(name)                                          \
  do {                                                                      \
    LOWBIT_CUDA_CHECK(cudaGetLastError());                                  \
    if (::lowbit::cuda::debug_sync() && !::lowbit::cuda::capturing_graph()) \
      LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());                           \
  } while (0)
