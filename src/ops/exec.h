// What an op needs besides its tensors to run on a device: the stream, the activation arena, the
// quantizers' status words, the per-GEMM precision mix (qbest) and the profiler's marks. The
// runtime Session owns one per device; on the CPU a default Exec does (host tensors, errors
// thrown at once, no stream).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/tensor.h"
#include "quant/recipe.h"
#include "quant/scheme.h"

namespace lowbit {

// How q1..q4 run, the same in every layer: one mode per GEMM (the paper's per-GEMM choice of
// precision, "qbest").
using GemmMix = std::array<GemmMode, kGemmsPerLayer>;

struct Exec {
  Device device;
  void* stream = nullptr;  // cudaStream_t
  Arena* arena = nullptr;  // device activations (null on the CPU: tensors are allocated)
  // Device quantizers report failures (non-finite input, range overflow) in one status word per
  // quantization point; the Session resets them before a pass and checks them after it.
  unsigned long long* status = nullptr;
  int64_t status_capacity = 0;
  struct StatusPoint {
    std::string name;
    QuantScheme scheme;
  };
  std::vector<StatusPoint> points;  // of the pass being enqueued
  std::optional<GemmMix> mix;       // nullopt: every GEMM in its recipe's mode
  int64_t max_layers = 0;           // > 0: only the first layers (the tuner times one)
  std::function<void(const char*)> mark;  // after each stage, when profiling
  // Split-K scratch shared by the pass's GEMMs (they run one after another on the stream), so
  // that their partial sums stay in L2 instead of each GEMM writing to fresh memory.
  Tensor gemm_workspace;
  // Likewise one buffer each for the quantized GEMM inputs (codes, scales, zero points): each is
  // read by the GEMM right after its producer, before the next producer overwrites it, as the
  // stream orders them.
  Tensor quant_codes, quant_scales, quant_zeros;

  explicit Exec(Device d = Device::cpu()) : device(d) {}
  bool on_cpu() const { return device.is_cpu(); }
  // Activations between ops: FP32 on the CPU (the oracle), FP16 on a GPU.
  DType act_dtype() const { return on_cpu() ? DType::F32 : DType::F16; }
  // A scratch tensor for this pass.
  Tensor empty(std::vector<int64_t> shape, DType dtype) {
    return arena ? arena->take(std::move(shape), dtype) : Tensor::empty(std::move(shape), dtype, device);
  }
  // The status word of a new quantization point named `name` (e.g. "the input of
  // encoder.layer.3.output.dense").
  unsigned long long* status_slot(std::string name, const QuantScheme& scheme) {
    if (!status) return nullptr;
    LOWBIT_CHECK(int64_t(points.size()) < status_capacity, "status words exhausted at ", name);
    points.push_back({std::move(name), scheme});
    return status + points.size() - 1;
  }
  void stage(const char* name) const {
    if (mark) mark(name);
  }
};

}  // namespace lowbit
