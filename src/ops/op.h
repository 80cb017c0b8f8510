// Ops: each one validates its operands (shapes, dtypes, devices) and dispatches to the backend of
// its tensors: the CPU reference (backends/cpu, the oracle) or CUDA (op_cuda.cc ->
// backends/cuda). A fused op is fused on every backend, so the CPU checks the GPU op by op
// (tests/ops). The first group below is the CPU's float32 reference API; the second group runs
// on any device under an Exec.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "core/tensor.h"
#include "io/hf_config.h"
#include "ops/exec.h"
#include "ops/operands.h"

namespace lowbit::ops {

using cpu::Epilogue;

// y [m, n] = act(x [m, k] · w [n, k]^T + bias [n]); bias may be undefined.
void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, Epilogue ep);

// qkv [T, 3H] -> out [T, H], sequences delimited by cu_seqlens (batch + 1 offsets).
// rel_bias (may be undefined): [heads, 2 * span - 1] score bias by relative position (MPNet).
void attention(const Tensor& qkv, const std::vector<int32_t>& cu_seqlens, int64_t heads,
               Tensor& out, const Tensor& rel_bias = Tensor());

// [T, H] -> [batch, H]
void pool(const Tensor& x, const std::vector<int32_t>& cu_seqlens, bool mean, Tensor& out);
void l2_normalize(Tensor& x);

// ---- Any device (tensors on ex.device) ----

// One ragged batch's inputs on the Exec's device.
struct BatchInputs {
  Tensor ids, positions, type_ids;  // I32 [tokens]
  Tensor cu_seqlens;                // I32 [batch + 1]
  const int32_t* cu_host = nullptr;  // the same offsets on the host
  int64_t tokens = 0, batch = 0;
  int64_t max_len = 0;  // a bound on the longest sequence (sizes the attention grid)
};

// out F32 [T, H] = word[ids] + pos[positions] (+ type[type_ids]); tables F32. Ids are checked
// on the host before they reach a device (the Session stages them).
void embed(const BatchInputs& b, const Tensor& word, const Tensor& pos, const Tensor& type,
           Tensor& out, Exec& ex);
// out = LayerNorm(x + residual) (residual may be undefined); with `q`, also the token-wise
// quantized copy of out in q's scheme (device only: on the CPU the layer quantizes).
// x F32 or the activation type; out the activation type.
void layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
                double eps, Tensor& out, QuantRows* q, const std::string& point, Exec& ex);
// q = token-wise quantized x in q.scheme (device only; the CPU uses quantize_matrix). row_amax
// (GemmInput::row_amax, may be undefined): x's producer's row maxima, which spare the quantizer
// its reduction pass (symmetric schemes); the codes are the same.
void quantize_rows(const Tensor& x, QuantRows& q, const std::string& point, Exec& ex,
                   const Tensor& row_amax = Tensor());
// y = act(x · Wᵀ + b) + residual on a device, W prepared for one mode (DeviceGemm).
void gemm(const GemmInput& x, const DeviceGemm& w, Tensor& y, const LinearEpilogue& ep,
          Exec& ex);
// qkv [T, 3H] -> out [T, H] (activation type); rel_bias [heads, 2 span - 1] F32 or undefined.
void attention(const Tensor& qkv, const BatchInputs& b, int64_t heads, const Tensor& rel_bias,
               Tensor& out, Exec& ex);
// out F32 [batch, H]: each sequence's first row (cls) or mean, then L2-normalised if asked.
void pool(const Tensor& x, const BatchInputs& b, bool mean, bool normalize, Tensor& out, Exec& ex);
// logits F32 [batch, labels] = out_w · act(dense_w · x[first token] + dense_b) + out_b.
void classify_head(const Tensor& x, const BatchInputs& b, const Tensor& dense_w,
                   const Tensor& dense_b, Activation act, const Tensor& out_w, const Tensor& out_b,
                   Tensor& logits, Exec& ex);

}  // namespace lowbit::ops
