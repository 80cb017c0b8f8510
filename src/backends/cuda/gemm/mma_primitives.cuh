// PTX wrappers for the mma.sync integer GEMMs (sm_80+): cp.async, ldmatrix, 8-byte shared loads,
// the integer mma instructions and the int4 -> int8 widening.
#pragma once

#include <cstdint>

namespace lowbit::cuda::gemm::ptx {

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, bypassing L1; zero-filled (no read) when !valid.
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid) {
  const int n = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(n)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Four 8x8 matrices of 16-bit elements (here: 8 rows x 16 bytes each); lanes 8i..8i+7 give the
// row addresses of matrix i, and lane l receives word l % 4 of row l / 4 of each matrix.
__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// The same, transposed (sm_75+): register i of lane 4g + t holds rows 2t, 2t + 1 of column g of
// the stored matrix i (row g, columns 2t, 2t + 1 of its transpose).
__device__ __forceinline__ void ldsm_x4_trans(uint32_t addr, uint32_t& r0, uint32_t& r1,
                                              uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr)
               : "memory");
}

__device__ __forceinline__ void lds64(uint32_t addr, uint32_t& lo, uint32_t& hi) {
  asm volatile("ld.shared.v2.u32 {%0, %1}, [%2];\n" : "=r"(lo), "=r"(hi) : "r"(addr));
}

// d += a · b on a 16 x 8 tile: k = 32 int8 (A signed or unsigned, B signed) per instruction.
template <bool AUnsigned>
__device__ __forceinline__ void mma_k32_8bit(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1) {
  if constexpr (AUnsigned)
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// d += a · b on a 16 x 8 tile: k = 64 int4 per instruction. The fragments hold the same bytes as
// mma_k32_8bit's (32 bytes of each row of A and column of B), two elements per byte, the lower
// k in the low nibble: exactly the packed layout of src/quant/packing.h.
template <bool AUnsigned>
__device__ __forceinline__ void mma_k64_4bit(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1) {
  if constexpr (AUnsigned)
    asm volatile(
        "mma.sync.aligned.m16n8k64.row.col.s32.u4.s4.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Eight signed nibbles e0..e7 (e0 in bits 0-3) -> lo = int8 bytes e0..e3, hi = e4..e7
// (two's complement, so int4 x int8 products in the s8 mma are the exact int4 x int8 products).
__device__ __forceinline__ void widen_s4x8(uint32_t w, uint32_t& lo, uint32_t& hi) {
  uint32_t ev = w & 0x0F0F0F0Fu;         // bytes e0 e2 e4 e6
  uint32_t od = (w >> 4) & 0x0F0F0F0Fu;  // bytes e1 e3 e5 e7
  // Sign-extend each byte's nibble: 0x08 * 0x1E = 0xF0, and no product crosses a byte.
  ev |= (ev & 0x08080808u) * 0x1Eu;
  od |= (od & 0x08080808u) * 0x1Eu;
  lo = __byte_perm(ev, od, 0x5140);  // e0 e1 e2 e3
  hi = __byte_perm(ev, od, 0x7362);  // e4 e5 e6 e7
}

}  // namespace lowbit::cuda::gemm::ptx
