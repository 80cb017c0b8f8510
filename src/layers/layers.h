// Layers find their weights by name in a WeightSource and run through ops. Quantization will be
// a strategy held by Linear, never a copy of the model.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "ops/op.h"

namespace lowbit {

// Named weights from a safetensors file, converted to F32, with every shape checked against what
// the config implies (errors name the file, the tensor and both shapes).
class WeightSource {
 public:
  // `prefix` is prepended to every name ("" or "bert.").
  WeightSource(const SafeTensors& file, std::string prefix) : file_(file), prefix_(std::move(prefix)) {}
  Tensor load(const std::string& name, const std::vector<int64_t>& shape) const;
  // Loads several [rows_i, cols] tensors stacked along dim 0 (QKV into one GEMM).
  Tensor load_stacked(const std::vector<std::string>& names, int64_t rows_each, int64_t cols) const;
  bool has(const std::string& name) const { return file_.find(prefix_ + name) != nullptr; }

 private:
  const SafeTensors& file_;
  std::string prefix_;
};

struct Linear {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out]
  int64_t in = 0, out = 0;

  static Linear load(const WeightSource& src, const std::string& name, int64_t in, int64_t out);
  // Q, K and V projections fused into one [3 * out, in] GEMM.
  static Linear load_qkv(const WeightSource& src, const std::string& prefix, int64_t hidden);
  void forward(const Tensor& x, Tensor& y, ops::Epilogue ep = ops::Epilogue::None) const;
};

struct LayerNorm {
  Tensor gamma, beta;  // [n]
  double eps = 1e-12;

  static LayerNorm load(const WeightSource& src, const std::string& name, int64_t n, double eps);
  // out = LN(x + residual); residual may be undefined.
  void forward(const Tensor& x, const Tensor& residual, Tensor& out) const;
};

}  // namespace lowbit
