// Hugging Face config.json of the encoder families lowbit runs (bert, roberta, xlm-roberta,
// distilbert, mpnet, electra), read into one EncoderConfig: the sizes plus the flags that say
// how this family's encoder differs from BERT's. Which weight names a family uses is the
// registry's business (src/models/registry.h), not the config's.
#pragma once

#include <string>
#include <vector>

namespace lowbit {

enum class Activation { GeluErf, GeluTanh, Relu, Tanh };
const char* activation_name(Activation a);

// How position ids are made from a sequence (docs/architecture.md).
enum class PositionScheme {
  Absolute,  // BERT, ELECTRA, DistilBERT: 0, 1, 2, ...
  // RoBERTa, XLM-R, MPNet: padding_idx + 1, +2, ...; a pad token in the text keeps padding_idx
  // (transformers' create_position_ids_from_input_ids).
  PaddingOffset,
};

struct EncoderConfig {
  std::string model_type;    // "bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra"
  std::string architecture;  // first of "architectures", or "" when absent
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 0;  // 0: the model has no token type embeddings
  double layer_norm_eps = 1e-12;
  Activation activation = Activation::GeluErf;
  bool pre_ln = false;  // LayerNorm before each sub-layer (no encoder here uses it yet)
  PositionScheme positions = PositionScheme::Absolute;
  int32_t pad_token_id = 0;  // padding_idx of PaddingOffset
  // MPNet: a learned bias per (relative position bucket, head) added to the attention scores.
  int64_t relative_attention_buckets = 0;  // 0: none
  int64_t relative_max_distance = 128;
  // The classification head's hidden activation: BERT's pooler and RoBERTa's classifier.dense
  // use tanh, DistilBERT's pre_classifier relu, ELECTRA's classifier gelu.
  Activation head_activation = Activation::Tanh;
  // Sequence classification: label names by id (from "id2label", else "LABEL_<i>" for
  // "num_labels"); empty when the config names none.
  std::vector<std::string> labels;
  int64_t head_dim() const { return hidden_size / num_heads; }
  // The first position id of a sequence: 0, or padding_idx + 1.
  int32_t first_position() const {
    return positions == PositionScheme::PaddingOffset ? pad_token_id + 1 : 0;
  }
};

// Reads and validates `path` (a config.json). Unsupported model types, architectures,
// activations or position-embedding types are errors that name the field and value.
EncoderConfig load_encoder_config(const std::string& path);

// The model types load_encoder_config accepts, for messages.
std::string supported_model_types();
// The bare encoder's class name of a model type ("BertModel", "MPNetModel", ...).
std::string default_architecture(const std::string& model_type);

}  // namespace lowbit
