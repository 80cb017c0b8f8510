// lowbit's public C++ API: load a model folder, embed texts.
//
//   auto engine = lowbit::Engine::load("/path/to/all-MiniLM-L6-v2");
//   lowbit::Embeddings e = engine->embed({"A sentence.", "Another one."});
//   // e.rows x e.dim floats in e.data, row-major
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/error.h"

#include "lowbit/tokenizer.h"

namespace lowbit {

struct ModelInfo {
  std::string dir;
  std::string architecture;  // e.g. "BertModel"
  std::string model_type;    // "bert"
  int64_t layers = 0, hidden = 0, heads = 0, intermediate = 0, vocab = 0;
  int64_t max_position_embeddings = 0, type_vocab = 0;
  std::string activation;
  int64_t parameters = 0;
  std::vector<std::pair<std::string, int64_t>> dtypes;  // dtype -> element count on disk
  int64_t weights_bytes = 0;                            // model.safetensors
  int64_t dir_bytes = 0;                                // every file in the folder
  std::string pooling;                                  // "cls" | "mean"
  bool normalize = false;
  bool sentence_transformers = false;
  int64_t max_length = 0;  // tokens, [CLS] and [SEP] included
  bool lower_case = true;  // vocab.txt tokenizers: whether they lower-case (else false)
  // "wordpiece" | "bpe" | "unigram", and its file: "wordpiece (tokenizer.json)"
  std::string tokenizer;
  std::string quantization;  // per-GEMM modes, e.g. "w8a8 on q1,q2,q3,q4"
  std::string source;        // lowbit models: the checkpoint they were quantized from
  std::string device;        // where it runs: "cpu" or "cuda:0 (<GPU name>)"
  // GPU: the per-shape GEMM precision plan followed ("off", or "<path> (N shapes, tuned on
  // <GPU>)"); also why an auto plan was not taken.
  std::string qbest = "off";
  // Sequence classification models (BertForSequenceClassification): the label names by id;
  // empty when the model has no classification head.
  std::vector<std::string> labels;
};

struct LoadOptions {
  // "cpu", "cuda", or "auto": the GPU encoder when this build has CUDA and an sm_90 GPU is
  // visible, else the CPU. "cuda" without a usable GPU is an error that says why.
  std::string device = "auto";
  bool cuda_graphs = true;  // GPU: capture each batch shape into a CUDA graph and replay it
  // GPU: the per-shape choice of each GEMM's precision ("qbest", written by `lowbit tune`).
  // "auto": <model>/qbest.json when it exists and was tuned on this GPU model; "off": every GEMM
  // in its recipe's mode; anything else: a plan file's path (an error when it was tuned on
  // another GPU model or asks a GEMM for a mode it cannot run in).
  std::string qbest = "auto";
};

struct TuneOptions {
  std::vector<std::pair<int64_t, int64_t>> shapes;  // (batch, sequence length) to tune
  // Time a pass through the first N layers (every layer runs the same mix, so a layer ranks the
  // mixes as the model does; 0: all layers).
  int64_t layers = 1;
  int min_reps = 3, max_reps = 15;  // timed passes per mix (as many as fit in ~0.1 s)
  std::function<void(size_t, size_t)> progress;  // (mixes timed, total)
};

struct TuneShape {
  int64_t batch = 0, seq = 0;
  std::vector<std::pair<std::string, double>> mixes;  // "q1/q2/q3/q4" modes -> median ms
  std::string best, recipe;  // the fastest mix and the recipe's own
  double best_ms = 0, recipe_ms = 0;
};

struct TuneResult {
  std::string device;                           // GPU name
  int64_t layers = 0;                           // layers timed
  std::vector<std::vector<std::string>> modes;  // per GEMM q1..q4: the modes tried
  std::vector<TuneShape> shapes;
  std::string plan_json;  // the plan to save as <model>/qbest.json
};

struct DeviceMemory {
  int64_t weights_bytes = 0;     // on the GPU (0 on the CPU)
  int64_t activation_bytes = 0;  // buffers for the largest batch so far
};

struct EmbedOptions {
  std::optional<std::string> pooling;  // "cls" | "mean"; default: the checkpoint's
  std::optional<bool> normalize;       // default: the checkpoint's
  int64_t max_length = 0;              // 0: the model's; larger than the model's is an error
  int64_t batch_tokens = 8192;         // tokens per forward pass
  // Batches are filled longest text first (results still come back in input order); false:
  // in input order.
  bool sort_by_length = true;
  // Called after each forward pass with (texts done, texts total).
  std::function<void(size_t, size_t)> progress;
};

struct Truncation {
  size_t index;        // which text
  size_t tokens;       // its length after truncation
  size_t untruncated;  // and before
};

struct Embeddings {
  int64_t rows = 0, dim = 0;
  std::vector<float> data;  // [rows, dim]
  std::vector<Truncation> truncated;
  const float* row(int64_t i) const { return data.data() + i * dim; }
};

struct Classifications {
  int64_t rows = 0;
  std::vector<std::string> labels;  // by id
  std::vector<float> logits;        // [rows, labels.size()]
  std::vector<Truncation> truncated;
  const float* row(int64_t i) const { return logits.data() + i * int64_t(labels.size()); }
  int64_t predicted(int64_t i) const;  // the label id with the largest logit
};

class Engine {
 public:
  // Reads and validates the folder (config, weights, tokenizer). Throws lowbit::Error.
  static std::unique_ptr<Engine> load(const std::string& model_dir, const LoadOptions& opts = {});
  ~Engine();

  const ModelInfo& info() const;
  const Tokenizer& tokenizer() const;
  // Texts must be valid UTF-8 (else lowbit::Error naming the text's index and byte offset).
  Embeddings embed(const std::vector<std::string>& texts, const EmbedOptions& opts = {}) const;
  // Sentence pairs (token type ids 0 / 1), e.g. for cross-encoders.
  Embeddings embed_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                         const EmbedOptions& opts = {}) const;
  // Sequence classification (the model's head: pooler + classifier on the [CLS] token): logits
  // per text. A model without a head is an error. EmbedOptions' pooling / normalize are unused.
  Classifications classify(const std::vector<std::string>& texts,
                           const EmbedOptions& opts = {}) const;
  // Already tokenized inputs (ids and type ids; e.g. a benchmark's synthetic batches).
  Embeddings embed_encodings(std::vector<Encoding> encs, const EmbedOptions& opts = {}) const;
  // Last hidden state of one encoded input: [ids.size(), hidden] row-major.
  std::vector<float> hidden_states(const Encoding& enc) const;
  DeviceMemory device_memory() const;
  // GPU only: milliseconds per pipeline stage (summed over layers) of one eager forward pass of
  // `encs` as one batch; empty on the CPU.
  std::vector<std::pair<std::string, double>> profile(const std::vector<Encoding>& encs) const;
  // GPU only (else lowbit::Error): times every allowed mix of GEMM modes (q1..q4) on each shape
  // with synthetic tokens and picks the fastest ("qbest"). Leaves this engine as it is.
  TuneResult tune(const TuneOptions& opts) const;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit
