// A model folder: a Hugging Face checkpoint (config.json, model.safetensors, vocab.txt,
// tokenizer_config.json), optionally a sentence-transformers one (modules.json,
// 1_Pooling/config.json, sentence_bert_config.json) whose pooling and normalisation we follow.
#pragma once

#include <string>

#include "io/hf_config.h"

namespace lowbit {

enum class Pooling { Cls, Mean };
const char* pooling_name(Pooling p);
Pooling parse_pooling(const std::string& s);  // "cls" | "mean"

struct ModelDir {
  std::string dir;
  std::string config_path;
  std::string weights_path;
  EncoderConfig config;
  // From sentence-transformers files when present; otherwise CLS pooling, no normalisation
  // (the first token's last hidden state, as Hugging Face's BertModel returns it).
  Pooling pooling = Pooling::Cls;
  bool normalize = false;
  bool sentence_transformers = false;
  // Longest input in tokens, [CLS] and [SEP] included: sentence_bert_config.json's
  // max_seq_length when present, capped by max_position_embeddings and the tokenizer's
  // model_max_length.
  int64_t max_length = 0;
};

// Validates the folder and reads its configuration. Throws lowbit::Error naming the missing or
// malformed file.
ModelDir open_model_dir(const std::string& dir);

}  // namespace lowbit
