// The tiny BERT (vocab 10, hidden 8, 1 layer, 2 heads, FFN 16, 8 positions) whose lowbit models
// tests/fuzz/make_lowbit_seeds.py writes, and the reader of that seed format (2-byte
// little-endian length, recipe.json, safetensors file): shared by fuzz_lowbit and its unit test.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

#include "io/safetensors.h"
#include "models/encoder.h"
#include "quant/recipe.h"

namespace lowbit::testing {

inline EncoderConfig tiny_bert_config() {
  EncoderConfig c;
  c.model_type = "bert";
  c.vocab_size = 10;
  c.hidden_size = 8;
  c.num_layers = 1;
  c.num_heads = 2;
  c.intermediate_size = 16;
  c.max_position_embeddings = 8;
  c.type_vocab_size = 2;
  return c;
}

// Loads a seed and runs two sequences through it; returns the last hidden state [6, 8].
// Throws lowbit::Error (or nlohmann's parse error) on a bad seed.
inline Tensor run_tiny_lowbit(std::string_view bytes) {
  if (bytes.size() < 2) fail("seed shorter than its 2-byte length");
  const size_t len = size_t(uint8_t(bytes[0])) | size_t(uint8_t(bytes[1])) << 8;
  if (len > bytes.size() - 2) fail("seed length ", len, " runs past the end");
  const Recipe recipe =
      Recipe::from_json(nlohmann::json::parse(bytes.substr(2, len)), "seed recipe.json", 1);
  const std::string_view st = bytes.substr(2 + len);
  const auto file = SafeTensors::from_bytes(
      std::span(reinterpret_cast<const std::byte*>(st.data()), st.size()), "seed");
  const Encoder model(tiny_bert_config(), file, recipe);
  RaggedBatch batch;
  batch.add({2, 5, 7, 3}, {0, 0, 1, 1});
  batch.add({2, 3}, {0, 0});
  return model.forward(batch);
}

}  // namespace lowbit::testing
