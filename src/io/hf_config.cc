#include "io/hf_config.h"

#include <array>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "io/json_util.h"

namespace lowbit {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::GeluErf:
      return "gelu";
    case Activation::GeluTanh:
      return "gelu_tanh";
    case Activation::Relu:
      return "relu";
  }
  return "?";
}

namespace {

// Head-less encoders and the heads whose encoder weights we can use (the head is ignored).
constexpr std::array<std::string_view, 7> kArchitectures{"BertModel",
                                                         "BertForMaskedLM",
                                                         "BertForPreTraining",
                                                         "BertForSequenceClassification",
                                                         "BertForTokenClassification",
                                                         "BertForQuestionAnswering",
                                                         "BertForNextSentencePrediction"};

Activation parse_activation(const std::string& s, const std::string& where) {
  if (s == "gelu") return Activation::GeluErf;
  if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return Activation::GeluTanh;
  if (s == "relu") return Activation::Relu;
  fail(where, ": unsupported hidden_act \"", s,
       "\" (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)");
}

void check_positive(int64_t v, const char* key, const std::string& where) {
  if (v <= 0) fail(where, ": field \"", key, "\" must be positive, got ", v);
}

}  // namespace

BertConfig load_bert_config(const std::string& path) {
  const Json j = read_json_file(path);
  BertConfig c;
  c.model_type = optional_string(j, "model_type", path).value_or("");
  if (c.model_type != "bert")
    fail(path, ": unsupported model_type \"", c.model_type, "\" (lowbit runs \"bert\" models)");
  if (auto it = j.find("architectures"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->empty() || !(*it)[0].is_string())
      fail(path, ": field \"architectures\" must be a non-empty list of strings");
    c.architecture = (*it)[0].get<std::string>();
    bool known = false;
    for (auto a : kArchitectures) known |= (a == c.architecture);
    if (!known) fail(path, ": unsupported architecture \"", c.architecture, "\"");
  }
  c.vocab_size = required_int(j, "vocab_size", path);
  c.hidden_size = required_int(j, "hidden_size", path);
  c.num_layers = required_int(j, "num_hidden_layers", path);
  c.num_heads = required_int(j, "num_attention_heads", path);
  c.intermediate_size = required_int(j, "intermediate_size", path);
  c.max_position_embeddings = required_int(j, "max_position_embeddings", path);
  c.type_vocab_size = optional_int(j, "type_vocab_size", path).value_or(2);
  c.layer_norm_eps = optional_number(j, "layer_norm_eps", path).value_or(1e-12);
  if (auto it = j.find("id2label"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) fail(path, ": field \"id2label\" must be an object of id -> label");
    c.labels.resize(it->size());
    for (const auto& [k, v] : it->items()) {
      char* end = nullptr;
      const long id = std::strtol(k.c_str(), &end, 10);
      if (k.empty() || *end || id < 0 || id >= long(it->size()) || !v.is_string() ||
          !c.labels[size_t(id)].empty())
        fail(path, ": id2label must map the ids 0..", it->size() - 1,
             " once each to a label string (bad entry \"", k, "\")");
      c.labels[size_t(id)] = v.get<std::string>();
    }
  } else if (auto n = optional_int(j, "num_labels", path)) {
    if (*n < 1) fail(path, ": num_labels must be positive, got ", *n);
    for (int64_t i = 0; i < *n; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
  }
  c.activation = parse_activation(optional_string(j, "hidden_act", path).value_or("gelu"), path);
  const auto pos = optional_string(j, "position_embedding_type", path).value_or("absolute");
  if (pos != "absolute")
    fail(path, ": unsupported position_embedding_type \"", pos, "\" (only \"absolute\")");

  check_positive(c.vocab_size, "vocab_size", path);
  check_positive(c.hidden_size, "hidden_size", path);
  check_positive(c.num_layers, "num_hidden_layers", path);
  check_positive(c.num_heads, "num_attention_heads", path);
  check_positive(c.intermediate_size, "intermediate_size", path);
  check_positive(c.max_position_embeddings, "max_position_embeddings", path);
  check_positive(c.type_vocab_size, "type_vocab_size", path);
  if (c.hidden_size % c.num_heads != 0)
    fail(path, ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ",
         c.num_heads);
  if (!(c.layer_norm_eps > 0)) fail(path, ": layer_norm_eps must be positive");
  return c;
}

}  // namespace lowbit
