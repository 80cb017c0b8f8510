// The transformer encoder (Post-LN) that every BERT-family model runs as (bert, roberta,
// xlm-roberta, distilbert, mpnet, electra: the registry maps their weight names, EncoderConfig
// holds their flags), on a ragged batch: sequences concatenated along the token axis with
// cumulative offsets, so no padding is ever computed. Each of the four GEMMs of a layer carries
// its own quantization strategy (src/quant/recipe.h).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "layers/layers.h"
#include "ops/exec.h"
#include "ops/op.h"
#include "quant/recipe.h"

namespace lowbit {

struct EncoderNames;  // models/registry.h

struct RaggedBatch {
  RaggedBatch() = default;
  // Position ids and token types as `config`'s model makes them (RoBERTa-style offsets; type
  // ids zeroed when the model has at most one token type).
  explicit RaggedBatch(const EncoderConfig& config);

  std::vector<int32_t> ids;         // [T]
  std::vector<int32_t> type_ids;    // [T]
  std::vector<int32_t> positions;   // [T], 0.. within each sequence
  std::vector<int32_t> cu_seqlens;  // [batch + 1], cu_seqlens[0] = 0, cu_seqlens[batch] = T

  int64_t tokens() const { return int64_t(ids.size()); }
  int64_t size() const { return int64_t(cu_seqlens.size()) - 1; }
  // Appends one sequence; positions restart at the model's first position.
  void add(const std::vector<int32_t>& seq_ids, const std::vector<int32_t>& seq_type_ids);

 private:
  int32_t first_position_ = 0;
  int32_t pad_id_ = -1;  // PaddingOffset: a pad token keeps position first_position_ - 1
  bool type_ids_ = true;
};

struct EncoderLayer {
  Linear qkv;       // q1: [3H, H]
  Linear attn_out;  // q2: [H, H]
  LayerNorm attn_ln;
  Linear ffn_in;   // q3: [I, H]
  Linear ffn_out;  // q4: [H, I]
  LayerNorm ffn_ln;

  Linear& gemm(int g);
  const Linear& gemm(int g) const;
};

// The sequence classification head, in FP32 (never quantized), on each sequence's first token:
// a dense layer with its activation (BERT's pooler + tanh, RoBERTa's classifier.dense + tanh,
// DistilBERT's pre_classifier + relu, ELECTRA's classifier.dense + gelu), then the output
// projection (one logit per label).
struct ClassifierHead {
  Tensor dense_w, dense_b;  // [H, H], [H]
  Activation act = Activation::Tanh;
  Tensor w, b;  // [labels, H], [labels]
  int64_t labels() const { return w.dim(0); }
  ClassifierHead to(Device d) const {
    return {dense_w.to(d), dense_b.to(d), act, w.to(d), b.to(d)};
  }
};

// A tensor to save, owning its bytes.
struct OwnedTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;
};

class Encoder {
 public:
  Encoder() = default;
  // A Hugging Face FP32/FP16/BF16 checkpoint: loads every weight by name and checks each shape
  // against `config`. Accepts bare Encoder names ("embeddings...") and task-model names
  // ("bert.embeddings..."). Every GEMM starts in FP32 mode.
  Encoder(const EncoderConfig& config, const SafeTensors& file);
  // A lowbit model: quantized tensors as `recipe` says (the loader checks every one).
  Encoder(const EncoderConfig& config, const SafeTensors& file, const Recipe& recipe);

  // The GEMMs of each layer, by the names recipes use (q1 QKV, q2 attention output, q3 FFN in,
  // q4 FFN out).
  static const GemmSlots& gemm_slots() { return encoder_gemm_slots(); }
  // Quantizes the FP32 weights in memory as `recipe` says (layer count must match).
  void apply_recipe(const Recipe& recipe);

  // Called with each GEMM's float input (layer, gemm 0..3, [tokens, in]) before the GEMM:
  // calibration hooks.
  using Observer = std::function<void(int64_t layer, int gemm, const Tensor& input)>;
  // Last hidden state [T, H] on the host (a CPU model).
  Tensor forward(const RaggedBatch& batch, const Observer* observer = nullptr) const;
  // The same pass on any device: `b` and the weights on ex.device; activations of
  // ex.act_dtype(); the observer only on the CPU. Returns the last hidden state [T, H].
  Tensor forward(const ops::BatchInputs& b, Exec& ex, const Observer* observer = nullptr) const;
  // The head on a forward pass's hidden state: logits F32 [batch, labels] on ex.device.
  Tensor classify(const Tensor& hidden, const ops::BatchInputs& b, Exec& ex) const;

  // A copy of this model on `device`: every weight there, each GEMM in its recipe's mode plus
  // `extra_modes` where it can run in them (Linear::device_modes; all_modes: every one), so that
  // a qbest mix can pick among them. Checks what the GPU kernels need of the config.
  struct DeviceOptions {
    bool all_modes = false;
    std::vector<GemmMix> mixes;  // modes a plan will ask for (checked: an error names the GEMM)
    int64_t max_layers = 0;      // > 0: only the first layers (the tuner times one)
  };
  Encoder to(Device device, const DeviceOptions& opts) const;
  Device device() const { return word_emb_.device(); }
  // Bytes of every weight tensor (on its device).
  int64_t weight_bytes() const;
  // The classification head, when the checkpoint has one (classifier.weight; the config's
  // labels name its rows), else null.
  const ClassifierHead* head() const { return head_ ? &*head_ : nullptr; }
  // logits [batch, labels] of a forward pass's last hidden state (throws without a head; CPU).
  Tensor classify(const Tensor& hidden, const RaggedBatch& batch) const;

  const EncoderConfig& config() const { return config_; }
  int64_t parameter_count() const;
  std::vector<EncoderLayer>& layers() { return layers_; }
  const std::vector<EncoderLayer>& layers() const { return layers_; }
  // Embedding tables [rows, hidden] and their LayerNorm (the GPU encoder uploads them).
  const Tensor& word_embeddings() const { return word_emb_; }
  const Tensor& position_embeddings() const { return pos_emb_; }
  const Tensor& type_embeddings() const { return type_emb_; }  // undefined: no token types
  // MPNet's relative attention bias by relative position, [heads, 2 * max_position - 1]
  // (undefined for the other families).
  const Tensor& relative_bias() const { return rel_bias_; }
  const LayerNorm& embedding_layer_norm() const { return emb_ln_; }
  // Every tensor in lowbit naming: embeddings and LayerNorms F32; each Linear as its strategy
  // stores it (<name>.weight F32/F16, or <name>.qweight U8 + .wscale F32 + .wsum I32) + .bias.
  std::vector<OwnedTensor> export_tensors() const;

 private:
  void load_embeddings(const WeightSource& src, const EncoderNames& names);
  // The head from `file` when it has one.
  void load_head(const SafeTensors& file, const std::string& prefix,
                 const EncoderNames& names);
  std::optional<ClassifierHead> head_;
  EncoderConfig config_;
  Tensor word_emb_, pos_emb_, type_emb_;
  Tensor rel_bias_table_;  // [buckets, heads] as stored
  Tensor rel_bias_;        // [heads, 2 * max_position - 1], expanded from the table
  LayerNorm emb_ln_;
  std::vector<EncoderLayer> layers_;
};

}  // namespace lowbit
