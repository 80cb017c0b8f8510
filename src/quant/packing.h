// Every packed layout of quantized codes, in one place (docs/quantization.md, "Packing").
// A matrix of codes is stored row by row, K (the row) contiguous, each row starting on a byte:
//   Int4  — two's-complement nibbles, element 2i in the low nibble of byte i, 2i+1 in the high
//   UInt4 — the same with unsigned nibbles 0..15 (asymmetric activations)
//   Int8 / UInt8 — one int8_t / uint8_t per element
//   Fp8E4M3 — one E4M3 byte per element (src/quant/fp8.h)
//   F16 — not a quantized layout: IEEE half elements, the operands of the GPU GEMM's FP16 mode
//         (two bytes per element; no codes, so the code helpers below do not take it)
// Schemes of 2..4 bits use the nibble layouts, 5..8 bits the byte layouts: codes of fewer bits
// are not packed tighter, because no kernel reads them that way (and 2:1 is what int8 MMA
// widening wants).
#pragma once

#include <cstdint>

#include "core/error.h"

namespace lowbit {

enum class PackedLayout : uint8_t { Int8, UInt8, Int4, UInt4, Fp8E4M3, F16 };

constexpr const char* layout_name(PackedLayout l) {
  switch (l) {
    case PackedLayout::Int8:
      return "int8";
    case PackedLayout::UInt8:
      return "uint8";
    case PackedLayout::Int4:
      return "int4";
    case PackedLayout::UInt4:
      return "uint4";
    case PackedLayout::Fp8E4M3:
      return "fp8_e4m3";
    case PackedLayout::F16:
      return "f16";
  }
  return "?";
}

constexpr bool is_nibble_layout(PackedLayout l) {
  return l == PackedLayout::Int4 || l == PackedLayout::UInt4;
}
constexpr bool is_integer_layout(PackedLayout l) {
  return l != PackedLayout::Fp8E4M3 && l != PackedLayout::F16;
}

// Range of the integer codes a layout can hold (FP8 bytes are not integers: 0..255 raw).
constexpr int32_t layout_min(PackedLayout l) {
  switch (l) {
    case PackedLayout::Int8:
      return -128;
    case PackedLayout::Int4:
      return -8;
    default:
      return 0;
  }
}
constexpr int32_t layout_max(PackedLayout l) {
  switch (l) {
    case PackedLayout::Int8:
      return 127;
    case PackedLayout::UInt8:
      return 255;
    case PackedLayout::Int4:
      return 7;
    case PackedLayout::UInt4:
      return 15;
    case PackedLayout::Fp8E4M3:
      return 255;
    case PackedLayout::F16:
      return 0;
  }
  return 0;
}
// Largest |code|: bounds the int32 accumulation of integer GEMMs.
constexpr int32_t layout_max_abs(PackedLayout l) {
  return -layout_min(l) > layout_max(l) ? -layout_min(l) : layout_max(l);
}

// Bytes of one packed row of `cols` elements, without validation (for constant expressions).
constexpr int64_t packed_row_bytes_unchecked(PackedLayout l, int64_t cols) {
  return is_nibble_layout(l) ? cols / 2 : l == PackedLayout::F16 ? 2 * cols : cols;
}

// Bytes of one packed row; 4-bit rows must hold an even number of elements so that every row
// starts on a byte. `what` names the tensor in the message.
inline int64_t packed_row_bytes(PackedLayout l, int64_t cols, const char* what = "matrix") {
  if (cols < 0) fail(what, ": negative row length ", cols);
  if (is_nibble_layout(l) && cols % 2 != 0)
    fail(what, ": ", layout_name(l), " rows need an even number of elements (two per byte), got ",
         cols);
  return packed_row_bytes_unchecked(l, cols);
}

static_assert(sizeof(int8_t) == 1 && sizeof(uint8_t) == 1, "codes are bytes");
static_assert(packed_row_bytes_unchecked(PackedLayout::Int4, 128) == 64);
static_assert(packed_row_bytes_unchecked(PackedLayout::UInt4, 2) == 1);
static_assert(packed_row_bytes_unchecked(PackedLayout::Int8, 384) == 384);
static_assert(packed_row_bytes_unchecked(PackedLayout::UInt8, 3) == 3);
static_assert(packed_row_bytes_unchecked(PackedLayout::Fp8E4M3, 7) == 7);
static_assert(packed_row_bytes_unchecked(PackedLayout::F16, 64) == 128);
static_assert(layout_min(PackedLayout::Int4) == -8 && layout_max(PackedLayout::Int4) == 7);
static_assert(layout_max_abs(PackedLayout::UInt8) == 255 &&
              layout_max_abs(PackedLayout::Int8) == 128);

// Nibble <-> value. A signed nibble is sign-extended by flipping bit 3 and subtracting 8.
constexpr int32_t int4_from_nibble(uint8_t nib) { return int32_t((nib & 0xF) ^ 0x8) - 8; }
constexpr uint8_t nibble_from_int4(int32_t v) { return uint8_t(v) & 0xF; }
static_assert(int4_from_nibble(0xF) == -1 && int4_from_nibble(0x8) == -8 &&
              int4_from_nibble(0x7) == 7 && nibble_from_int4(-8) == 0x8);

// Code of element k of a packed row (FP8: the raw byte).
inline int32_t load_code(PackedLayout l, const uint8_t* row, int64_t k) {
  switch (l) {
    case PackedLayout::Int8:
      return int8_t(row[k]);
    case PackedLayout::UInt8:
    case PackedLayout::Fp8E4M3:
      return row[k];
    case PackedLayout::Int4:
      return int4_from_nibble(uint8_t(row[k / 2] >> (4 * (k % 2))));
    case PackedLayout::UInt4:
      return (row[k / 2] >> (4 * (k % 2))) & 0xF;
    case PackedLayout::F16:
      break;
  }
  fail("load_code: ", layout_name(l), " holds no codes");
}

// Stores `q` (already within [layout_min, layout_max]) as element k of a packed row; the other
// nibble of a shared byte is kept.
inline void store_code(PackedLayout l, uint8_t* row, int64_t k, int32_t q) {
  if (!is_nibble_layout(l)) {
    row[k] = uint8_t(q);
    return;
  }
  const int shift = 4 * int(k % 2);
  uint8_t& b = row[k / 2];
  b = uint8_t((b & ~(0xF << shift)) | (nibble_from_int4(q) << shift));
}

// Whole-row helpers: `codes` holds cols integers (FP8: raw bytes 0..255).
template <typename T>
void pack_row(PackedLayout l, const T* codes, int64_t cols, uint8_t* row) {
  if (is_nibble_layout(l)) {
    for (int64_t i = 0; i + 1 < cols; i += 2)
      row[i / 2] = uint8_t(nibble_from_int4(int32_t(codes[i])) |
                           (nibble_from_int4(int32_t(codes[i + 1])) << 4));
    return;
  }
  for (int64_t i = 0; i < cols; ++i) row[i] = uint8_t(codes[i]);
}

template <typename T>
void unpack_row(PackedLayout l, const uint8_t* row, int64_t cols, T* codes) {
  switch (l) {
    case PackedLayout::Int8:
      for (int64_t i = 0; i < cols; ++i) codes[i] = T(int8_t(row[i]));
      return;
    case PackedLayout::UInt8:
    case PackedLayout::Fp8E4M3:
      for (int64_t i = 0; i < cols; ++i) codes[i] = T(row[i]);
      return;
    case PackedLayout::Int4:
      for (int64_t i = 0; i + 1 < cols; i += 2) {
        codes[i] = T(int4_from_nibble(row[i / 2] & 0xF));
        codes[i + 1] = T(int4_from_nibble(row[i / 2] >> 4));
      }
      return;
    case PackedLayout::UInt4:
      for (int64_t i = 0; i + 1 < cols; i += 2) {
        codes[i] = T(row[i / 2] & 0xF);
        codes[i + 1] = T(row[i / 2] >> 4);
      }
      return;
    case PackedLayout::F16:
      break;
  }
  fail("unpack_row: ", layout_name(l), " holds no codes");
}

}  // namespace lowbit
