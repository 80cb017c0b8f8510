// The Hopper int4 weight order (src/backends/cuda/gemm/wgmma_layout.h), on the CPU: a model of
// what the wgmma W4A8 / W4A4 kernels do with it (one 16-byte load per row and k block, the
// three-operation widening of ptx::widen_offset4, the wgmma A-fragment slots) must give back every
// canonical code at its (row, k). Runs without a GPU, so CI checks the layout logic too.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cuda/gemm/wgmma_layout.h"
#include "core/error.h"
#include "quant/packing.h"

namespace lowbit {
namespace {

// ptx::widen_offset4, on the host.
void widen_offset4(uint32_t w, uint32_t& lo, uint32_t& hi) {
  lo = ((w & 0x0F0F0F0Fu) + 0x78787878u) ^ 0x80808080u;
  hi = (((w >> 4) & 0x0F0F0F0Fu) + 0x78787878u) ^ 0x80808080u;
}

TEST(WgmmaLayout, KernelWideningRecoversCanonicalCodes) {
  const int64_t n = 48, k = 384;
  std::mt19937 rng(7);
  std::vector<uint8_t> canon(size_t(n * k / 2));
  for (auto& b : canon) b = uint8_t(rng() >> 24);  // every nibble value
  std::vector<uint8_t> hop(canon.size());
  cuda::repack_int4_sm90(canon.data(), k / 2, hop.data(), n, k);

  // The kernel: lane t of a warp loads chunk t (16 bytes) of row r's k block kb; word s feeds
  // k step s; widen_offset4 gives the A-fragment registers a0/a1 (k = 4t..4t+3 of the step)
  // and a2/a3 (k = 16 + 4t..).
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kb = 0; kb < k / 128; ++kb)
      for (int t = 0; t < 4; ++t) {
        uint32_t words[4];
        std::memcpy(words, hop.data() + r * (k / 2) + kb * 64 + t * 16, 16);
        for (int s = 0; s < 4; ++s) {
          uint32_t lo, hi;
          widen_offset4(words[s], lo, hi);
          for (int b = 0; b < 4; ++b) {
            const int64_t k_lo = kb * 128 + 32 * s + 4 * t + b, k_hi = k_lo + 16;
            const int got_lo = int(int8_t(uint8_t(lo >> (8 * b))));
            const int got_hi = int(int8_t(uint8_t(hi >> (8 * b))));
            const uint8_t* row = canon.data() + r * (k / 2);
            ASSERT_EQ(got_lo, cuda::canonical_int4_code(row, k_lo)) << "row " << r << " k " << k_lo;
            ASSERT_EQ(got_hi, cuda::canonical_int4_code(row, k_hi)) << "row " << r << " k " << k_hi;
            ASSERT_EQ(got_lo, load_code(PackedLayout::Int4, row, k_lo));
            const uint8_t* hrow = hop.data() + r * (k / 2);
            ASSERT_EQ(cuda::sm90_int4_code(hrow, k_lo), got_lo);
            ASSERT_EQ(cuda::sm90_int4_code(hrow, k_hi), got_hi);
          }
        }
      }
}

TEST(WgmmaLayout, RejectsKNotMultipleOf128) {
  std::vector<uint8_t> a(64 * 2), b(a.size());
  EXPECT_THROW(cuda::repack_int4_sm90(a.data(), 32, b.data(), 2, 64), Error);
}

}  // namespace
}  // namespace lowbit
