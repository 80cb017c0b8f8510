// CUDA device abstraction: error checks with file:line, device queries, and the debug switch
// (LOWBIT_CUDA_SYNC=1) that synchronises after every launch so a fault names its kernel.
#pragma once

#include <string>
#include <vector>

namespace lowbit::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int sm_major = 0, sm_minor = 0;
  int sms = 0;
  size_t memory_bytes = 0;
};

// Every visible device; empty (not an error) when there is no driver or no GPU.
std::vector<DeviceInfo> devices();
// True when LOWBIT_CUDA_SYNC=1: launches are followed by a synchronising check.
bool debug_sync();
// Whether this thread is capturing a CUDA graph (set by the Session around a capture): the
// debug switch does not synchronise then.
bool capturing_graph();
void set_capturing_graph(bool on);
// Fills `n` floats on the device with `value` and copies them back: a smoke test that the
// toolchain, driver and device agree. Throws lowbit::Error on any CUDA failure.
std::vector<float> fill_roundtrip(size_t n, float value);

}  // namespace lowbit::cuda
