#include <cstdlib>
#include <cstring>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"

namespace lowbit::cuda {

bool debug_sync() {
  static const bool on = [] {
    const char* v = std::getenv("LOWBIT_CUDA_SYNC");
    return v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

namespace {
thread_local bool g_capturing = false;
}  // namespace
bool capturing_graph() { return g_capturing; }
void set_capturing_graph(bool on) { g_capturing = on; }

std::vector<DeviceInfo> devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver / no device: clear the sticky error, report none
    return {};
  }
  std::vector<DeviceInfo> out;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    LOWBIT_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    out.push_back({i, p.name, p.major, p.minor, p.multiProcessorCount, p.totalGlobalMem});
  }
  return out;
}

namespace {
__global__ void fill_kernel(float* p, size_t n, float v) {
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) p[i] = v;
}
}  // namespace

std::vector<float> fill_roundtrip(size_t n, float value) {
  std::vector<float> host(n);
  if (n == 0) return host;
  float* dev = nullptr;
  LOWBIT_CUDA_CHECK(cudaMalloc(&dev, n * sizeof(float)));
  const unsigned blocks = unsigned((n + 255) / 256);
  fill_kernel<<<blocks, 256>>>(dev, n, value);
  try {
    LOWBIT_CUDA_LAUNCHED("fill_kernel");
    LOWBIT_CUDA_CHECK(cudaMemcpy(host.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost));
  } catch (...) {
    cudaFree(dev);
    throw;
  }
  LOWBIT_CUDA_CHECK(cudaFree(dev));
  return host;
}

}  // namespace lowbit::cuda
