// FlashAttention-2 forward on mma.sync m16n8k16 (sm_80+), one CTA per (64 queries, head,
// sequence), 4 warps of 16 query rows. K and V tiles of 64 keys are double-buffered in shared
// memory with cp.async; S = Q Kᵀ stays in registers, the softmax is online (running max and sum
// per row, in the exp2 domain), and P is fed back to the tensor cores as the A operand of P·V
// straight from the S accumulators (their layouts coincide). Rows are padded by 16 bytes in
// shared memory so that ldmatrix reads 8 rows without bank conflicts.
#include "backends/cuda/attention/flash_attention.h"

#include <cuda_fp16.h>

#include <cmath>
#include <sstream>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/mma_primitives.cuh"

namespace lowbit::cuda {

namespace {

using namespace ::lowbit::cuda::gemm::ptx;

constexpr int kBQ = 64, kBK = 64, kWarps = 4;

// D (16 x 8, f32) += A (16 x 16, f16, row) · B (16 x 8, f16, col).
__device__ __forceinline__ void mma_f16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                        uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x by the special-function unit alone (ex2.approx.ftz: relative error ~2^-22, subnormal
// results flushed to 0; exp2f adds a range fix-up of several instructions around the same MUFU).
// The probabilities it makes are rounded to FP16 for P·V, so neither difference shows.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

template <int D>
struct Smem {
  static constexpr int kLd = D + 8;            // halves per shared row (16-byte pad)
  static constexpr int kTile = kBK * kLd * 2;  // bytes of one 64-row tile
  static constexpr int kBytes = kTile * (1 /* Q */ + 2 * 2 /* K, V double-buffered */);
};

// rows [row0, row0 + 64) of one head's Q, K or V slice into a padded shared tile (zero past
// `rows`).
template <int D>
__device__ __forceinline__ void load_tile(uint32_t dst, const __half* base, int64_t ld, int row0,
                                          int rows, int tid) {
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
#pragma unroll
  for (int i = tid; i < kBK * kChunks; i += kWarps * 32) {
    const int r = i / kChunks, c = i % kChunks;
    const bool valid = row0 + r < rows;
    const __half* src = base + int64_t(valid ? row0 + r : 0) * ld + c * 8;
    cp_async_16(dst + (r * Smem<D>::kLd + c * 8) * 2, src, valid);
  }
}

// Bias: scores get bias[head, key - query + span - 1] after the scaling (MPNet's relative
// attention bias); the kernel works in the exp2 domain, so it adds bias · log2(e).
template <int D, bool Bias>
__global__ void __launch_bounds__(kWarps * 32)
    flash_attention_kernel(const __half* __restrict__ qkv, const int32_t* __restrict__ cu_seqlens,
                           int heads, float scale_log2, __half* __restrict__ out,
                           const float* __restrict__ bias, int span) {
  using S = Smem<D>;
  const int seq = blockIdx.z, head = blockIdx.y, q0 = blockIdx.x * kBQ;
  const int begin = cu_seqlens[seq], len = cu_seqlens[seq + 1] - begin;
  if (q0 >= len) return;
  extern __shared__ __align__(16) uint8_t smem[];
  const uint32_t sQ = smem_addr(smem);
  auto sK = [&](int b) { return sQ + S::kTile * (1 + b); };
  auto sV = [&](int b) { return sQ + S::kTile * (3 + b); };

  const int hidden = heads * D;
  const int64_t ld = 3 * int64_t(hidden);
  const __half* q_base = qkv + int64_t(begin) * ld + head * D;
  const __half* k_base = q_base + hidden;
  const __half* v_base = q_base + 2 * hidden;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;

  load_tile<D>(sQ, q_base, ld, q0, len, tid);
  load_tile<D>(sK(0), k_base, ld, 0, len, tid);
  load_tile<D>(sV(0), v_base, ld, 0, len, tid);
  cp_async_commit();

  // This warp's 16 query rows as A fragments, one per 16 features.
  uint32_t qf[D / 16][4];
  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};

  const int blocks = (len + kBK - 1) / kBK;
  for (int kb = 0; kb < blocks; ++kb) {
    const int buf = kb & 1;
    if (kb + 1 < blocks) {  // prefetch the next K / V tiles into the other buffer
      load_tile<D>(sK(buf ^ 1), k_base, ld, (kb + 1) * kBK, len, tid);
      load_tile<D>(sV(buf ^ 1), v_base, ld, (kb + 1) * kBK, len, tid);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (kb == 0) {
#pragma unroll
      for (int kc = 0; kc < D / 16; ++kc) {
        const int r = warp * 16 + (lane & 7) + 8 * ((lane >> 3) & 1), c = kc * 16 + 8 * (lane >> 4);
        ldsm_x4(sQ + (r * S::kLd + c) * 2, qf[kc]);
      }
    }

    // S = Q Kᵀ: 16 rows x 64 keys per warp, 8 n8 tiles.
    float s[kBK / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBK / 8; ++nt) {
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
      for (int kc = 0; kc < D / 16; kc += 2) {
        // Matrices: keys nt·8 .. +7 x features (kc·16 + 8j), j = 0..3 (two k16 chunks).
        uint32_t b[4];
        const int r = nt * 8 + (lane & 7), c = kc * 16 + 8 * (lane >> 3);
        ldsm_x4(sK(buf) + (r * S::kLd + c) * 2, b);
        mma_f16(s[nt], qf[kc], b[0], b[1]);
        if (kc + 1 < D / 16) mma_f16(s[nt], qf[kc + 1], b[2], b[3]);
      }
    }
    // The position bias, in the exp2 domain: s becomes s · scale_log2 + bias, and the softmax
    // below then scales by 1.
    float sc = scale_log2;
    if constexpr (Bias) {
      const float* brow = bias + int64_t(head) * (2 * span - 1) + (span - 1);
#pragma unroll
      for (int nt = 0; nt < kBK / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = kb * kBK + nt * 8 + 2 * t + (e & 1);
          const int q = q0 + warp * 16 + g + 8 * (e >> 1);
          const int rel = min(max(key - q, 1 - span), span - 1);  // rows / keys past len: masked
          s[nt][e] = fmaf(__ldg(brow + rel), 1.4426950408889634f, s[nt][e] * scale_log2);
        }
      sc = 1.0f;
    }
    // Keys past the sequence's end.
    const int kvalid = len - kb * kBK;
    if (kvalid < kBK) {
#pragma unroll
      for (int nt = 0; nt < kBK / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (nt * 8 + 2 * t + (e & 1) >= kvalid) s[nt][e] = -INFINITY;
    }
    // Online softmax (rows g and g + 8 of the warp's 16; the 4 threads of a quad share a row).
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      // The max of the raw scores, scaled once (sc > 0).
      float smax = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kBK / 8; ++nt)
        smax = fmaxf(smax, fmaxf(s[nt][2 * h], s[nt][2 * h + 1]));
      float mx = fmaxf(row_max[h], smax * sc);
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float alpha = fast_exp2(row_max[h] - mx);  // 0 on the first block (-inf)
      row_max[h] = mx;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < kBK / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float pv = fast_exp2(fmaf(s[nt][2 * h + e], sc, -mx));
          s[nt][2 * h + e] = pv;
          sum += pv;
        }
      row_sum[h] = row_sum[h] * alpha + sum;  // per-thread partial; reduced at the end
#pragma unroll
      for (int i = 0; i < D / 8; ++i) {
        o[i][2 * h] *= alpha;
        o[i][2 * h + 1] *= alpha;
      }
    }
    // O += P V: P (16 x 64) as A fragments of 16 keys each, V via ldmatrix.trans.
#pragma unroll
    for (int kk = 0; kk < kBK / 16; ++kk) {
      const uint32_t pa[4] = {pack_half2(s[2 * kk][0], s[2 * kk][1]),
                              pack_half2(s[2 * kk][2], s[2 * kk][3]),
                              pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int nt = 0; nt < D / 8; nt += 2) {
        // Matrices: keys kk·16 + (0..7 | 8..15) x features nt·8 (+8).
        uint32_t b0, b1, b2, b3;
        const int r = kk * 16 + (lane & 7) + 8 * ((lane >> 3) & 1), c = nt * 8 + 8 * (lane >> 4);
        ldsm_x4_trans(sV(buf) + (r * S::kLd + c) * 2, b0, b1, b2, b3);
        mma_f16(o[nt], pa, b0, b1);
        mma_f16(o[nt + 1], pa, b2, b3);
      }
    }
    __syncthreads();  // this buffer is refilled by the next iteration's prefetch
  }

  // Normalise and store rows g, g + 8 of the warp's 16.
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float sum = row_sum[h];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = 1.0f / sum;
    const int q = q0 + warp * 16 + g + 8 * h;
    if (q >= len) continue;
    __half* dst = out + int64_t(begin + q) * hidden + head * D + 2 * t;
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
      *reinterpret_cast<uint32_t*>(dst + 8 * i) =
          pack_half2(o[i][2 * h] * inv, o[i][2 * h + 1] * inv);
  }
}

template <int D, bool Bias>
void launch(const FlashAttentionParams& p) {
  const dim3 grid(unsigned((p.max_seqlen + kBQ - 1) / kBQ), unsigned(p.heads), unsigned(p.batch));
  const float scale_log2 = float(1.0 / std::sqrt(double(D)) * 1.4426950408889634);
  raise_smem_limit<&flash_attention_kernel<D, Bias>>(Smem<D>::kBytes);
  flash_attention_kernel<D, Bias><<<grid, kWarps * 32, Smem<D>::kBytes, p.stream>>>(
      static_cast<const __half*>(p.qkv), p.cu_seqlens, int(p.heads), scale_log2,
      static_cast<__half*>(p.out), p.rel_bias, int(p.rel_span));
  LOWBIT_CUDA_LAUNCHED("flash_attention_kernel");
}

template <int D>
void launch(const FlashAttentionParams& p) {
  if (p.rel_bias)
    launch<D, true>(p);
  else
    launch<D, false>(p);
}

}  // namespace

std::string can_flash_attention(const FlashAttentionParams& p) {
  std::ostringstream e;
  if (p.head_dim != 32 && p.head_dim != 64 && p.head_dim != 128)
    e << "flash attention: head_dim=" << p.head_dim << " must be 32, 64 or 128";
  else if (p.batch < 0 || p.batch > 65535 || p.heads < 1 || p.heads > 65535)
    e << "flash attention: batch=" << p.batch << " heads=" << p.heads << " out of range";
  else if (p.batch > 0 && (!p.qkv || !p.cu_seqlens || !p.out))
    e << "flash attention: qkv, cu_seqlens and out must be set";
  else if (p.batch > 0 && p.max_seqlen < 1)
    e << "flash attention: max_seqlen=" << p.max_seqlen << " must be positive";
  else if (p.rel_bias && (p.rel_span < 1 || p.rel_span > (1 << 20)))
    e << "flash attention: rel_span=" << p.rel_span << " out of range";
  else if (reinterpret_cast<uintptr_t>(p.qkv) % 16 || reinterpret_cast<uintptr_t>(p.out) % 16)
    e << "flash attention: qkv and out must be 16-byte aligned";
  return e.str();
}

void flash_attention(const FlashAttentionParams& p) {
  if (std::string err = can_flash_attention(p); !err.empty()) fail(err);
  if (p.batch == 0) return;
  switch (p.head_dim) {
    case 32:
      return launch<32>(p);
    case 64:
      return launch<64>(p);
    case 128:
      return launch<128>(p);
  }
}

}  // namespace lowbit::cuda
