// The encoder's small kernels around the GEMMs, attention and LayerNorms: the embedding sum at
// the input and the pooling (+ L2 normalisation) at the output. Plain pointers and sizes.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace lowbit::cuda {

// out [tokens, n] float = word[ids] + pos[positions] + type[type_ids] (in that order, float32,
// as cpu::embed_sum_f32); tables float32 [rows, n] on the device. Ids are checked against the
// table sizes on the host (the engine's tokenizer); n % 4 == 0.
void embed_sum_cuda(const int32_t* ids, const int32_t* positions, const int32_t* type_ids,
                    const float* word, const float* pos, const float* type, float* out,
                    int64_t tokens, int64_t n, cudaStream_t stream);

// out [batch, n] float: row cu_seqlens[b] of x (cls) or the mean of the sequence's rows (sums in
// double, as cpu::pool_f32), then, with `normalize`, each row scaled to unit L2 norm (the norm
// clamped at 1e-12, as cpu::l2_normalize_f32). x [tokens, n] half. One CTA per sequence.
void pool_cuda(const void* x_half, const int32_t* cu_seqlens, int64_t batch, int64_t n, bool mean,
               bool normalize, float* out, cudaStream_t stream);

// The activation of a classification head's dense layer (BERT / RoBERTa tanh, DistilBERT relu,
// ELECTRA gelu).
enum class HeadAct : int { None, Tanh, Relu, GeluErf };

// Sequence classification head on each sequence's first row: pooled [batch, n] =
// act(x[cu_seqlens[b]] · pool_wᵀ + pool_b), then logits [batch, labels] = pooled · cls_wᵀ + cls_b.
// Float32 weights and sums (x half); one warp per output element.
void classify_head_cuda(const void* x_half, const int32_t* cu_seqlens, int64_t batch, int64_t n,
                        const float* pool_w, const float* pool_b, const float* cls_w,
                        const float* cls_b, int64_t labels, float* pooled, float* logits,
                        HeadAct act, cudaStream_t stream);

// y [count] float = x [count] half (hidden states for the caller).
void half_to_float_cuda(const void* x_half, float* y, int64_t count, cudaStream_t stream);

}  // namespace lowbit::cuda
