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
    case Activation::Tanh:
      return "tanh";
  }
  return "?";
}

namespace {

// One row per model_type: the class-name prefix of its architectures and how its config.json
// spells the sizes (DistilBERT has its own names).
struct Family {
  std::string_view model_type;
  std::string_view class_prefix;  // "Bert" -> BertModel, BertForSequenceClassification, ...
  bool distilbert_keys = false;
  bool token_types = true;
  PositionScheme positions = PositionScheme::Absolute;
  double default_eps = 1e-12;
  Activation head_activation = Activation::Tanh;
};

constexpr std::array<Family, 6> kFamilies{{
    {"bert", "Bert", false, true, PositionScheme::Absolute, 1e-12, Activation::Tanh},
    {"roberta", "Roberta", false, true, PositionScheme::PaddingOffset, 1e-12, Activation::Tanh},
    {"xlm-roberta", "XLMRoberta", false, true, PositionScheme::PaddingOffset, 1e-12,
     Activation::Tanh},
    {"distilbert", "DistilBert", true, false, PositionScheme::Absolute, 1e-12, Activation::Relu},
    {"mpnet", "MPNet", false, false, PositionScheme::PaddingOffset, 1e-12, Activation::Tanh},
    {"electra", "Electra", false, true, PositionScheme::Absolute, 1e-12, Activation::GeluErf},
}};

// Encoder-only architectures whose encoder weights we run (a head we do not know is ignored;
// the sequence classification head is run).
constexpr std::array<std::string_view, 8> kSuffixes{
    "Model",          "ForMaskedLM",        "ForPreTraining",      "ForSequenceClassification",
    "ForTokenClassification", "ForQuestionAnswering", "ForNextSentencePrediction",
    "ForMultipleChoice"};

Activation parse_activation(const std::string& s, const std::string& where, const char* key) {
  if (s == "gelu") return Activation::GeluErf;
  if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return Activation::GeluTanh;
  if (s == "relu") return Activation::Relu;
  fail(where, ": unsupported ", key, " \"", s,
       "\" (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)");
}

void check_positive(int64_t v, const char* key, const std::string& where) {
  if (v <= 0) fail(where, ": field \"", key, "\" must be positive, got ", v);
}

void read_labels(const Json& j, const std::string& path, EncoderConfig& c) {
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
}

}  // namespace

std::string supported_model_types() {
  std::string s;
  for (const Family& f : kFamilies) s += (s.empty() ? "" : ", ") + std::string(f.model_type);
  return s;
}

std::string default_architecture(const std::string& model_type) {
  for (const Family& f : kFamilies)
    if (f.model_type == model_type) return std::string(f.class_prefix) + "Model";
  return "Model";
}

EncoderConfig load_encoder_config(const std::string& path) {
  const Json j = read_json_file(path);
  EncoderConfig c;
  c.model_type = optional_string(j, "model_type", path).value_or("");
  const Family* fam = nullptr;
  for (const Family& f : kFamilies)
    if (f.model_type == c.model_type) fam = &f;
  if (!fam)
    fail(path, ": unsupported model_type \"", c.model_type, "\" (lowbit runs ",
         supported_model_types(), ")");
  if (auto it = j.find("architectures"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->empty() || !(*it)[0].is_string())
      fail(path, ": field \"architectures\" must be a non-empty list of strings");
    c.architecture = (*it)[0].get<std::string>();
    const std::string_view a = c.architecture;
    bool known = false;
    if (a.starts_with(fam->class_prefix))
      for (auto s : kSuffixes) known |= a.substr(fam->class_prefix.size()) == s;
    if (!known)
      fail(path, ": unsupported architecture \"", c.architecture, "\" for model_type \"",
           c.model_type, "\" (lowbit runs ", fam->class_prefix, "Model and its encoder heads)");
  }
  if (optional_bool(j, "is_decoder", path).value_or(false))
    fail(path, ": is_decoder is true; lowbit runs these models as encoders only");
  c.vocab_size = required_int(j, "vocab_size", path);
  if (fam->distilbert_keys) {
    c.hidden_size = required_int(j, "dim", path);
    c.num_layers = required_int(j, "n_layers", path);
    c.num_heads = required_int(j, "n_heads", path);
    c.intermediate_size = required_int(j, "hidden_dim", path);
    c.activation =
        parse_activation(optional_string(j, "activation", path).value_or("gelu"), path, "activation");
  } else {
    c.hidden_size = required_int(j, "hidden_size", path);
    c.num_layers = required_int(j, "num_hidden_layers", path);
    c.num_heads = required_int(j, "num_attention_heads", path);
    c.intermediate_size = required_int(j, "intermediate_size", path);
    c.activation =
        parse_activation(optional_string(j, "hidden_act", path).value_or("gelu"), path, "hidden_act");
  }
  c.max_position_embeddings = required_int(j, "max_position_embeddings", path);
  if (fam->token_types) {
    c.type_vocab_size = optional_int(j, "type_vocab_size", path).value_or(2);
    check_positive(c.type_vocab_size, "type_vocab_size", path);
  }
  c.layer_norm_eps = optional_number(j, "layer_norm_eps", path).value_or(fam->default_eps);
  c.positions = fam->positions;
  c.pad_token_id = int32_t(optional_int(j, "pad_token_id", path).value_or(
      fam->positions == PositionScheme::PaddingOffset ? 1 : 0));
  c.head_activation = fam->head_activation;
  if (c.model_type == "mpnet")
    c.relative_attention_buckets =
        optional_int(j, "relative_attention_num_buckets", path).value_or(32);
  if (c.model_type == "electra") {
    const int64_t e = optional_int(j, "embedding_size", path).value_or(c.hidden_size);
    if (e != c.hidden_size)
      fail(path, ": embedding_size ", e, " differs from hidden_size ", c.hidden_size,
           " (ELECTRA's embeddings_project is not supported)");
  }
  // DistilBERT's sinusoidal_pos_embds are stored as position_embeddings.weight like learned ones.
  read_labels(j, path, c);
  const auto pos = optional_string(j, "position_embedding_type", path).value_or("absolute");
  if (pos != "absolute")
    fail(path, ": unsupported position_embedding_type \"", pos, "\" (only \"absolute\")");

  check_positive(c.vocab_size, "vocab_size", path);
  check_positive(c.hidden_size, "hidden_size", path);
  check_positive(c.num_layers, "num_hidden_layers", path);
  check_positive(c.num_heads, "num_attention_heads", path);
  check_positive(c.intermediate_size, "intermediate_size", path);
  check_positive(c.max_position_embeddings, "max_position_embeddings", path);
  if (c.hidden_size % c.num_heads != 0)
    fail(path, ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ",
         c.num_heads);
  if (!(c.layer_norm_eps > 0)) fail(path, ": layer_norm_eps must be positive");
  if (c.positions == PositionScheme::PaddingOffset &&
      (c.pad_token_id < 0 || c.pad_token_id + 2 > c.max_position_embeddings))
    fail(path, ": pad_token_id ", c.pad_token_id, " leaves no positions in max_position_embeddings ",
         c.max_position_embeddings);
  return c;
}

}  // namespace lowbit
