// libFuzzer target: the lowbit model format loader. Input = 2-byte little-endian length L, then
// L bytes of recipe.json, then a safetensors file, for a tiny fixed BERT (tests/tiny_bert.h).
// Whatever the bytes, loading must either succeed (and a forward pass then runs) or throw
// lowbit::Error: no crash, no sanitizer report, nothing else escaping.
#include <cstddef>
#include <cstdint>

#include "tiny_bert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lowbit::Tensor h = lowbit::testing::run_tiny_lowbit(
        std::string_view(reinterpret_cast<const char*>(data), size));
    volatile float sink = h.data<float>()[0];
    (void)sink;
  } catch (const lowbit::Error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
