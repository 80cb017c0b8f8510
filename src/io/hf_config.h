// Hugging Face config.json for BERT-family encoders.
#pragma once

#include <string>
#include <vector>

namespace lowbit {

enum class Activation { GeluErf, GeluTanh, Relu };
const char* activation_name(Activation a);

struct BertConfig {
  std::string model_type;    // "bert"
  std::string architecture;  // first of "architectures", or "" when absent
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 1e-12;
  Activation activation = Activation::GeluErf;
  // Sequence classification: label names by id (from "id2label", else "LABEL_<i>" for
  // "num_labels"); empty when the config names none.
  std::vector<std::string> labels;
  int64_t head_dim() const { return hidden_size / num_heads; }
};

// Reads and validates `path` (a config.json). Unsupported model types, architectures,
// activations or position-embedding types are errors that name the field and value.
BertConfig load_bert_config(const std::string& path);

}  // namespace lowbit
