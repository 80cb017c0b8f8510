// Raw memory on a device: the one place that allocates and copies device memory (Tensor, Arena
// and pinned staging buffers use it). CUDA calls are compiled in only with the CUDA backend; a
// CPU-only build throws a clear error when asked for a CUDA device.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace lowbit {

// `bytes` on `d` (CPU: 64-byte aligned; CUDA: cudaMalloc, 256-byte aligned). Never null for
// bytes > 0; throws lowbit::Error naming `what` when the memory is not there.
std::shared_ptr<void> device_alloc(Device d, size_t bytes, const char* what);
// Page-locked host memory (what asynchronous copies inside a CUDA graph need).
std::shared_ptr<void> pinned_alloc(size_t bytes);
// Copies between any two devices; `stream` (a cudaStream_t, may be null) makes a copy that
// involves a CUDA device asynchronous on it; otherwise it is synchronous.
void copy_memory(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                 void* stream = nullptr);
// Sets `bytes` bytes at `p` to `value`.
void fill_memory(void* p, Device d, int value, size_t bytes, void* stream = nullptr);

}  // namespace lowbit
