// The BERT encoder on a CUDA GPU (sm_90a for the wgmma GEMMs): the same model and recipe as the
// CPU Encoder, run as the paper's fused pipeline (docs/gpu-encoder.md):
//   embeddings (sum, LayerNorm + quantize) -> per layer:
//     q1 GEMM (+bias) -> flash attention -> [quantize] -> q2 GEMM (+bias +residual)
//     -> LayerNorm + quantize -> q3 GEMM (+bias, GELU) -> [quantize] -> q4 GEMM (+bias +residual)
//     -> LayerNorm + quantize (for the next q1)
//   -> pooling (+ L2 normalisation).
// Activations are FP16 between kernels; each GEMM runs in its recipe's mode (a GEMM the recipe
// leaves in FP32 runs in FP16 here). Every buffer is allocated up front for a token capacity
// (grown, never per call), and each (tokens, batch, length bucket) shape is captured once into a
// CUDA graph and replayed, inputs and outputs included.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/json_util.h"
#include "models/encoder.h"

namespace lowbit {

// How q1..q4 run, the same in every layer: one mode per GEMM (the paper's per-GEMM choice of
// precision, "qbest").
using GemmMix = std::array<GemmMode, kGemmsPerLayer>;
std::string mix_name(const GemmMix& m);  // "w4a4/w4a8/w8a8/fp16" (q1/q2/q3/q4)

// The modes a stored GEMM can run in on the GPU with its quantized numbers unchanged, its
// recipe's first. Activations may take more bits than the recipe gives them, never fewer:
//   fp32 / fp16 -> fp16;  w8a8 -> w8a8, fp16;  fp8 -> fp8, fp16;
//   w4a8 -> w4a8, w8a8 (the int4 codes widened to int8 bytes: the same numbers), fp16;
//   w4a4 -> w4a4, w4a8 (8-bit activations, same symmetry and clip), w8a8, fp16.
// fp16 runs the dequantized weights rounded to half.
std::vector<GemmMode> gpu_modes(const Linear& l);

// A per-shape choice of mix, tuned on one GPU (`lowbit tune`). A batch of T tokens takes the
// first entry (sorted by tokens) with tokens >= T, else the last.
struct QbestPlan {
  struct Entry {
    int64_t tokens = 0;
    GemmMix mix{};
  };
  std::string device;  // the GPU it was tuned on
  std::vector<Entry> entries;

  const GemmMix& lookup(int64_t tokens) const;
  Json to_json() const;
  // Throws naming `where` and the field on a malformed plan.
  static QbestPlan from_json(const Json& j, const std::string& where);
};

struct GpuEncoderOptions {
  int device = 0;
  bool graphs = true;  // capture and replay CUDA graphs (a shape's second run onwards)
  // Per-shape mixes to follow (null: every GEMM in its recipe's mode). Each mode must be one of
  // gpu_modes() of that GEMM in every layer.
  std::optional<QbestPlan> plan;
  // Upload every mode gpu_modes() allows, for force_mix (the tuner); otherwise only the
  // recipe's and the plan's.
  bool all_modes = false;
  // Only the first N layers (0: all): the tuner times a layer, not the model.
  int64_t max_layers = 0;
};

struct GpuMemory {
  int64_t weights_bytes = 0;     // every tensor uploaded for the model
  int64_t activation_bytes = 0;  // buffers for the current token capacity
  int64_t token_capacity = 0;
};

class GpuEncoder {
 public:
  GpuEncoder(const Encoder& model, const GpuEncoderOptions& opts = {});
  ~GpuEncoder();
  GpuEncoder(const GpuEncoder&) = delete;
  GpuEncoder& operator=(const GpuEncoder&) = delete;

  // pooled [batch, hidden] row-major floats of one ragged batch. Throws lowbit::Error (naming the
  // GEMM) when an activation cannot be quantized (non-finite values, range overflow).
  void embed(const RaggedBatch& batch, bool mean_pooling, bool normalize, float* pooled);
  // logits [batch, labels] of the model's classification head (throws without one).
  void classify(const RaggedBatch& batch, float* logits);
  // The last hidden state [tokens, hidden] (FP16 rounded to float), no graph.
  std::vector<float> hidden_states(const RaggedBatch& batch);
  // Makes room for `tokens` tokens in `batch` sequences (so that a benchmark allocates nothing
  // while timing).
  void reserve(int64_t tokens, int64_t batch);

  // GPU time per stage of one eager forward pass (ms, summed over the layers), with the host's
  // launch gaps included in the stage that follows them: the benchmark's kernel breakdown.
  std::vector<std::pair<std::string, double>> profile(const RaggedBatch& batch, bool mean_pooling,
                                                      bool normalize);

  // The modes q1..q4 (gemm 0..3) can take in every layer (those uploaded).
  std::vector<GemmMode> modes(int gemm) const;
  // Every batch runs in `mix` (nullopt: the plan's mix, or the recipe). Drops captured graphs.
  // Throws when a mode was not uploaded (GpuEncoderOptions::all_modes).
  void force_mix(const std::optional<GemmMix>& mix);
  // The mix a batch of `tokens` tokens runs in (nullopt: each layer's recipe).
  std::optional<GemmMix> mix_for(int64_t tokens) const;

  GpuMemory memory() const;
  std::string device_name() const;
  int64_t graphs_captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when this build has the CUDA backend and a GPU the encoder can use (sm_90), else false
// and, when `why` is set, the reason.
bool gpu_encoder_available(std::string* why = nullptr);
// The name of CUDA device `device` (as GpuEncoder::device_name reports it).
std::string gpu_device_name(int device = 0);

}  // namespace lowbit
