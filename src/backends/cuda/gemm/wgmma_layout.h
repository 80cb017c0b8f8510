// The Hopper order of int4 weights (plain C++, host side; the wgmma W4A8 / W4A4 kernels read it).
//
// On sm_90 the weights are the A operand of wgmma, taken from registers: lane 4g + t of warp w
// holds, for a 32-element k step, the int8 bytes of rows 16w + g and 16w + g + 8 at k = 4t..4t+3
// (registers a0, a1) and k = 16 + 4t..16 + 4t + 3 (a2, a3). The kernel loads one 16-byte chunk
// per row and k block of 128 and widens it with three integer operations per 4 bytes
// (ptx::widen_offset4), so the packed bytes are laid out to make that possible:
//
//   row n, k block kb (64 bytes): chunk t (16 bytes) = words s = 0..3 (k step 32s), and byte b of
//   word s = code(k0 + 4t + b) ^ 8  |  (code(k0 + 16 + 4t + b) ^ 8) << 4,   k0 = 128 kb + 32 s
//
// i.e. the codes of the same (row, k) as the canonical Int4 layout of src/quant/packing.h,
// permuted within each 128-element block and stored offset-binary (code + 8 in 4 bits). The rows
// keep the canonical size, K / 2 bytes; K must be a multiple of 128.
#pragma once

#include <cstdint>

#include "core/error.h"
#include "quant/packing.h"

namespace lowbit::cuda {

constexpr int64_t kSm90Int4KBlock = 128;

// Nibble of k in a canonical Int4 row (low nibble = even k), as a signed code.
inline int canonical_int4_code(const uint8_t* row, int64_t k) {
  const int v = (row[k >> 1] >> ((k & 1) * 4)) & 0xF;
  return v >= 8 ? v - 16 : v;
}

// Canonical Int4 weights [n, k] (rows src_ld bytes apart) -> the Hopper order, packed rows of
// k / 2 bytes at dst.
inline void repack_int4_sm90(const uint8_t* src, int64_t src_ld, uint8_t* dst, int64_t n,
                             int64_t k) {
  if (k % kSm90Int4KBlock != 0)
    fail("repack_int4_sm90: K=", k, " must be a multiple of ", kSm90Int4KBlock);
  const int64_t row_bytes = k / 2;
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* s = src + r * src_ld;
    uint8_t* d = dst + r * row_bytes;
    for (int64_t kb = 0; kb < k / kSm90Int4KBlock; ++kb)
      for (int t = 0; t < 4; ++t)
        for (int st = 0; st < 4; ++st)
          for (int b = 0; b < 4; ++b) {
            const int64_t k0 = kSm90Int4KBlock * kb + 32 * st;
            const int lo = (canonical_int4_code(s, k0 + 4 * t + b) + 8) & 0xF;
            const int hi = (canonical_int4_code(s, k0 + 16 + 4 * t + b) + 8) & 0xF;
            d[kb * 64 + t * 16 + st * 4 + b] = uint8_t(lo | (hi << 4));
          }
  }
}

// Signed code of (row, k) from a row in the Hopper order (the inverse of repack_int4_sm90).
inline int sm90_int4_code(const uint8_t* row, int64_t k) {
  const int64_t kb = k / kSm90Int4KBlock, r = k % kSm90Int4KBlock;
  const int64_t s = r / 32, q = r % 32, t = (q % 16) / 4, b = q % 4;
  const uint8_t byte = row[kb * 64 + t * 16 + s * 4 + b];
  return (q >= 16 ? byte >> 4 : byte & 0xF) - 8;
}

}  // namespace lowbit::cuda
