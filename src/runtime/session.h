// A Session runs one model on one device: what is device-specific but not model-specific. The
// model's forward pass (models/encoder.h) is the same code on every device; the Session owns
// around it, on a GPU:
//   the device copy of the weights (each GEMM in the modes its qbest plan may pick),
//   a stream and an activation arena (the same addresses for the same shape),
//   a CUDA graph per shape bucket (tokens, sequences, longest length rounded up to 64, output):
//     the first run is eager, the second is captured, later runs replay it; the graph includes
//     the copy of the inputs from pinned memory, the quantizers' status words and the copy of
//     the outputs back;
//   the quantizers' status words, checked after each run (errors name the GEMM input);
//   per-stage profiling, and the per-shape GEMM precision plan (qbest).
// On the CPU a Session runs the host model directly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/device.h"
#include "models/encoder.h"
#include "runtime/qbest.h"

namespace lowbit {

struct SessionOptions {
  Device device = Device::cpu();
  bool graphs = true;  // GPU: capture and replay CUDA graphs (a shape's second run onwards)
  // GPU: per-shape mixes to follow (null: every GEMM in its recipe's mode). Each mode must be
  // one the GEMM can run in (Linear::device_modes) in every layer.
  std::optional<QbestPlan> plan;
  // GPU: upload every mode each GEMM can run in, for force_mix (the tuner).
  bool all_modes = false;
  int64_t max_layers = 0;  // > 0: only the first layers (the tuner times a layer)
};

struct SessionMemory {
  int64_t weights_bytes = 0;     // on the device (0 for a CPU session)
  int64_t activation_bytes = 0;  // the arena
  int64_t token_capacity = 0;    // most tokens of one pass so far
};

class Session {
 public:
  // `model` is a host model; a GPU session keeps its own device copy, a CPU session a reference
  // (the model must outlive it).
  Session(const Encoder& model, const SessionOptions& opts = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Device device() const;
  // pooled [batch, hidden] floats of one ragged batch. Throws lowbit::Error (naming the GEMM)
  // when an activation cannot be quantized (non-finite values, range overflow).
  void embed(const RaggedBatch& batch, bool mean_pooling, bool normalize, float* pooled);
  // logits [batch, labels] of the model's classification head (throws without one).
  void classify(const RaggedBatch& batch, float* logits);
  // The last hidden state [tokens, hidden] (GPU: FP16 rounded to float), no graph.
  std::vector<float> hidden_states(const RaggedBatch& batch);
  // Makes room for `tokens` tokens in `batch` sequences (so that a benchmark allocates nothing
  // while timing).
  void reserve(int64_t tokens, int64_t batch);
  // GPU time per stage of one eager forward pass (ms, summed over layers), with the host's launch
  // gaps in the stage that follows them; empty on the CPU.
  std::vector<std::pair<std::string, double>> profile(const RaggedBatch& batch, bool mean_pooling,
                                                      bool normalize);
  // The modes q1..q4 (gemm 0..3) can run in, in every layer (on the CPU: the recipe's).
  std::vector<GemmMode> modes(int gemm) const;
  // Every batch runs in `mix` (nullopt: the plan's mix, or the recipe). GPU only; drops graphs.
  void force_mix(const std::optional<GemmMix>& mix);
  // The mix a batch of `tokens` tokens runs in (nullopt: each layer's recipe).
  std::optional<GemmMix> mix_for(int64_t tokens) const;

  SessionMemory memory() const;
  std::string device_name() const;  // "cpu" or the GPU's name
  int64_t graphs_captured() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// True when this build has the CUDA backend and a GPU the kernels can use (sm_90), else false
// and, when `why` is set, the reason.
bool cuda_available(std::string* why = nullptr);
// The name of CUDA device `device`.
std::string cuda_device_name(int device = 0);

}  // namespace lowbit
