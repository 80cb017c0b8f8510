#include "models/registry.h"

#include <map>

#include "core/error.h"
#include "io/hf_config.h"

namespace lowbit {

namespace {

// BERT's layout, which RoBERTa, XLM-R and ELECTRA share apart from the prefix and the head.
EncoderNames bert_like(std::string prefix) {
  EncoderNames n;
  n.prefixes = {"", prefix};
  n.word = "embeddings.word_embeddings";
  n.position = "embeddings.position_embeddings";
  n.token_type = "embeddings.token_type_embeddings";
  n.embedding_ln = "embeddings.LayerNorm";
  n.layer = "encoder.layer.";
  n.q = "attention.self.query";
  n.k = "attention.self.key";
  n.v = "attention.self.value";
  n.attn_out = "attention.output.dense";
  n.attn_ln = "attention.output.LayerNorm";
  n.ffn_in = "intermediate.dense";
  n.ffn_out = "output.dense";
  n.ffn_ln = "output.LayerNorm";
  n.head_dense = "classifier.dense";
  n.head_out = "classifier.out_proj";
  return n;
}

std::map<std::string, EncoderNames> make_table() {
  std::map<std::string, EncoderNames> t;
  EncoderNames bert = bert_like("bert.");
  bert.head_dense = "pooler.dense";
  bert.head_dense_in_encoder = true;
  bert.head_out = "classifier";
  t["bert"] = bert;
  t["roberta"] = bert_like("roberta.");
  t["xlm-roberta"] = bert_like("roberta.");
  t["electra"] = bert_like("electra.");

  EncoderNames mp = bert_like("mpnet.");
  mp.token_type = "";
  mp.q = "attention.attn.q";
  mp.k = "attention.attn.k";
  mp.v = "attention.attn.v";
  mp.attn_out = "attention.attn.o";
  mp.attn_ln = "attention.LayerNorm";
  mp.relative_bias = "encoder.relative_attention_bias";
  t["mpnet"] = mp;

  EncoderNames db;
  db.prefixes = {"", "distilbert."};
  db.word = "embeddings.word_embeddings";
  db.position = "embeddings.position_embeddings";
  db.embedding_ln = "embeddings.LayerNorm";
  db.layer = "transformer.layer.";
  db.q = "attention.q_lin";
  db.k = "attention.k_lin";
  db.v = "attention.v_lin";
  db.attn_out = "attention.out_lin";
  db.attn_ln = "sa_layer_norm";
  db.ffn_in = "ffn.lin1";
  db.ffn_out = "ffn.lin2";
  db.ffn_ln = "output_layer_norm";
  db.head_dense = "pre_classifier";
  db.head_out = "classifier";
  t["distilbert"] = db;
  return t;
}

}  // namespace

const EncoderNames& hf_names(const std::string& model_type) {
  static const std::map<std::string, EncoderNames> table = make_table();
  const auto it = table.find(model_type);
  if (it == table.end())
    fail("no weight names for model_type \"", model_type, "\" (lowbit runs ",
         supported_model_types(), ")");
  return it->second;
}

const EncoderNames& lowbit_names() {
  static const EncoderNames n = [] {
    EncoderNames x = bert_like("");
    x.prefixes = {""};
    x.relative_bias = "encoder.relative_attention_bias";
    x.head_dense = "pooler.dense";
    x.head_dense_in_encoder = true;
    x.head_out = "classifier";
    return x;
  }();
  return n;
}

std::string lowbit_gemm_name(int64_t layer, int g) {
  static const char* kNames[] = {"attention.self.qkv", "attention.output.dense",
                                 "intermediate.dense", "output.dense"};
  if (g < 0 || g > 3) fail("GEMM index ", g, " out of range");
  return "encoder.layer." + std::to_string(layer) + "." + kNames[g];
}

}  // namespace lowbit
