// GPU smoke test (ctest label gpu): the toolchain, driver and device agree.
#include <gtest/gtest.h>

#include "backends/cuda/device.h"

namespace lowbit {
namespace {

TEST(Cuda, DeviceVisibleAndKernelRuns) {
  const auto devs = cuda::devices();
  ASSERT_FALSE(devs.empty()) << "no CUDA device visible";
  for (const auto& d : devs)
    std::printf("[cuda] device %d: %s, sm_%d%d, %d SMs, %.1f GiB\n", d.index, d.name.c_str(),
                d.sm_major, d.sm_minor, d.sms, d.memory_bytes / 1073741824.0);
  const auto v = cuda::fill_roundtrip(1000003, 2.5f);
  for (float x : v) ASSERT_EQ(x, 2.5f);
}

}  // namespace
}  // namespace lowbit
