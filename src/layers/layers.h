// Layers find their weights by name in a WeightSource and run through ops. Quantization is a
// strategy held by Linear (GemmQuant), never a copy of the model.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "ops/exec.h"
#include "ops/op.h"
#include "ops/operands.h"
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

struct Linear {
  GemmQuant quant;          // the recipe's mode and schemes
  Tensor weight;            // [out, in] F32: FP32 mode, or FP16 mode (values rounded to half)
  QuantizedMatrix qweight;  // quantized modes
  QuantizedMatrix qweight_fp8;  // w4a8-fp8: qweight widened to E4M3 (widen_pow2_to_fp8), what runs
  Tensor bias;              // [out]
  int64_t in = 0, out = 0;
  int role = -1;        // 0..3: q1..q4 (which entry of a GemmMix applies)
  std::string name;     // e.g. "encoder.layer.3.output.dense", for messages
  std::vector<DeviceGemm> variants;  // on a device: the modes uploaded, the recipe's first

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
  // The modes this GEMM can run in on a GPU with its stored numbers unchanged, the recipe's first.
  // Activations may take more bits than the recipe gives them, never fewer:
  //   fp32 / fp16 -> fp16;  w8a8 -> w8a8, fp16;  fp8 -> fp8, fp16;
  //   w4a8 -> w4a8, w8a8 (the int4 codes widened to int8 bytes: the same numbers), fp16;
  //   w4a4 -> w4a4, w4a8 (8-bit activations, same symmetry and clip), w8a8, fp16;
  //   w4a8-fp8 -> fp8 (the weights widened to E4M3: the same numbers), fp16.
  // fp16 runs the dequantized weights rounded to half.
  std::vector<GemmMode> device_modes() const;
  // A copy for `device` holding the variants for `modes` (each one of device_modes()); the host
  // weights stay behind.
  Linear to(Device device, const std::vector<GemmMode>& modes) const;
  // The mode this GEMM runs in under `ex`: the recipe's, or the qbest mix's entry on a device.
  const DeviceGemm& variant(const Exec& ex) const;
  bool quantized_in(const Exec& ex) const;
  // The quantized weights the GEMM multiplies by: qweight, or for w4a8-fp8 its E4M3 form.
  const QuantizedMatrix& gemm_weights() const {
    return quant.mode == GemmMode::W4A8Fp8 ? qweight_fp8 : qweight;
  }

  // Requests that `in` carry the quantized rows this layer wants as input (see GemmInput).
  void emit_input(GemmInput& in, Exec& ex) const;
  // y [tokens, out] = act(x · Wᵀ + b) + residual. A quantized layer reads the quantized rows,
  // which the producer of x must have emitted (emit_input).
  void forward(const GemmInput& x, Tensor& y, const LinearEpilogue& ep, Exec& ex) const;
};

struct LayerNorm {
  Tensor gamma, beta;  // [n]
  double eps = 1e-12;

  static LayerNorm load(const WeightSource& src, const std::string& name, int64_t n, double eps);
  LayerNorm to(Device device) const { return {gamma.to(device), beta.to(device), eps}; }
  // out.x = LN(x + residual) (residual may be undefined), then, when `next` is given, the
  // quantized rows that it reads (the LayerNorm + quantize fusion).
  void forward(const Tensor& x, const Tensor& residual, GemmInput& out, const Linear* next,
               Exec& ex) const;
};

}  // namespace lowbit
