// The operands that linear ops pass between layers and backends: a GEMM's input rows with their
// quantized forms, a GEMM's weights prepared for one mode on a device, and the epilogue.
#pragma once

#include <cstdint>

#include "backends/cpu/cpu_ops.h"
#include "core/tensor.h"
#include "quant/packing.h"
#include "quant/quantized.h"
#include "quant/recipe.h"

namespace lowbit {

// Token-wise quantized rows on a device (the GPU form of QuantizedMatrix's activations).
struct QuantRows {
  QuantScheme scheme;
  Tensor codes;   // U8 [tokens, packed row bytes]
  Tensor scales;  // F32 [tokens]
  Tensor zeros;   // F32 [tokens], asymmetric schemes only
  bool defined() const { return codes.defined(); }
};

// A GEMM input: the rows [tokens, in] (FP32 on the CPU, FP16 on a GPU) and, when the consuming
// Linear is quantized, their quantized form, produced by the op that produced the rows
// (LayerNorm, attention, bias+GELU), as the GPU kernels fuse it.
struct GemmInput {
  Tensor x;
  QuantizedMatrix q;  // CPU: empty (rows == 0) when the consumer is not quantized
  QuantRows qd;       // device: likewise
  // Device: I32 [tokens, ceil(in / 64)], per row the max |x| of each 64 columns as float bits,
  // written by the GEMM that produced x (LinearEpilogue::row_amax), so that the consumer's
  // quantizer streams x once; undefined when the producer did not write it.
  Tensor row_amax;
};

// A GEMM's weights prepared for one mode on a device: the operands in the layouts the kernels
// read, and the epilogue's vectors. Made by Linear::to(); one per mode the GEMM may run in.
struct DeviceGemm {
  GemmMode mode = GemmMode::Fp16;
  QuantScheme act;  // quantized modes: the token-wise scheme of the input
  PackedLayout a_layout = PackedLayout::F16, b_layout = PackedLayout::F16;
  bool b_sm90 = false;  // int4 weights in the Hopper order
  int64_t group_size = 0;
  Tensor w;      // [out, packed row bytes] codes, or F16 [out, in]
  Tensor sw;     // F32 [out, groups] (quantized modes)
  Tensor zcorr;  // F32 [out] (asymmetric activations)
  Tensor bias;   // F32 [out] or undefined
  bool quantized() const { return is_quantized(mode); }
  int64_t bytes() const;
};

// The epilogue of a linear op: y = act(x · Wᵀ + b) + residual.
struct LinearEpilogue {
  cpu::Epilogue act = cpu::Epilogue::None;
  Tensor residual;  // [tokens, out] like y, or undefined
  // Device: when set (to an I32 [tokens, >= ceil(out / 64)] tensor), the GEMM also writes each
  // row's per-64-column max |y| there (GemmInput::row_amax), or leaves it undefined when its
  // kernel cannot. The CPU ignores it (its quantizer reads the float rows).
  Tensor* row_amax = nullptr;
};

}  // namespace lowbit
