// The BERT encoder on a CUDA GPU (sm_90a for the wgmma GEMMs): the same model and recipe as the
// CPU BertModel, run as the paper's fused pipeline (docs/gpu-encoder.md):
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

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/bert.h"

namespace lowbit {

struct GpuEncoderOptions {
  int device = 0;
  bool graphs = true;  // capture and replay CUDA graphs (a shape's second run onwards)
};

struct GpuMemory {
  int64_t weights_bytes = 0;     // every tensor uploaded for the model
  int64_t activation_bytes = 0;  // buffers for the current token capacity
  int64_t token_capacity = 0;
};

class GpuEncoder {
 public:
  GpuEncoder(const BertModel& model, const GpuEncoderOptions& opts = {});
  ~GpuEncoder();
  GpuEncoder(const GpuEncoder&) = delete;
  GpuEncoder& operator=(const GpuEncoder&) = delete;

  // pooled [batch, hidden] row-major floats of one ragged batch. Throws lowbit::Error (naming the
  // GEMM) when an activation cannot be quantized (non-finite values, range overflow).
  void embed(const RaggedBatch& batch, bool mean_pooling, bool normalize, float* pooled);
  // The last hidden state [tokens, hidden] (FP16 rounded to float), no graph.
  std::vector<float> hidden_states(const RaggedBatch& batch);
  // Makes room for `tokens` tokens in `batch` sequences (so that a benchmark allocates nothing
  // while timing).
  void reserve(int64_t tokens, int64_t batch);

  // GPU time per stage of one eager forward pass (ms, summed over the layers), with the host's
  // launch gaps included in the stage that follows them: the benchmark's kernel breakdown.
  std::vector<std::pair<std::string, double>> profile(const RaggedBatch& batch, bool mean_pooling,
                                                      bool normalize);

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

}  // namespace lowbit
