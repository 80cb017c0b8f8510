// BERT encoder (Post-LN), running on a ragged batch: sequences concatenated along the token
// axis with cumulative offsets, so no padding is ever computed.
#pragma once

#include <vector>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "layers/layers.h"

namespace lowbit {

struct RaggedBatch {
  std::vector<int32_t> ids;         // [T]
  std::vector<int32_t> type_ids;    // [T]
  std::vector<int32_t> positions;   // [T], 0.. within each sequence
  std::vector<int32_t> cu_seqlens;  // [batch + 1], cu_seqlens[0] = 0, cu_seqlens[batch] = T

  int64_t tokens() const { return int64_t(ids.size()); }
  int64_t size() const { return int64_t(cu_seqlens.size()) - 1; }
  // Appends one sequence; positions restart at 0.
  void add(const std::vector<int32_t>& seq_ids, const std::vector<int32_t>& seq_type_ids);
};

struct BertLayer {
  Linear qkv;        // q1: [3H, H]
  Linear attn_out;   // q2: [H, H]
  LayerNorm attn_ln;
  Linear ffn_in;     // q3: [I, H]
  Linear ffn_out;    // q4: [H, I]
  LayerNorm ffn_ln;
};

class BertModel {
 public:
  // Loads every weight by name from `file` and checks each shape against `config`. Accepts both
  // bare BertModel names ("embeddings...") and task-model names ("bert.embeddings...").
  BertModel(const BertConfig& config, const SafeTensors& file);

  // Last hidden state [T, H].
  Tensor forward(const RaggedBatch& batch) const;
  const BertConfig& config() const { return config_; }
  int64_t parameter_count() const;

 private:
  BertConfig config_;
  Tensor word_emb_, pos_emb_, type_emb_;
  LayerNorm emb_ln_;
  std::vector<BertLayer> layers_;
};

}  // namespace lowbit
