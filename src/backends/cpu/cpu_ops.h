// CPU reference kernels: the oracle every other backend is tested against. They take plain
// pointers and sizes (never Tensor); validation happens in src/ops/.
#pragma once

#include <cstdint>

namespace lowbit::cpu {

enum class Epilogue { None, GeluErf, GeluTanh, Relu };

// y[m, n] = act(sum_k x[m, k] * w[n, k] + bias[n]); w is PyTorch's [out, in] layout.
void linear_f32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
                int64_t k, Epilogue ep);

// y[m, n] = act(y[m, n] + bias[n]) in place (bias may be null): the float epilogue shared by the
// FP32 GEMM and the quantized GEMMs.
void bias_act_f32(float* y, const float* bias, int64_t m, int64_t n, Epilogue ep);

// x rounded to the nearest FP16 value (round half to even), in place: FP16 GEMM emulation.
void round_to_half_f32(float* x, int64_t n);

// out[t] = LayerNorm(x[t] + residual[t]) * gamma + beta, over rows of width `n`.
// residual may be null; out may alias x.
void add_layer_norm_f32(const float* x, const float* residual, const float* gamma,
                        const float* beta, float* out, int64_t rows, int64_t n, double eps);

// Multi-head self-attention over a ragged batch: qkv [T, 3H] (q | k | v, head h at columns
// h*d..h*d+d of each part), sequences given by cu_seqlens[0..batch], out [T, H].
// rel_bias (may be null): an additive score bias by relative position, [heads, 2 * rel_span - 1],
// entry r + rel_span - 1 for key position minus query position r (|r| < rel_span); sequences
// must then be at most rel_span long.
void attention_f32(const float* qkv, const int32_t* cu_seqlens, int64_t batch, int64_t heads,
                   int64_t head_dim, float* out, const float* rel_bias = nullptr,
                   int64_t rel_span = 0);

// out[t] = word[ids[t]] + pos[positions[t]] + type[type_ids[t]] (rows of width n); type may be
// null (a model without token types).
void embed_sum_f32(const int32_t* ids, const int32_t* positions, const int32_t* type_ids,
                   const float* word, const float* pos, const float* type, float* out,
                   int64_t tokens, int64_t n);

// out[b] = x[cu_seqlens[b]] (cls) or the mean of rows cu_seqlens[b]..cu_seqlens[b+1] (mean).
void pool_f32(const float* x, const int32_t* cu_seqlens, int64_t batch, int64_t n, bool mean,
              float* out);

// Each row scaled to unit L2 norm (rows of norm 0 stay 0; the norm is clamped at 1e-12 as in
// torch.nn.functional.normalize).
void l2_normalize_f32(float* x, int64_t rows, int64_t n);

}  // namespace lowbit::cpu
