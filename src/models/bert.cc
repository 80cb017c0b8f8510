#include "models/bert.h"

namespace lowbit {

void RaggedBatch::add(const std::vector<int32_t>& seq_ids, const std::vector<int32_t>& seq_type_ids) {
  if (seq_ids.empty()) fail("cannot add an empty sequence to a batch");
  if (seq_ids.size() != seq_type_ids.size()) fail("ids and type ids differ in length");
  if (cu_seqlens.empty()) cu_seqlens.push_back(0);
  ids.insert(ids.end(), seq_ids.begin(), seq_ids.end());
  type_ids.insert(type_ids.end(), seq_type_ids.begin(), seq_type_ids.end());
  for (size_t i = 0; i < seq_ids.size(); ++i) positions.push_back(int32_t(i));
  cu_seqlens.push_back(int32_t(ids.size()));
}

namespace {
std::string detect_prefix(const SafeTensors& file) {
  if (file.find("embeddings.word_embeddings.weight")) return "";
  if (file.find("bert.embeddings.word_embeddings.weight")) return "bert.";
  fail(file.path(), ": no BERT embeddings found (expected a tensor named "
                    "embeddings.word_embeddings.weight or bert.embeddings.word_embeddings.weight)");
}

ops::Epilogue epilogue_for(Activation a) {
  switch (a) {
    case Activation::GeluErf: return ops::Epilogue::GeluErf;
    case Activation::GeluTanh: return ops::Epilogue::GeluTanh;
    case Activation::Relu: return ops::Epilogue::Relu;
  }
  return ops::Epilogue::None;
}
}  // namespace

BertModel::BertModel(const BertConfig& config, const SafeTensors& file) : config_(config) {
  const WeightSource src(file, detect_prefix(file));
  const int64_t h = config.hidden_size, inter = config.intermediate_size;
  word_emb_ = src.load("embeddings.word_embeddings.weight", {config.vocab_size, h});
  pos_emb_ = src.load("embeddings.position_embeddings.weight", {config.max_position_embeddings, h});
  type_emb_ = src.load("embeddings.token_type_embeddings.weight", {config.type_vocab_size, h});
  emb_ln_ = LayerNorm::load(src, "embeddings.LayerNorm", h, config.layer_norm_eps);
  if (src.has("encoder.layer." + std::to_string(config.num_layers) + ".attention.self.query.weight"))
    fail(file.path(), ": has more encoder layers than num_hidden_layers = ", config.num_layers,
         " in config.json");
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    BertLayer l;
    l.qkv = Linear::load_qkv(src, p + "attention.self.", h);
    l.attn_out = Linear::load(src, p + "attention.output.dense", h, h);
    l.attn_ln = LayerNorm::load(src, p + "attention.output.LayerNorm", h, config.layer_norm_eps);
    l.ffn_in = Linear::load(src, p + "intermediate.dense", h, inter);
    l.ffn_out = Linear::load(src, p + "output.dense", inter, h);
    l.ffn_ln = LayerNorm::load(src, p + "output.LayerNorm", h, config.layer_norm_eps);
    layers_.push_back(std::move(l));
  }
}

int64_t BertModel::parameter_count() const {
  int64_t n = word_emb_.numel() + pos_emb_.numel() + type_emb_.numel() + 2 * emb_ln_.gamma.numel();
  for (const auto& l : layers_) {
    for (const Linear* lin : {&l.qkv, &l.attn_out, &l.ffn_in, &l.ffn_out})
      n += lin->weight.numel() + (lin->bias.defined() ? lin->bias.numel() : 0);
    n += 2 * (l.attn_ln.gamma.numel() + l.ffn_ln.gamma.numel());
  }
  return n;
}

Tensor BertModel::forward(const RaggedBatch& batch) const {
  const int64_t t = batch.tokens(), h = config_.hidden_size;
  Tensor x = Tensor::empty({t, h});  // [tokens, hidden]: the residual stream
  ops::embed_sum(batch.ids, batch.positions, batch.type_ids, word_emb_, pos_emb_, type_emb_, x);
  emb_ln_.forward(x, Tensor(), x);

  Tensor qkv = Tensor::empty({t, 3 * h});                        // [tokens, 3 * hidden]
  Tensor ctx = Tensor::empty({t, h});                            // [tokens, hidden]
  Tensor proj = Tensor::empty({t, h});                           // [tokens, hidden]
  Tensor inter = Tensor::empty({t, config_.intermediate_size});  // [tokens, intermediate]
  const ops::Epilogue act = epilogue_for(config_.activation);
  for (const BertLayer& l : layers_) {
    l.qkv.forward(x, qkv);
    ops::attention(qkv, batch.cu_seqlens, config_.num_heads, ctx);
    l.attn_out.forward(ctx, proj);
    l.attn_ln.forward(proj, x, x);
    l.ffn_in.forward(x, inter, act);
    l.ffn_out.forward(inter, proj);
    l.ffn_ln.forward(proj, x, x);
  }
  return x;
}

}  // namespace lowbit
