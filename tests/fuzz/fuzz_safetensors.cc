// libFuzzer target for the safetensors reader: any input must either parse into views that lie
// inside the buffer and agree with their shapes, or throw lowbit::Error. Anything else (another
// exception, a sanitizer report, a trap) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto st = lowbit::SafeTensors::from_bytes(
        std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz-input");
    uint64_t sum = 0;
    size_t total = 0;
    for (const lowbit::TensorView& t : st.tensors()) {
      // Reading every byte lets ASan catch a view that escapes the buffer.
      for (std::byte b : t.bytes) sum += uint64_t(b);
      total += t.bytes.size();
      if (uint64_t(t.numel()) * lowbit::dtype_size(t.dtype) != t.bytes.size()) __builtin_trap();
      if (st.find(t.name) != &t) __builtin_trap();
    }
    if (total > st.file_size()) __builtin_trap();
    for (const auto& [key, value] : st.metadata()) sum += key.size() + value.size();
    // Keep the sum observable so the reads are not optimized away.
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const lowbit::Error&) {
  }
  return 0;
}
