#include "core/device_memory.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#ifdef LOWBIT_WITH_CUDA
#include "backends/cuda/check.h"
#endif

namespace lowbit {

#ifndef LOWBIT_WITH_CUDA
namespace {
[[noreturn]] void no_cuda(const char* what) {
  fail(what, ": this build of lowbit has no CUDA backend");
}
}  // namespace
#endif

std::shared_ptr<void> device_alloc(Device d, size_t bytes, const char* what) {
  if (d.is_cpu()) {
    const size_t n = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, n ? n : 64);
    if (!p) fail("out of host memory allocating ", bytes, " bytes for ", what);
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
#ifdef LOWBIT_WITH_CUDA
  LOWBIT_CUDA_CHECK(cudaSetDevice(d.index));
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes ? (bytes + 255) / 256 * 256 : 256);
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail("cannot allocate ", bytes, " bytes on ", d.str(), " for ", what, ": ",
         cudaGetErrorString(e));
  }
  return std::shared_ptr<void>(p, [](void* q) { cudaFree(q); });
#else
  no_cuda(what);
#endif
}

std::shared_ptr<void> pinned_alloc(size_t bytes) {
#ifdef LOWBIT_WITH_CUDA
  void* p = nullptr;
  LOWBIT_CUDA_CHECK(cudaMallocHost(&p, bytes ? bytes : 64));
  return std::shared_ptr<void>(p, [](void* q) { cudaFreeHost(q); });
#else
  return device_alloc(Device::cpu(), bytes, "pinned buffer");
#endif
}

void copy_memory(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                 void* stream) {
  if (bytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef LOWBIT_WITH_CUDA
  const cudaMemcpyKind kind = dst_dev.is_cpu()   ? cudaMemcpyDeviceToHost
                              : src_dev.is_cpu() ? cudaMemcpyHostToDevice
                                                 : cudaMemcpyDeviceToDevice;
  if (stream)
    LOWBIT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, static_cast<cudaStream_t>(stream)));
  else
    LOWBIT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
#else
  (void)stream;
  no_cuda("copy");
#endif
}

void fill_memory(void* p, Device d, int value, size_t bytes, void* stream) {
  if (bytes == 0) return;
  if (d.is_cpu()) {
    std::memset(p, value, bytes);
    return;
  }
#ifdef LOWBIT_WITH_CUDA
  LOWBIT_CUDA_CHECK(cudaMemsetAsync(p, value, bytes, static_cast<cudaStream_t>(stream)));
#else
  (void)stream;
  no_cuda("fill");
#endif
}

}  // namespace lowbit
