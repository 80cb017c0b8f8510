// The Hopper (sm_90a) GEMM kernel template, included by one .cu file per family.
//
// Y[M, N] = epilogue(X · Wᵀ) is computed transposed, Yᵀ = W · Xᵀ ("swap AB"): the weights are
// wgmma's A operand (64 rows per warpgroup) and the tokens its N dimension (BT = 64, 128 or 256
// per CTA). So a batch of a few tokens wastes no tensor-core rows, and 4-bit weights can reach the
// tensor cores through registers (wgmma takes A from registers, B only from shared memory).
//
// CTA = 3 warpgroups, warp-specialised and persistent (a CTA loops over (tile, K split) work units
// in a fixed order), in one of two schedules (wgmma_gemm_config.h): cooperative, where both
// consumers share each 128-weight unit, or ping-pong, where each consumer owns every other
// 64-weight unit and their main loops take turns, so that an epilogue overlaps the other's main
// loop. Cooperative, as described below:
//   warpgroup 0, producer: one thread issues TMA loads of a [128 weights x 128 k] and a
//     [BT tokens x 128 k] box per stage into a ring of kStages stages (full / empty mbarriers);
//   warpgroups 1, 2, consumers: each owns 64 weight rows x BT tokens of int32 (FP8, F16: float)
//     accumulators and issues 4 wgmma k steps (32 bytes of each row) per stage, keeping one stage
//     of wgmma in flight (W4A8 / W4A4, whose A comes from registers: none, see the main loop).
//     (F16: a stage holds 64 k elements, 128 bytes.)
//   W8A8 / FP8 / F16: both operands from shared memory, 128-byte swizzle, by descriptor.
//   W4A8 / W4A4: the consumer loads its weight rows' nibbles (one 16-byte load per row and
//     stage; the Hopper int4 order of wgmma_layout.h) and widens them to the int8 A fragments.
//   W4A4: the int4 activations are widened into an int8 tile (128-byte swizzle) by the two
//     consumer warpgroups together, then read by descriptor. Three such tiles rotate: tile i % 3 is
//     rewritten at stage i only after both warpgroups have passed the barrier of stage i - 1,
//     which each crossed after waiting for its own stage i - 3 wgmma (wait_group 1 at i - 2).
// Epilogue, per consumer warpgroup, in the CPU reference's order of float operations
// (gemm_epilogue.cuh), with the tile's scales staged in shared memory first:
//   F16 output (the encoder's case): computed in registers, written with stmatrix.trans into a
//     [token][weight] tile in the 128-byte swizzle, stored by one TMA store (a residual comes in
//     by a TMA load into the same tile and is read back with ldmatrix.trans);
//   F32 / raw I32 / unaligned rows: the accumulators go through shared memory 32 tokens at a
//     time, then each thread finishes 4 consecutive outputs of a token row, coalesced.
// Split-K: each warpgroup stores its accumulators as they sit in registers (coalesced); the last
// to arrive for its half tile reloads every split in order and runs the epilogue. Integer
// results are bit-exact with cpu::int_gemm and the F32 epilogue with cpu::int_gemm_epilogue.
#pragma once

#include <cuda.h>
#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/gemm_epilogue.cuh"
#include "backends/cuda/gemm/mma_primitives.cuh"
#include "backends/cuda/gemm/sm90_primitives.cuh"
#include "backends/cuda/gemm/wgmma_gemm_config.h"
#include "backends/cuda/gemm/wgmma_ops.cuh"

namespace lowbit::cuda::gemm::sm90 {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// t = Σ sw · acc for one group, as the CPU writes it (integer: from +0; FP8: sw · acc).
template <bool FP8>
__device__ __forceinline__ float weight_scaled(float sw, uint32_t acc) {
  if constexpr (FP8)
    return __fmul_rn(sw, __uint_as_float(acc));
  else
    return __fadd_rn(0.0f, __fmul_rn(sw, __int2float_rn(int32_t(acc))));
}

// The per-tile epilogue inputs of one consumer warpgroup, staged in shared memory once per tile
// (the output loop then waits on no global loads but the residual).
struct EpiParams {  // sizeof: Config::kEpiBytes / 2
  float sw[64], zcorr[64], bias[64];
  float sx[256], zx[256];
};

// Epilogue pass 2 for one staged chunk: tokens m0 .. m0 + 31 (chunk c of the tile), weights
// n0 .. n0 + 63. Each thread finishes 4 quads of 4 outputs, independent, unrolled so that their
// loads are in flight together.
template <bool FP8>
__device__ __noinline__ void finish_chunk(const KernelParams& p, const uint32_t* stg,
                                          const EpiParams& ep, int m0, int c, int n0, int tid) {
  const bool raw = p.out_type == GemmOut::I32;
#pragma unroll
  for (int i = 0; i < kChunk * 16 / 128; ++i) {
    const int q = tid + 128 * i;
    const int tok = q >> 4, wq = (q & 15) * 4;
    const int m = m0 + c * kChunk + tok, n = n0 + wq;
    if (m >= p.m || n >= p.n) continue;
    const uint4 v = *reinterpret_cast<const uint4*>(stg + tok * kStgLd + wq);
    if (raw) {
      *reinterpret_cast<uint4*>(static_cast<uint32_t*>(p.out) + int64_t(m) * p.ldo + n) = v;
    } else {
      const float4 s = *reinterpret_cast<const float4*>(ep.sw + wq);
      const float t[4] = {weight_scaled<FP8>(s.x, v.x), weight_scaled<FP8>(s.y, v.y),
                          weight_scaled<FP8>(s.z, v.z), weight_scaled<FP8>(s.w, v.w)};
      const int tl = c * kChunk + tok;
      epilogue_store4(p, m, n, t, ep.sx[tl], ep.zx[tl], ep.zcorr + wq,
                      p.bias ? ep.bias + wq : nullptr);
    }
  }
}

// v[0..7] = the bits of acc[8q .. 8q + 7] for a run-time q: a switch of register moves, so that
// a rolled loop can walk the accumulators without indexing them (which would put them in local
// memory).
template <int BT, class Acc>
__device__ __forceinline__ void select8(const Acc (&acc)[BT / 2], int q, uint32_t (&v)[8]) {
  auto take = [&](auto qc) {
    constexpr int Q = decltype(qc)::value;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      if constexpr (std::is_same_v<Acc, float>)
        v[i] = __float_as_uint(acc[8 * Q + i]);
      else
        v[i] = uint32_t(acc[8 * Q + i]);
    }
  };
  switch (q) {
#define LOWBIT_SELECT8_CASE(Q)                                                \
  case Q:                                                                     \
    if constexpr (8 * (Q) < BT / 2) take(std::integral_constant<int, (Q)>{}); \
    break;
    LOWBIT_SELECT8_CASE(0)
    LOWBIT_SELECT8_CASE(1)
    LOWBIT_SELECT8_CASE(2)
    LOWBIT_SELECT8_CASE(3)
    LOWBIT_SELECT8_CASE(4)
    LOWBIT_SELECT8_CASE(5)
    LOWBIT_SELECT8_CASE(6)
    LOWBIT_SELECT8_CASE(7)
    LOWBIT_SELECT8_CASE(8)
    LOWBIT_SELECT8_CASE(9)
    LOWBIT_SELECT8_CASE(10)
    LOWBIT_SELECT8_CASE(11)
    LOWBIT_SELECT8_CASE(12)
    LOWBIT_SELECT8_CASE(13)
    LOWBIT_SELECT8_CASE(14)
    LOWBIT_SELECT8_CASE(15)
#undef LOWBIT_SELECT8_CASE
    default:
      break;
  }
}

// One wgmma k step (32 bytes of each operand row) of the consumer warpgroup's 64 x BT tile.
template <Fam F, bool XU, int BT, class Acc>
__device__ __forceinline__ void mma_step(Acc (&acc)[BT / 2], const uint32_t (&a)[4],
                                         uint64_t desc_a, uint64_t desc_b, int scale_d) {
  using namespace ::lowbit::cuda::gemm::ptx;
#define LOWBIT_WGMMA_CASE(N)                                    \
  if constexpr (BT == N) {                                      \
    if constexpr (F == Fam::FP8)                                \
      wgmma_m64n##N##k32_e4m3_ss(acc, desc_a, desc_b, scale_d); \
    else if constexpr (F == Fam::F16)                           \
      wgmma_m64n##N##k16_f16_ss(acc, desc_a, desc_b, scale_d);  \
    else if constexpr (Traits<F>::kWRegs && XU)                 \
      wgmma_m64n##N##k32_s8u8_rs(acc, a, desc_b, scale_d);      \
    else if constexpr (Traits<F>::kWRegs)                       \
      wgmma_m64n##N##k32_s8s8_rs(acc, a, desc_b, scale_d);      \
    else if constexpr (XU)                                      \
      wgmma_m64n##N##k32_s8u8_ss(acc, desc_a, desc_b, scale_d); \
    else                                                        \
      wgmma_m64n##N##k32_s8s8_ss(acc, desc_a, desc_b, scale_d); \
  }
  LOWBIT_WGMMA_CASE(64)
  LOWBIT_WGMMA_CASE(128)
  LOWBIT_WGMMA_CASE(256)
#undef LOWBIT_WGMMA_CASE
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

template <Fam F, bool XU, int BT, bool PP, bool SK>
__global__ void __launch_bounds__(kThreads, 1)
    wgmma_gemm_kernel(const __grid_constant__ KernelParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using namespace ::lowbit::cuda::gemm::ptx;
  using TR = Traits<F>;
  using C = Config<F, BT, PP>;
  using Acc = std::conditional_t<TR::kFp8, float, int32_t>;
  constexpr int S = C::kStages, NACC = BT / 2;
  static_assert(2 * sizeof(EpiParams) == C::kEpiBytes);

  extern __shared__ uint8_t smem_raw[];
  const uint32_t raw_addr = smem_addr(smem_raw);
  const uint32_t base = (raw_addr + 1023u) & ~1023u;  // the 128-byte swizzle's atoms
  uint8_t* const base_ptr = smem_raw + (base - raw_addr);
  const uint32_t sW = base;
  const uint32_t sX = sW + S * C::kWStage;
  const uint32_t sWiden = sX + S * C::kXStage;
  const uint32_t sStg = sWiden + C::kWidenBytes;
  const uint32_t sEpi = sStg + C::kStgBytes;           // EpiParams[2]
  const uint32_t sBar = sEpi + 2 * sizeof(EpiParams);  // full[S], empty[S]
  int* const flags = reinterpret_cast<int*>(base_ptr + (sBar - base) + 16 * S + 16);
  auto full = [&](int s) { return sBar + 8 * s; };
  auto empty = [&](int s) { return sBar + 8 * (S + s); };
  // Ping-pong: turn(c) lets consumer c start its next main loop (the other one arrives on it
  // when its own main loop is done).
  auto turn = [&](int c) { return sBar + 16 * S + 32 + 8 * c; };

  const int wg = int(threadIdx.x) / 128, tid = int(threadIdx.x) % 128;
  if (threadIdx.x == 0) {
    for (int s = 0; s < S; ++s) {
      mbar_init(full(s), 1);
      mbar_init(empty(s), PP ? 1 : 2);  // consumers that read a stage
    }
    mbar_init(sBar + 8 * (2 * S), 1);  // residual tile of consumer 0
    mbar_init(sBar + 8 * (2 * S + 1), 1);
    mbar_init(turn(0), 1);
    mbar_init(turn(1), 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  const int units = p.w_tiles * p.x_tiles * p.splits;

  if (wg == 0) {
    // ---------------- producer ----------------
    setmaxnreg_dec<40>();
    if (tid == 0) {
      tma_prefetch_desc(&p.tw);
      tma_prefetch_desc(&p.tx);
      int stage = 0;
      uint32_t phase = 0;
      for (int u = int(blockIdx.x); u < units; u += int(gridDim.x)) {
        const int split = u % p.splits, tile = u / p.splits;
        const int wt = tile % p.w_tiles, xt = tile / p.w_tiles;
        const int kb0 = split * p.blocks_per_split;
        const int kb1 = min(p.k_blocks, kb0 + p.blocks_per_split);
        for (int kb = kb0; kb < kb1; ++kb) {
          mbar_wait(empty(stage), phase ^ 1u);
          mbar_arrive_expect_tx(full(stage), C::kStageBytes);
          tma_load_2d(sW + stage * C::kWStage, &p.tw, kb * TR::kWBytes, wt * C::kUnitRows,
                      full(stage));
          tma_load_2d(sX + stage * C::kXStage, &p.tx, kb * TR::kXBytes, xt * BT, full(stage));
          if (++stage == S) {
            stage = 0;
            phase ^= 1u;
          }
        }
      }
    }
    return;
  }

  // ---------------- consumers ----------------
  setmaxnreg_inc<232>();
  // 0 / 1. Cooperative: weight rows 64·cw .. 64·cw + 63 of every unit; ping-pong: every other
  // unit. Broadcast from lane 0 so that the compiler knows branches on it are warp-uniform.
  const int cw = __shfl_sync(0xffffffffu, wg - 1, 0);
  const int wrow0 = PP ? 0 : 64 * cw;  // the consumer's first weight row in a stage
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  uint32_t* const stg = reinterpret_cast<uint32_t*>(base_ptr + (sStg - base) + cw * C::kStgPerWg);
  const uint32_t sF16 = sStg + cw * C::kStgPerWg;  // 1024-aligned: kStgPerWg is 1024·k
  const uint32_t res_bar = sBar + 8 * (2 * S + cw);
  uint32_t res_phase = 0;
  EpiParams& ep = reinterpret_cast<EpiParams*>(base_ptr + (sEpi - base))[cw];
  int stage = 0;
  uint32_t phase = 0;
  int widen_i = 0;
  Acc acc[NACC];

  int own = 0;  // ping-pong: units this consumer has run
  for (int u = int(blockIdx.x), j = 0; u < units; u += int(gridDim.x), ++j) {
    const int split = u % p.splits, tile = u / p.splits;
    const int wt = tile % p.w_tiles, xt = tile / p.w_tiles;
    const int kb0 = split * p.blocks_per_split;
    const int kb1 = min(p.k_blocks, kb0 + p.blocks_per_split);
    if constexpr (PP) {
      if ((j & 1) != cw) {  // the other consumer's unit: skip its stages in the ring
        const int next = stage + (kb1 - kb0);
        phase ^= uint32_t((next / S) & 1);
        stage = next % S;
        continue;
      }
      // Wait for the other consumer's main loop to finish (consumer 0's first unit goes first).
      if (cw == 1)
        mbar_wait(turn(1), uint32_t(own & 1));
      else if (own > 0)
        mbar_wait(turn(0), uint32_t((own - 1) & 1));
      ++own;
    }
    int prev = -1;
    // One k block: wait for its stage, (W4A4) widen the tokens, (W4) widen the weight nibbles
    // into `a`, issue the 4 wgmma k steps, then retire the previous block's wgmma and free its
    // stage. `a_prev` (the previous block's A registers) is "used" after that wait so that the
    // compiler keeps those registers untouched while the tensor cores may still read them.
    auto block = [&](int kb, uint32_t(&a)[4][4], uint32_t(&a_prev)[4][4]) {
      mbar_wait(full(stage), phase);
      uint32_t xs = sX + stage * C::kXStage;
      if constexpr (TR::kWidenX) {
        // int4 tokens [BT, 64 bytes] -> int8 [BT, 128 bytes], 128-byte swizzle; 8 packed bytes
        // (16 codes) a job, both consumer warpgroups.
        const uint32_t dst = sWiden + uint32_t(widen_i % 3) * (BT * 128);
        for (int j = cw * 128 + tid; j < BT * 8; j += 256) {
          const int r = j >> 3, c = j & 7;
          uint32_t w0, w1, b0, b1, b2, b3;
          lds64(xs + r * 64 + c * 8, w0, w1);
          if constexpr (XU) {
            widen_u4x8(w0, b0, b1);
            widen_u4x8(w1, b2, b3);
          } else {
            widen_s4x8(w0, b0, b1);
            widen_s4x8(w1, b2, b3);
          }
          sts128(dst + r * 128 + ((c ^ (r & 7)) << 4), b0, b1, b2, b3);
        }
        fence_proxy_async_smem();
        named_bar_sync(1, 256);
        xs = dst;
        ++widen_i;
      }
      if constexpr (TR::kWRegs) {
        const uint32_t row0 = sW + stage * C::kWStage + (wrow0 + warp * 16 + g) * 64 + t * 16;
        const uint4 w0 = lds128(row0), w1 = lds128(row0 + 8 * 64);
        const uint32_t r0[4] = {w0.x, w0.y, w0.z, w0.w}, r1[4] = {w1.x, w1.y, w1.z, w1.w};
#pragma unroll
        for (int s = 0; s < 4; ++s) {
          widen_offset4(r0[s], a[s][0], a[s][2]);
          widen_offset4(r1[s], a[s][1], a[s][3]);
        }
      }
      wgmma_fence();
#pragma unroll
      for (int s = 0; s < 4; ++s) {
        const uint64_t da = desc_sw128(sW + stage * C::kWStage + wrow0 * 128 + s * 32);
        const uint64_t db = desc_sw128(xs + s * 32);
        mma_step<F, XU, BT>(acc, a[s], da, db, (kb > kb0 || s > 0) ? 1 : 0);
      }
      wgmma_commit();
      // Register A (W4): retire this stage's wgmma before the next stage's fragments are
      // written. With one stage in flight (wait 1), ptxas saw registers of a wgmma defined inside
      // its pipeline stage and serialised every wgmma of the kernel (C7513); the other consumer
      // warpgroup keeps the tensor cores busy meanwhile. Shared-memory A: one stage in flight.
      if constexpr (TR::kWRegs)
        wgmma_wait<0>();
      else
        wgmma_wait<1>();
      if constexpr (TR::kWRegs) {
#pragma unroll
        for (int s = 0; s < 4; ++s)
#pragma unroll
          for (int i = 0; i < 4; ++i) asm volatile("" ::"r"(a_prev[s][i]));
      }
      if (prev >= 0 && tid == 0) mbar_arrive(empty(prev));
      prev = stage;
      if (++stage == S) {
        stage = 0;
        phase ^= 1u;
      }
    };
    uint32_t a0[4][4] = {}, a1[4][4] = {};
    for (int kb = kb0; kb < kb1; kb += 2) {
      block(kb, a0, a1);
      if (kb + 1 < kb1) block(kb + 1, a1, a0);
    }
    wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < NACC; ++i) fence_operand(acc[i]);
    if constexpr (TR::kWRegs) {
#pragma unroll
      for (int s = 0; s < 4; ++s)
#pragma unroll
        for (int i = 0; i < 4; ++i) asm volatile("" ::"r"(a0[s][i]), "r"(a1[s][i]));
    }
    if (prev >= 0 && tid == 0) mbar_arrive(empty(prev));
    if (PP && tid == 0) mbar_arrive(turn(1 - cw));  // the tensor cores are the other's now
    const int bar = 2 + cw;
    // This consumer's 64-weight half tile: its index among all half tiles, and its first weight.
    const int half = PP ? tile : 2 * tile + cw;
    const int halves = PP ? p.w_tiles * p.x_tiles : 2 * p.w_tiles * p.x_tiles;

    // ---- split-K: every warpgroup stores its accumulators to the workspace as they sit in
    // registers ([split][tile][warpgroup][i][thread]: coalesced, no staging); the last to arrive
    // for its half tile reloads all splits in split order (integers: exact; FP8: float sums from
    // +0 in a fixed order) and runs the epilogue. ----
    // SK: split-K compiled in. The float families (FP8, F16) have a variant without it: their
    // reload of the accumulators made ptxas serialise every wgmma of the kernel (C7514).
    if (SK && p.splits > 1) {
      uint32_t* part = static_cast<uint32_t*>(p.partials);
      const int64_t slab = int64_t(NACC) * 128;  // words per half tile and split
      const int64_t mine = (int64_t(split) * halves + half) * slab + tid;
#pragma unroll
      for (int i = 0; i < NACC; ++i) {
        uint32_t bits;
        if constexpr (TR::kFp8)
          bits = __float_as_uint(acc[i]);
        else
          bits = uint32_t(acc[i]);
        __stcg(part + mine + i * 128, bits);
      }
      // The stores, then one thread's fence (cumulative over the barrier) and arrival; the last
      // fences again before its threads read. (A fence in every thread cost far more.)
      named_bar_sync(bar, 128);
      const int counter = half;
      if (tid == 0) {
        // Release / acquire at GPU scope (fence.acq_rel, not __threadfence's sequentially
        // consistent fence: only the ordering around the counter is needed).
        asm volatile("fence.acq_rel.gpu;\n" ::: "memory");
        const bool last = atomicAdd(p.counters + counter, 1) == p.splits - 1;
        if (last) {
          asm volatile("fence.acq_rel.gpu;\n" ::: "memory");
          p.counters[counter] = 0;  // ready for the next launch
        }
        flags[cw] = last;
      }
      named_bar_sync(bar, 128);
      // Broadcast from lane 0: the compiler then knows the branch is warp-uniform. Read per
      // thread, the divergent `continue` made ptxas serialise every wgmma of the FP8 and F16
      // kernels (C7520: a compiler-inserted warpgroup arrive in a divergent path).
      if (!__shfl_sync(0xffffffffu, flags[cw], 0)) continue;
#pragma unroll
      for (int i = 0; i < NACC; ++i) acc[i] = Acc(0);
#pragma unroll 1
      for (int sp = 0; sp < p.splits; ++sp) {
        const uint32_t* src = part + (int64_t(sp) * halves + half) * slab + tid;
#pragma unroll
        for (int i = 0; i < NACC; ++i) {
          const uint32_t w = __ldcg(src + i * 128);
          if constexpr (TR::kFp8)
            acc[i] = __fadd_rn(acc[i], __uint_as_float(w));
          else
            acc[i] = int32_t(uint32_t(acc[i]) + w);  // two's complement: the exact sum
        }
      }
    }

    // ---- epilogue ----
    const int n0 = wt * C::kUnitRows + wrow0, m0 = xt * BT;
    const bool finish = p.out_type != GemmOut::I32;
    // The staging tile may still be read by this warpgroup's previous TMA store.
    if (tid == 0) bulk_wait_read0();
    named_bar_sync(bar, 128);  // the previous tile's epilogue is done with `ep` and the staging
    if (p.tma_out && p.residual && tid == 0) {
      mbar_arrive_expect_tx(res_bar, BT * 128);
      tma_load_2d(sF16, &p.tres, n0, m0, res_bar);
    }
    if (finish) {
      if (tid < 64) {
        const int n = min(n0 + tid, p.n - 1);
        ep.sw[tid] = p.sw ? __ldg(p.sw + n) : 1.0f;  // F16: no scales (x 1 is exact)
        ep.zcorr[tid] = p.zx ? __ldg(p.zcorr + n) : 0.0f;
        ep.bias[tid] = p.bias ? __ldg(p.bias + n) : 0.0f;
      }
      for (int i = tid; i < BT; i += 128) {
        const int m = min(m0 + i, p.m - 1);
        ep.sx[i] = p.sx ? __ldg(p.sx + m) : 1.0f;
        ep.zx[i] = p.zx ? __ldg(p.zx + m) : 0.0f;
      }
    }
    if (p.tma_out) {
      // F16 fast path: the epilogue in registers (the CPU's order of float operations, per
      // element), stmatrix.trans into the swizzled [token][weight] tile, one TMA store.
      named_bar_sync(bar, 128);  // ep visible
      const int r0 = warp * 16 + g;
      const float sw_r[2] = {ep.sw[r0], ep.sw[r0 + 8]};
      const float zc_r[2] = {ep.zcorr[r0], ep.zcorr[r0 + 8]};
      const float b_r[2] = {ep.bias[r0], ep.bias[r0 + 8]};
      if (p.residual) {
        mbar_wait(res_bar, res_phase);
        res_phase ^= 1u;
      }
      // stmatrix x4: matrices i = (n8 tile j + i / 2, half h = i % 2); lane l addresses row l % 8
      // of matrix l / 8 = token 8 (j + l / 16) + l % 8, 16-byte chunk 2·warp + (l / 8) % 2.
      const int lrow = lane & 7, lmat = lane >> 3;
      // A rolled loop (small code: the unrolled one stalled on instruction fetch); each pass takes
      // 8 accumulators, n8 tiles j, j + 1, chosen by a switch so that `acc` stays in registers.
      // FULL: zero points, GELU or a residual; else only the scales and the optional bias (the
      // common case, with the fewest instructions per output).
      auto pass = [&](auto full_c) {
        constexpr bool FULL = decltype(full_c)::value;
#pragma unroll 1
        for (int j = 0; j < BT / 8; j += 2) {
          uint32_t v[8];
          select8<BT>(acc, j / 2, v);
          const int tok = 8 * (j + (lmat >> 1)) + lrow, chunk = 2 * warp + (lmat & 1);
          const uint32_t addr = sF16 + tok * 128 + ((chunk ^ (tok & 7)) << 4);
          uint32_t res[4] = {0, 0, 0, 0};
          if (FULL && p.residual) ldsm_x4_trans(addr, res[0], res[1], res[2], res[3]);
          uint32_t packed[4];
#pragma unroll
          for (int q = 0; q < 2; ++q) {
            const float2 sx2 = *reinterpret_cast<const float2*>(ep.sx + 8 * (j + q) + 2 * t);
            float2 zx2 = make_float2(0.0f, 0.0f);
            if (FULL) zx2 = *reinterpret_cast<const float2*>(ep.zx + 8 * (j + q) + 2 * t);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              float y[2];
#pragma unroll
              for (int e = 0; e < 2; ++e) {
                float x = __fmul_rn(e ? sx2.y : sx2.x,
                                    weight_scaled<TR::kFp8>(sw_r[h], v[4 * q + 2 * h + e]));
                if (FULL && p.zx) x = __fadd_rn(x, __fmul_rn(e ? zx2.y : zx2.x, zc_r[h]));
                if (p.bias) x = __fadd_rn(x, b_r[h]);
                if (FULL && p.gelu) x = gelu_erf(x);
                y[e] = x;
              }
              if (FULL && p.residual) {
                const float2 r = __half22float2(*reinterpret_cast<const __half2*>(&res[2 * q + h]));
                y[0] = __fadd_rn(y[0], r.x);
                y[1] = __fadd_rn(y[1], r.y);
              }
              const __half2 hv = __floats2half2_rn(y[0], y[1]);
              packed[2 * q + h] = *reinterpret_cast<const uint32_t*>(&hv);
            }
          }
          stsm_x4_trans(addr, packed[0], packed[1], packed[2], packed[3]);
        }
      };
      if (p.zx || p.gelu || p.residual)
        pass(std::true_type{});
      else
        pass(std::false_type{});
      fence_proxy_async_smem();
      named_bar_sync(bar, 128);
      if (tid == 0) {
        tma_store_2d(&p.tout, sF16, n0, m0);
        bulk_commit();
      }
      if (p.row_amax) {
        // Each token's max |y| as stored, read back from the staged tile (beside the TMA store,
        // which only reads it too): the 64 halves of a token's row, in any order, as integers
        // (|h| = h & 0x7fff orders like the magnitude, Inf and NaN above every finite value),
        // then widened to float bits.
        for (int i = tid; i < BT && m0 + i < p.m; i += 128) {
          uint32_t mx = 0;
#pragma unroll
          for (int c = 0; c < 8; ++c) {
            const uint4 w = lds128(sF16 + i * 128 + c * 16);
            mx = __vmaxu2(mx, w.x & 0x7fff7fffu);
            mx = __vmaxu2(mx, w.y & 0x7fff7fffu);
            mx = __vmaxu2(mx, w.z & 0x7fff7fffu);
            mx = __vmaxu2(mx, w.w & 0x7fff7fffu);
          }
          const uint16_t hb = uint16_t(max(mx & 0xffffu, mx >> 16));
          const float f = __half2float(__ushort_as_half(hb));
          p.row_amax[int64_t(m0 + i) * p.ld_amax + n0 / 64] = __float_as_uint(f);
        }
      }
      continue;
    }
#pragma unroll
    for (int c = 0; c < BT / kChunk; ++c) {
      named_bar_sync(bar, 128);  // the previous chunk has been read
#pragma unroll
      for (int jj = 0; jj < kChunk / 8; ++jj)
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int j = c * (kChunk / 8) + jj;
            const Acc v = acc[4 * j + 2 * h + e];
            uint32_t bits;
            if constexpr (TR::kFp8)
              bits = __float_as_uint(v);
            else
              bits = uint32_t(v);
            stg[(8 * jj + 2 * t + e) * kStgLd + warp * 16 + g + 8 * h] = bits;
          }
      named_bar_sync(bar, 128);
      finish_chunk<TR::kFp8>(p, stg, ep, m0, c, n0, tid);
    }
  }
  if (tid == 0) asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
#else
  __trap();  // the Hopper GEMMs need sm_90a
#endif
}

template <Fam F, bool XU, int BT, bool PP, bool SK>
void launch(const KernelParams& kp, int grid, cudaStream_t stream) {
  using C = Config<F, BT, PP>;
  const auto kernel = &wgmma_gemm_kernel<F, XU, BT, PP, SK>;
  raise_smem_limit<&wgmma_gemm_kernel<F, XU, BT, PP, SK>>(C::kSmem);
  kernel<<<grid, kThreads, C::kSmem, stream>>>(kp);
  LOWBIT_CUDA_LAUNCHED("wgmma_gemm_kernel");
}

#define LOWBIT_WGMMA_GEMM_INSTANTIATE_SK(FAM, XU, SK)                                    \
  template void launch<FAM, XU, 64, false, SK>(const KernelParams&, int, cudaStream_t);  \
  template void launch<FAM, XU, 128, false, SK>(const KernelParams&, int, cudaStream_t); \
  template void launch<FAM, XU, 256, false, SK>(const KernelParams&, int, cudaStream_t); \
  template void launch<FAM, XU, 128, true, SK>(const KernelParams&, int, cudaStream_t);  \
  template void launch<FAM, XU, 256, true, SK>(const KernelParams&, int, cudaStream_t);
// Integer families: every tile cooperative, ping-pong at 128 and 256 tokens, split-K compiled in.
#define LOWBIT_WGMMA_GEMM_INSTANTIATE(FAM, XU) LOWBIT_WGMMA_GEMM_INSTANTIATE_SK(FAM, XU, true)
// Float families (FP8, F16): the same, with and without split-K (see SK in the kernel).
#define LOWBIT_WGMMA_GEMM_INSTANTIATE_FLOAT(FAM)     \
  LOWBIT_WGMMA_GEMM_INSTANTIATE_SK(FAM, false, true) \
  LOWBIT_WGMMA_GEMM_INSTANTIATE_SK(FAM, false, false)
// W4A4: cooperative, 64 and 128 tokens.
#define LOWBIT_WGMMA_GEMM_INSTANTIATE_64_128(FAM, XU)                                     \
  template void launch<FAM, XU, 64, false, true>(const KernelParams&, int, cudaStream_t); \
  template void launch<FAM, XU, 128, false, true>(const KernelParams&, int, cudaStream_t);

}  // namespace lowbit::cuda::gemm::sm90
