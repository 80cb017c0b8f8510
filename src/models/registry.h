// The registry: how each Hugging Face encoder family names its weights, mapped onto lowbit's one
// transformer encoder (models/encoder.h). A family is a row of names; its behavioural
// differences (positions, token types, relative attention bias, head activation) are flags of
// EncoderConfig (io/hf_config.h). Adding a family that fits the encoder costs a row here and a
// row in hf_config.cc's table (docs/architecture.md shows the DistilBERT diff).
#pragma once

#include <string>
#include <vector>

namespace lowbit {

struct EncoderNames {
  // Prefixes tried in order on a checkpoint (bare encoder first, then the task model's).
  std::vector<std::string> prefixes;
  // Tensor names without ".weight" / ".bias"; layer names follow `layer` + the index + ".".
  std::string word, position, token_type, embedding_ln;
  std::string layer;
  std::string q, k, v, attn_out, attn_ln, ffn_in, ffn_out, ffn_ln;
  std::string relative_bias;  // "" when the family has none
  // Sequence classification head: a hidden dense layer (with the config's head activation) on
  // the first token, then the output projection. `head_dense` is looked up under the encoder's
  // prefix when `head_dense_in_encoder` (BERT's pooler), else at the top level.
  std::string head_dense, head_out;
  bool head_dense_in_encoder = false;
};

// The names of `model_type`'s Hugging Face checkpoints. Throws for an unknown type.
const EncoderNames& hf_names(const std::string& model_type);

// lowbit's own model files use one set of names for every family (BERT's, with q, k and v
// fused into attention.self.qkv): existing lowbit folders keep loading.
const EncoderNames& lowbit_names();
// The stored names of the four GEMMs of layer `layer` in a lowbit file (g = 0..3: q1..q4).
std::string lowbit_gemm_name(int64_t layer, int g);

}  // namespace lowbit
