// The CUDA side of the ops in op.h: arguments already validated there; these build the kernels'
// parameter structs (backends/cuda) from tensors and the Exec (stream, arena, status words).
#pragma once

#include "ops/op.h"

namespace lowbit::ops::cuda_impl {

void embed(const BatchInputs& b, const Tensor& word, const Tensor& pos, const Tensor& type,
           Tensor& out, Exec& ex);
void layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
                double eps, Tensor& out, QuantRows* q, const std::string& point, Exec& ex);
void quantize_rows(const Tensor& x, QuantRows& q, const std::string& point, Exec& ex,
                   const Tensor& row_amax);
void gemm(const GemmInput& x, const DeviceGemm& w, Tensor& y, const LinearEpilogue& ep,
          Exec& ex);
void attention(const Tensor& qkv, const BatchInputs& b, int64_t heads, const Tensor& rel_bias,
               Tensor& out, Exec& ex);
void pool(const Tensor& x, const BatchInputs& b, bool mean, bool normalize, Tensor& out, Exec& ex);
void classify_head(const Tensor& x, const BatchInputs& b, const Tensor& dense_w,
                   const Tensor& dense_b, Activation act, const Tensor& out_w, const Tensor& out_b,
                   Tensor& logits, Exec& ex);

}  // namespace lowbit::ops::cuda_impl
