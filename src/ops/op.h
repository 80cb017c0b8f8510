// Ops: each one validates its operands (shapes, dtypes) and dispatches to a backend. Only the CPU
// backend exists so far; the CUDA backend plugs in here per op.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "core/tensor.h"

namespace lowbit::ops {

using cpu::Epilogue;

// y [m, n] = act(x [m, k] · w [n, k]^T + bias [n]); bias may be undefined.
void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, Epilogue ep);

// out = LayerNorm(x + residual) (residual may be undefined); out may be x.
void add_layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                    const Tensor& beta, double eps, Tensor& out);

// qkv [T, 3H] -> out [T, H], sequences delimited by cu_seqlens (batch + 1 offsets).
// rel_bias (may be undefined): [heads, 2 * span - 1] score bias by relative position (MPNet).
void attention(const Tensor& qkv, const std::vector<int32_t>& cu_seqlens, int64_t heads,
               Tensor& out, const Tensor& rel_bias = Tensor());

// out [T, H] = word[ids] + pos[positions] + type[type_ids]; every index is range-checked; type
// may be undefined (no token types: type_ids are ignored).
void embed_sum(const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
               const std::vector<int32_t>& type_ids, const Tensor& word, const Tensor& pos,
               const Tensor& type, Tensor& out);

// [T, H] -> [batch, H]
void pool(const Tensor& x, const std::vector<int32_t>& cu_seqlens, bool mean, Tensor& out);
void l2_normalize(Tensor& x);

}  // namespace lowbit::ops
