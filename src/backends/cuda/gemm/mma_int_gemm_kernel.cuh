// The mma.sync integer GEMM kernel template, included by one .cu file per family (W8A8, W4A8,
// W4A4) so that each family compiles on its own.
//
// CTA: a BM x BN tile of Y = A · Bᵀ, one split of K (split-K: blockIdx.z). K advances in stages
// of BK elements through a cp.async pipeline of STAGES shared-memory buffers; each warp holds
// MT x NT int32 mma accumulator tiles. Fragment layouts (PTX ISA, mma m16n8k32 .s8 / m16n8k64
// .s4; lane = 4·g + t):
//   A 16 x 32 bytes: a0 = row g bytes 4t..4t+3, a1 = row g+8, a2 = row g bytes 16+4t.., a3 = g+8
//   B 8 (n) x 32 bytes: b0 = column g bytes 4t..4t+3, b1 = column g bytes 16+4t..
//   C 16 x 8 int32: c0, c1 = row g, columns 2t, 2t+1; c2, c3 = row g+8
// which for A and B is exactly what ldmatrix.x4 delivers from 16-byte row segments.
//
// W4A8 widens the weight nibbles to int8 in registers. ldmatrix on a 16-byte segment of packed
// weights hands lane t the 8 nibbles k = 8t..8t+7 of one 32-element k-step; widened they fill the
// mma's k-slots 4t..4t+3 (b0) and 16+4t..16+4t+3 (b1). The A fragment must use the same slots
// for the same k, so lane t loads A bytes 8t..8t+7 of the step (one 8-byte shared load per row)
// instead of ldmatrix: a permutation of k inside each mma, identical for A and B, so the sum is
// unchanged.
//
// Epilogue, per docs/quantization.md and in the CPU reference's order, one float32 operation at a
// time (no FMA contraction: __fmul_rn / __fadd_rn):
//   t = Σ_g sw[n, g] · float(acc_g)   (g ascending, from +0; folded as each group ends)
//   y = sx[m] · t;  y = y + zx[m] · zcorr[n];  y = y + bias[n];  y = gelu(y);  y = y + residual
// so without GELU the F32 output equals cpu::int_gemm_epilogue bit for bit. Exception: split-K
// with grouped weights sums each split's partial t in split order (deterministic, but another
// association than the CPU's). The accumulators pass through shared memory so that the epilogue
// reads and writes rows of 4 outputs per thread, coalesced, in code that is not unrolled.
#pragma once

#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/gemm_epilogue.cuh"
#include "backends/cuda/gemm/mma_int_gemm_config.h"
#include "backends/cuda/gemm/mma_primitives.cuh"

namespace lowbit::cuda::gemm {

// Shared-memory byte offset of 16-byte chunk c of row r, swizzled so that the reads are free of
// bank conflicts:
//   64-byte rows, read by ldmatrix (8 rows at one chunk): chunk ^= (r / 2) % 4, so the 8 rows
//     hit 8 different 16-byte bank groups;
//   128-byte rows, read 8 bytes a lane (W4A8's A: a half-warp reads rows r..r+3, 32 bytes each):
//     chunk ^= 2 · (r % 4), so those 4 rows hit 4 different 32-byte bank groups.
// cp.async writes whole rows per quarter-warp, conflict-free under either.
template <int ROW_BYTES>
struct Swizzle;
template <>
struct Swizzle<64> {
  static __device__ __forceinline__ uint32_t offset(int r, int c) {
    return uint32_t(r * 64 + ((c ^ ((r >> 1) & 3)) << 4));
  }
};
template <>
struct Swizzle<128> {
  static __device__ __forceinline__ uint32_t offset(int r, int c) {
    return uint32_t(r * 128 + ((c ^ ((r & 3) << 1)) << 4));
  }
};

// One stage of ROWS rows x ROW_BYTES bytes from global rows g + r·ld + kbyte (rows >= `rows`
// zero-filled) into shared memory at s.
template <int ROWS, int ROW_BYTES, int THREADS>
__device__ __forceinline__ void load_stage(uint32_t s, const uint8_t* g, int64_t ld, int rows,
                                           int64_t kbyte, int tid) {
  constexpr int kCPR = ROW_BYTES / 16, kChunks = ROWS * kCPR;
  static_assert(kChunks % THREADS == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int it = 0; it < kChunks / THREADS; ++it) {
    const int idx = tid + it * THREADS;
    const int r = idx / kCPR, c = idx % kCPR;
    const bool valid = r < rows;
    const uint8_t* src = g + (valid ? int64_t(r) * ld : int64_t(0)) + kbyte + c * 16;
    ptx::cp_async_16(s + Swizzle<ROW_BYTES>::offset(r, c), src, valid);
  }
}

template <Family F, bool AU, class T, bool Grouped>
__global__ void __launch_bounds__(T::kThreads)
    mma_int_gemm_kernel(const __grid_constant__ KernelParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using FT = FamilyTraits<F>;
  constexpr int MT = T::kMT, NT = T::kNT, STAGES = T::kStages, STEPS = FT::kSteps;
  constexpr int kAStage = T::kBM * FT::kARow, kBStage = T::kBN * FT::kBRow;

  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ int s_last;
  const uint32_t sA = ptx::smem_addr(smem);
  const uint32_t sB = sA + STAGES * kAStage;

  const int tid = int(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  const int wm = (warp / T::kWarpsN) * T::kWarpM;  // the warp's rows and columns in the tile
  const int wn = (warp % T::kWarpsN) * T::kWarpN;
  const int g8 = lane >> 2, t4 = lane & 3;
  const int m0 = int(blockIdx.x) * T::kBM, n0 = int(blockIdx.y) * T::kBN;
  const int split = int(blockIdx.z);
  const int kt_begin = split * p.tiles_per_split;
  const int kt_end = min(p.k_tiles, kt_begin + p.tiles_per_split);
  const int ktiles = kt_end - kt_begin;

  const uint8_t* gA = p.a + int64_t(m0) * p.lda;
  const uint8_t* gB = p.b + int64_t(n0) * p.ldb;
  const int a_rows = min(T::kBM, p.m - m0), b_rows = min(T::kBN, p.n - n0);
  auto issue_stage = [&](int stage, int kt) {
    load_stage<T::kBM, FT::kARow, T::kThreads>(sA + stage * kAStage, gA, p.lda, a_rows,
                                               int64_t(kt) * FT::kARow, tid);
    load_stage<T::kBN, FT::kBRow, T::kThreads>(sB + stage * kBStage, gB, p.ldb, b_rows,
                                               int64_t(kt) * FT::kBRow, tid);
  };

  // Output coordinates of accumulator element [i][j][2h + e]: row m0 + wm + 16i + g8 + 8h,
  // column n0 + wn + 8j + 2·t4 + e.
  const int col0 = n0 + wn + 2 * t4;

  int32_t acc[MT][NT][4];
  float facc[MT][NT][4];  // Σ_g sw · acc_g so far (grouped weights only)
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        acc[i][j][r] = 0;
        facc[i][j][r] = 0.0f;
      }

  // End of weight group `grp`: fold the accumulators into facc and restart them.
  auto fold = [&](int grp) {
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int n = col0 + 8 * j + e;
        const float s = n < p.n ? __ldg(p.sw + int64_t(n) * p.groups + grp) : 0.0f;
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            float& f = facc[i][j][2 * h + e];
            f = __fadd_rn(f, __fmul_rn(s, __int2float_rn(acc[i][j][2 * h + e])));
          }
      }
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[i][j][r] = 0;
  };

  // ---- main loop: cp.async pipeline, STAGES - 1 tiles in flight ----
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < ktiles) issue_stage(s, kt_begin + s);
    ptx::cp_async_commit();
  }

  for (int it = 0; it < ktiles; ++it) {
    ptx::cp_async_wait<STAGES - 2>();
    __syncthreads();  // tile `it` is visible to all; everyone is done with tile it - 1's buffer
    {
      const int next = it + STAGES - 1;
      if (next < ktiles) issue_stage(next % STAGES, kt_begin + next);
      ptx::cp_async_commit();
    }
    const int stage = it % STAGES;
    const uint32_t a_base = sA + stage * kAStage, b_base = sB + stage * kBStage;

    if constexpr (!FT::kWidenB) {
      // W8A8 / W4A4: ldmatrix for both operands; fragments of step j + 1 load during step j.
      uint32_t af[2][MT][4], bf[2][NT][2];
      auto load_frags = [&](int buf, int j) {
#pragma unroll
        for (int i = 0; i < MT; ++i)
          ptx::ldsm_x4(
              a_base + Swizzle<FT::kARow>::offset(wm + 16 * i + (lane & 15), 2 * j + (lane >> 4)),
              af[buf][i]);
#pragma unroll
        for (int q = 0; q < NT / 2; ++q) {
          uint32_t x[4];
          ptx::ldsm_x4(
              b_base + Swizzle<FT::kBRow>::offset(wn + 16 * q + (lane & 7) + ((lane >> 4) << 3),
                                                  2 * j + ((lane >> 3) & 1)),
              x);
          bf[buf][2 * q][0] = x[0];
          bf[buf][2 * q][1] = x[1];
          bf[buf][2 * q + 1][0] = x[2];
          bf[buf][2 * q + 1][1] = x[3];
        }
      };
      load_frags(0, 0);
#pragma unroll
      for (int j = 0; j < STEPS; ++j) {
        if (j + 1 < STEPS) load_frags((j + 1) & 1, j + 1);
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
          for (int n = 0; n < NT; ++n) {
            if constexpr (F == Family::W4A4)
              ptx::mma_k64_4bit<AU>(acc[i][n], af[j & 1][i], bf[j & 1][n][0], bf[j & 1][n][1]);
            else
              ptx::mma_k32_8bit<AU>(acc[i][n], af[j & 1][i], bf[j & 1][n][0], bf[j & 1][n][1]);
          }
      }
    } else {
      // W4A8: all of the stage's weight nibbles (16 bytes a row per step) by ldmatrix: word
      // bw[n][s] = 8 nibbles of step s for lane t; A by 8-byte loads (see the file comment).
      uint32_t bw[NT][STEPS];
#pragma unroll
      for (int q = 0; q < NT / 2; ++q)
#pragma unroll
        for (int jj = 0; jj < STEPS / 2; ++jj) {
          uint32_t x[4];
          ptx::ldsm_x4(
              b_base + Swizzle<FT::kBRow>::offset(wn + 16 * q + (lane & 7) + ((lane >> 4) << 3),
                                                  2 * jj + ((lane >> 3) & 1)),
              x);
          bw[2 * q][2 * jj] = x[0];
          bw[2 * q][2 * jj + 1] = x[1];
          bw[2 * q + 1][2 * jj] = x[2];
          bw[2 * q + 1][2 * jj + 1] = x[3];
        }
      uint32_t af[2][MT][4];
      auto load_a = [&](int buf, int s) {
        const int c = 2 * s + (t4 >> 1), within = (t4 & 1) << 3;
#pragma unroll
        for (int i = 0; i < MT; ++i) {
          const int r = wm + 16 * i + g8;
          ptx::lds64(a_base + Swizzle<FT::kARow>::offset(r, c) + within, af[buf][i][0],
                     af[buf][i][2]);
          ptx::lds64(a_base + Swizzle<FT::kARow>::offset(r + 8, c) + within, af[buf][i][1],
                     af[buf][i][3]);
        }
      };
      load_a(0, 0);
#pragma unroll
      for (int s = 0; s < STEPS; ++s) {
        if (s + 1 < STEPS) load_a((s + 1) & 1, s + 1);
#pragma unroll
        for (int n = 0; n < NT; ++n) {
          uint32_t b0, b1;
          ptx::widen_s4x8(bw[n][s], b0, b1);
#pragma unroll
          for (int i = 0; i < MT; ++i) ptx::mma_k32_8bit<AU>(acc[i][n], af[s & 1][i], b0, b1);
        }
      }
    }

    if constexpr (Grouped) {
      const int kt = kt_begin + it;
      if (p.out_type != GemmOut::I32 && (kt + 1) % p.tiles_per_group == 0)
        fold((kt + 1) / p.tiles_per_group - 1);
    }
  }
  ptx::cp_async_wait<0>();
  __syncthreads();  // the pipeline's buffers are free: reuse them for the output tile

  // ---- epilogue, 1: the accumulators (int32, or float Σ_g sw·acc_g for grouped weights; the
  // raw int32 of group `split` for grouped I32 output) -> a [BM, kLd] 32-bit tile in shared
  // memory (+8 words a row keep these 8-byte stores free of bank conflicts) ----
  constexpr int kLd = T::kBN + 8;
  uint32_t* tile = reinterpret_cast<uint32_t*>(smem);
  const bool raw = p.out_type == GemmOut::I32;
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int r = wm + 16 * i + g8 + 8 * h, c = wn + 8 * j + 2 * t4;
        uint2 v = make_uint2(uint32_t(acc[i][j][2 * h]), uint32_t(acc[i][j][2 * h + 1]));
        if (Grouped && !raw)
          v = make_uint2(__float_as_uint(facc[i][j][2 * h]),
                         __float_as_uint(facc[i][j][2 * h + 1]));
        *reinterpret_cast<uint2*>(tile + r * kLd + c) = v;
      }
  __syncthreads();

  // ---- 2: rows of 4 outputs per thread, coalesced (not unrolled: one copy of this code) ----
  constexpr int kQuadsPerRow = T::kBN / 4, kQuads = T::kBM * kQuadsPerRow;
  const int rows_valid = min(T::kBM, p.m - m0), cols_valid = min(T::kBN, p.n - n0);
  const int64_t plane = int64_t(p.m) * p.n;
  uint32_t* part = static_cast<uint32_t*>(p.partials);
  // Split-K (grouped I32 output runs one split per group and needs no reduction): partial sums
  // to the workspace; the last CTA of the tile to arrive reduces them in split order (integer
  // sums are exact in any order; float partials are summed from +0 in split order, so the result
  // does not depend on which CTA finished last).
  const bool reduce = p.splits > 1 && !(Grouped && raw);
  if (reduce) {
#pragma unroll 1
    for (int q = tid; q < kQuads; q += T::kThreads) {
      const int r = q / kQuadsPerRow, c = (q % kQuadsPerRow) * 4;
      if (r >= rows_valid || c >= cols_valid) continue;
      __stcg(reinterpret_cast<uint4*>(part + split * plane + int64_t(m0 + r) * p.n + n0 + c),
             *reinterpret_cast<const uint4*>(tile + r * kLd + c));
    }
    // One thread fences (cumulative over the barrier) and arrives; the last CTA fences again
    // before its threads read the partials.
    __syncthreads();
    const int tile_id = int(blockIdx.x + blockIdx.y * gridDim.x);
    if (tid == 0) {
      __threadfence();
      s_last = atomicAdd(p.counters + tile_id, 1) == p.splits - 1;
      if (s_last) {
        __threadfence();
        p.counters[tile_id] = 0;  // ready for the next launch
      }
    }
    __syncthreads();
    if (!s_last) return;
  }

#pragma unroll 1
  for (int q = tid; q < kQuads; q += T::kThreads) {
    const int r = q / kQuadsPerRow, c = (q % kQuadsPerRow) * 4;
    if (r >= rows_valid || c >= cols_valid) continue;
    const int m = m0 + r, n = n0 + c;
    uint4 v;
    if (reduce) {
      const uint32_t* src = part + int64_t(m) * p.n + n;
      v = __ldcg(reinterpret_cast<const uint4*>(src));
      for (int s = 1; s < p.splits; ++s) {
        const uint4 w = __ldcg(reinterpret_cast<const uint4*>(src + s * plane));
        if constexpr (Grouped) {
          v.x = __float_as_uint(__fadd_rn(__uint_as_float(v.x), __uint_as_float(w.x)));
          v.y = __float_as_uint(__fadd_rn(__uint_as_float(v.y), __uint_as_float(w.y)));
          v.z = __float_as_uint(__fadd_rn(__uint_as_float(v.z), __uint_as_float(w.z)));
          v.w = __float_as_uint(__fadd_rn(__uint_as_float(v.w), __uint_as_float(w.w)));
        } else {
          v.x += w.x;  // two's complement: the exact int32 sum
          v.y += w.y;
          v.z += w.z;
          v.w += w.w;
        }
      }
    } else {
      v = *reinterpret_cast<const uint4*>(tile + r * kLd + c);
    }
    const uint32_t vv[4] = {v.x, v.y, v.z, v.w};

    if (raw) {  // out [M, N, groups] int32
      int32_t* out = static_cast<int32_t*>(p.out);
      if constexpr (Grouped) {
        const int64_t base = (int64_t(m) * p.n + n) * p.groups + split;
#pragma unroll
        for (int e = 0; e < 4; ++e) out[base + e * p.groups] = int32_t(vv[e]);
      } else {
        *reinterpret_cast<uint4*>(out + int64_t(m) * p.n + n) = v;
      }
      continue;
    }

    float t[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      if constexpr (Grouped) {
        // Per group from +0 in the main loop; a single split's sum is then exactly the CPU's.
        t[e] = __uint_as_float(vv[e]);
        if (p.splits > 1) t[e] = __fadd_rn(0.0f, t[e]);
      } else {
        t[e] = __fadd_rn(0.0f, __fmul_rn(__ldg(p.sw + n + e), __int2float_rn(int32_t(vv[e]))));
      }
    }
    epilogue_store4(p, m, n, t);
  }
#else
  __trap();  // built for an architecture without integer mma.sync (needs sm_80+)
#endif
}

template <Family F, bool AU, GemmTile TT, bool Grouped>
void launch(const KernelParams& kp, dim3 grid, cudaStream_t stream) {
  using T = typename TileOf<TT>::type;
  constexpr int kSmem = kSmemBytes<F, T>;
  const auto kernel = &mma_int_gemm_kernel<F, AU, T, Grouped>;
  // Without opting in, static + dynamic shared memory is capped at 48 KiB (the small W4A8 tile
  // needs exactly 48 KiB dynamic, plus the static flag). The limit is per device; raise it once
  // per process and device.
  raise_smem_limit<&mma_int_gemm_kernel<F, AU, T, Grouped>>(kSmem);
  kernel<<<grid, T::kThreads, kSmem, stream>>>(kp);
  LOWBIT_CUDA_LAUNCHED("mma_int_gemm_kernel");
}

// Every variant of one family: signed / unsigned activations x tiles x grouped weights.
#define LOWBIT_MMA_GEMM_INSTANTIATE(FAMILY)                                              \
  template void launch<FAMILY, false, GemmTile::Large, false>(const KernelParams&, dim3, \
                                                              cudaStream_t);             \
  template void launch<FAMILY, false, GemmTile::Large, true>(const KernelParams&, dim3,  \
                                                             cudaStream_t);              \
  template void launch<FAMILY, false, GemmTile::Small, false>(const KernelParams&, dim3, \
                                                              cudaStream_t);             \
  template void launch<FAMILY, false, GemmTile::Small, true>(const KernelParams&, dim3,  \
                                                             cudaStream_t);              \
  template void launch<FAMILY, true, GemmTile::Large, false>(const KernelParams&, dim3,  \
                                                             cudaStream_t);              \
  template void launch<FAMILY, true, GemmTile::Large, true>(const KernelParams&, dim3,   \
                                                            cudaStream_t);               \
  template void launch<FAMILY, true, GemmTile::Small, false>(const KernelParams&, dim3,  \
                                                             cudaStream_t);              \
  template void launch<FAMILY, true, GemmTile::Small, true>(const KernelParams&, dim3,   \
                                                            cudaStream_t);

}  // namespace lowbit::cuda::gemm
