// Every CUDA call is checked; a failure throws lowbit::Error naming file:line and the call.
#pragma once

#include <cuda_runtime.h>

#include "core/error.h"

#define LOWBIT_CUDA_CHECK(call)                                        \
  do {                                                                 \
    const cudaError_t lowbit_err_ = (call);                            \
    if (lowbit_err_ != cudaSuccess)                                    \
      ::lowbit::fail(__FILE__, ":", __LINE__, ": ", #call,             \
                     " failed: ", cudaGetErrorName(lowbit_err_), ": ", \
                     cudaGetErrorString(lowbit_err_));                 \
  } while (0)

// After a kernel launch: checks the launch, and with LOWBIT_CUDA_SYNC=1 also its execution.
#define LOWBIT_CUDA_LAUNCHED(name)                                                \
  do {                                                                            \
    LOWBIT_CUDA_CHECK(cudaGetLastError());                                        \
    if (::lowbit::cuda::debug_sync()) LOWBIT_CUDA_CHECK(cudaDeviceSynchronize()); \
  } while (0)
