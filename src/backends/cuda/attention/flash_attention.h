// Fused multi-head self-attention over a ragged batch (FlashAttention-2 style, FP16 in and out,
// FP32 softmax and accumulation): ctx = softmax(Q Kᵀ / √d) V per sequence and head, with the
// sequences concatenated along the token axis (cu_seqlens) and no padding anywhere. Q, K and V
// come straight from the fused QKV GEMM's output; the scores never reach global memory.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace lowbit::cuda {

struct FlashAttentionParams {
  const void* qkv = nullptr;            // [tokens, 3 · heads · head_dim] half: Q | K | V (device)
  const int32_t* cu_seqlens = nullptr;  // [batch + 1] (device), cu_seqlens[0] = 0
  int64_t batch = 0;
  int64_t max_seqlen = 0;           // the longest sequence (sizes the grid); a bound is enough
  int64_t heads = 0, head_dim = 0;  // head_dim 32, 64 or 128
  void* out = nullptr;              // [tokens, heads · head_dim] half (device)
  // Optional additive score bias by relative position (MPNet): [heads, 2 · rel_span - 1] floats
  // (device), entry key - query + rel_span - 1; added after the 1/√d scaling. Every sequence
  // must be at most rel_span long.
  const float* rel_bias = nullptr;
  int64_t rel_span = 0;
  cudaStream_t stream = nullptr;
};

std::string can_flash_attention(const FlashAttentionParams& p);
// Launches (asynchronous); throws on unsupported parameters and CUDA errors.
void flash_attention(const FlashAttentionParams& p);

}  // namespace lowbit::cuda
