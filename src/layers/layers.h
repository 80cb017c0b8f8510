// Layers find their weights by name in a WeightSource and run through ops. Quantization is a
// strategy held by Linear (GemmQuant), never a copy of the model.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "ops/op.h"
#include "quant/quantized.h"
#include "quant/recipe.h"

namespace lowbit {

// Named weights from a safetensors file with every shape checked against what the config implies
// (errors name the file, the tensor and both shapes). Float tensors are converted to F32.
class WeightSource {
 public:
  // `prefix` is prepended to every name ("" or "bert.").
  WeightSource(const SafeTensors& file, std::string prefix)
      : file_(file), prefix_(std::move(prefix)) {}
  Tensor load(const std::string& name, const std::vector<int64_t>& shape) const;
  // Loads several tensors of shape `each` stacked along dim 0 (Q, K, V into one GEMM).
  Tensor load_stacked(const std::vector<std::string>& names, std::vector<int64_t> each) const;
  // Raw bytes of a tensor that must have exactly this dtype and shape.
  const TensorView& raw(const std::string& name, DType dtype,
                        const std::vector<int64_t>& shape) const;
  bool has(const std::string& name) const { return file_.find(prefix_ + name) != nullptr; }
  const std::string& path() const { return file_.path(); }

 private:
  const SafeTensors& file_;
  std::string prefix_;
};

// A GEMM input: the float rows [tokens, in] and, when the consuming Linear is quantized, their
// quantized form, produced by the op that produced the rows (LayerNorm, attention, bias+GELU),
// as the GPU kernels fuse it.
struct GemmInput {
  Tensor x;
  QuantizedMatrix q;  // empty (rows == 0) when the consumer is not quantized
};

struct Linear {
  GemmQuant quant;          // mode and schemes
  Tensor weight;            // [out, in] F32: FP32 mode, or FP16 mode (values rounded to half)
  QuantizedMatrix qweight;  // quantized modes
  Tensor bias;              // [out]
  int64_t in = 0, out = 0;
  std::string name;  // e.g. "encoder.layer.3.q3", for messages

  // FP32 weights from a Hugging Face checkpoint.
  static Linear load(const WeightSource& src, const std::string& name, int64_t in, int64_t out);
  // Q, K and V projections (`prefix` + names[0..2]) fused into one [3 * hidden, hidden] GEMM.
  static Linear load_qkv(const WeightSource& src, const std::string& prefix,
                         const std::array<std::string, 3>& names, int64_t hidden);
  // From a lowbit model file: tensors `stored`.{weight | qweight, wscale, wsum}, .bias.
  static Linear load_lowbit(const WeightSource& src, const std::string& stored, const GemmQuant& q,
                            int64_t in, int64_t out);

  // Applies a strategy to FP32 weights: quantizes them (or rounds to FP16).
  void set_quant(const GemmQuant& q);
  // Requests that `out` carry the quantized rows this layer wants as input (see GemmInput).
  void emit_input(GemmInput& in) const;
  // y [tokens, out] = act(x · Wᵀ + b). A quantized layer reads x.q, which the producer of x
  // must have emitted (emit_input).
  void forward(const GemmInput& x, Tensor& y, ops::Epilogue ep = ops::Epilogue::None) const;
};

struct LayerNorm {
  Tensor gamma, beta;  // [n]
  double eps = 1e-12;

  static LayerNorm load(const WeightSource& src, const std::string& name, int64_t n, double eps);
  // out.x = LN(x + residual) (residual may be undefined; out.x may alias x or residual), then
  // the quantized rows that the consumer `next` reads (the LayerNorm + quantize fusion).
  void forward(const Tensor& x, const Tensor& residual, GemmInput& out, const Linear& next) const;
  void forward(const Tensor& x, const Tensor& residual, Tensor& out) const;
};

}  // namespace lowbit
