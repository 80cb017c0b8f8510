#include "models/bert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dtype.h"

namespace lowbit {

void RaggedBatch::add(const std::vector<int32_t>& seq_ids,
                      const std::vector<int32_t>& seq_type_ids) {
  if (seq_ids.empty()) fail("cannot add an empty sequence to a batch");
  if (seq_ids.size() != seq_type_ids.size()) fail("ids and type ids differ in length");
  if (cu_seqlens.empty()) cu_seqlens.push_back(0);
  ids.insert(ids.end(), seq_ids.begin(), seq_ids.end());
  type_ids.insert(type_ids.end(), seq_type_ids.begin(), seq_type_ids.end());
  for (size_t i = 0; i < seq_ids.size(); ++i) positions.push_back(int32_t(i));
  cu_seqlens.push_back(int32_t(ids.size()));
}

Linear& BertLayer::gemm(int g) {
  switch (g) {
    case 0:
      return qkv;
    case 1:
      return attn_out;
    case 2:
      return ffn_in;
    case 3:
      return ffn_out;
  }
  fail("GEMM index ", g, " out of range");
}
const Linear& BertLayer::gemm(int g) const { return const_cast<BertLayer*>(this)->gemm(g); }

namespace {
std::string detect_prefix(const SafeTensors& file) {
  if (file.find("embeddings.word_embeddings.weight")) return "";
  if (file.find("bert.embeddings.word_embeddings.weight")) return "bert.";
  fail(file.path(),
       ": no BERT embeddings found (expected a tensor named "
       "embeddings.word_embeddings.weight or bert.embeddings.word_embeddings.weight)");
}

ops::Epilogue epilogue_for(Activation a) {
  switch (a) {
    case Activation::GeluErf:
      return ops::Epilogue::GeluErf;
    case Activation::GeluTanh:
      return ops::Epilogue::GeluTanh;
    case Activation::Relu:
      return ops::Epilogue::Relu;
  }
  return ops::Epilogue::None;
}

std::string layer_prefix(int64_t i) { return "encoder.layer." + std::to_string(i) + "."; }

// Stored names of the four GEMMs of a layer (q1's Q, K and V are fused into one).
std::string gemm_stored_name(int64_t layer, int g) {
  static const char* kNames[] = {"attention.self.qkv", "attention.output.dense",
                                 "intermediate.dense", "output.dense"};
  return layer_prefix(layer) + kNames[g];
}
}  // namespace

void BertModel::load_embeddings(const WeightSource& src) {
  const int64_t h = config_.hidden_size;
  word_emb_ = src.load("embeddings.word_embeddings.weight", {config_.vocab_size, h});
  pos_emb_ =
      src.load("embeddings.position_embeddings.weight", {config_.max_position_embeddings, h});
  type_emb_ = src.load("embeddings.token_type_embeddings.weight", {config_.type_vocab_size, h});
  emb_ln_ = LayerNorm::load(src, "embeddings.LayerNorm", h, config_.layer_norm_eps);
  if (src.has(layer_prefix(config_.num_layers) + "attention.output.dense.bias"))
    fail(src.path(), ": has more encoder layers than num_hidden_layers = ", config_.num_layers,
         " in config.json");
}

void ClassifierHead::forward(const float* cls, int64_t batch, float* logits) const {
  const int64_t h = pooler_w.dim(1), n = labels();
  std::vector<float> pooled(static_cast<size_t>(h));
  for (int64_t r = 0; r < batch; ++r) {
    const float* x = cls + r * h;
    for (int64_t j = 0; j < h; ++j) {
      const float* w = pooler_w.data<float>() + j * h;
      double s = 0;
      for (int64_t k = 0; k < h; ++k) s += double(w[k]) * double(x[k]);
      pooled[size_t(j)] = std::tanh(float(s + double(pooler_b.data<float>()[j])));
    }
    for (int64_t l = 0; l < n; ++l) {
      const float* w = this->w.data<float>() + l * h;
      double s = 0;
      for (int64_t k = 0; k < h; ++k) s += double(w[k]) * double(pooled[size_t(k)]);
      logits[r * n + l] = float(s + double(b.data<float>()[l]));
    }
  }
}

void BertModel::load_head(const SafeTensors& file, const std::string& prefix) {
  if (!file.find("classifier.weight")) return;
  const int64_t h = config_.hidden_size;
  const TensorView& cw = file.at("classifier.weight");
  if (cw.shape.size() != 2 || cw.shape[1] != h)
    fail(file.path(), ": classifier.weight must be [labels, ", h, "]");
  const int64_t n = cw.shape[0];
  if (config_.labels.empty())
    for (int64_t i = 0; i < n; ++i) config_.labels.push_back("LABEL_" + std::to_string(i));
  if (int64_t(config_.labels.size()) != n)
    fail(file.path(), ": classifier.weight has ", n, " rows but config.json names ",
         config_.labels.size(), " labels (id2label)");
  const WeightSource pre(file, prefix), top(file, "");
  ClassifierHead hd;
  hd.pooler_w = pre.load("pooler.dense.weight", {h, h});
  hd.pooler_b = pre.load("pooler.dense.bias", {h});
  hd.w = top.load("classifier.weight", {n, h});
  hd.b = top.load("classifier.bias", {n});
  head_ = std::move(hd);
}

Tensor BertModel::classify(const Tensor& hidden, const RaggedBatch& batch) const {
  if (!head_) fail("this model has no classification head (classifier.weight)");
  const int64_t h = config_.hidden_size, n = head_->labels();
  std::vector<float> cls(size_t(batch.size() * h));
  for (int64_t i = 0; i < batch.size(); ++i)
    std::copy_n(hidden.data<float>() + int64_t(batch.cu_seqlens[size_t(i)]) * h, h,
                cls.begin() + i * h);
  Tensor logits = Tensor::empty({batch.size(), n});
  head_->forward(cls.data(), batch.size(), logits.data<float>());
  return logits;
}

BertModel::BertModel(const BertConfig& config, const SafeTensors& file) : config_(config) {
  const std::string prefix = detect_prefix(file);
  const WeightSource src(file, prefix);
  load_embeddings(src);
  load_head(file, prefix);
  const int64_t h = config.hidden_size, inter = config.intermediate_size;
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = layer_prefix(i);
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

BertModel::BertModel(const BertConfig& config, const SafeTensors& file, const Recipe& recipe)
    : config_(config) {
  if (int64_t(recipe.layers.size()) != config.num_layers)
    fail("recipe has ", recipe.layers.size(), " layers, config.json ", config.num_layers);
  const WeightSource src(file, "");
  load_embeddings(src);
  load_head(file, "");
  const int64_t h = config.hidden_size, inter = config.intermediate_size;
  const int64_t in[] = {h, h, h, inter}, out[] = {3 * h, h, inter, h};
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = layer_prefix(i);
    BertLayer l;
    for (int g = 0; g < kGemmsPerLayer; ++g)
      l.gemm(g) = Linear::load_lowbit(src, gemm_stored_name(i, g),
                                      recipe.layers[size_t(i)][size_t(g)], in[g], out[g]);
    l.attn_ln = LayerNorm::load(src, p + "attention.output.LayerNorm", h, config.layer_norm_eps);
    l.ffn_ln = LayerNorm::load(src, p + "output.LayerNorm", h, config.layer_norm_eps);
    layers_.push_back(std::move(l));
  }
}

void BertModel::apply_recipe(const Recipe& recipe) {
  if (recipe.layers.size() != layers_.size())
    fail("recipe has ", recipe.layers.size(), " layers, the model ", layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i)
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      Linear& lin = layers_[i].gemm(g);
      lin.name = gemm_stored_name(int64_t(i), g);
      lin.set_quant(recipe.layers[i][size_t(g)]);
    }
}

int64_t BertModel::parameter_count() const {
  int64_t n = word_emb_.numel() + pos_emb_.numel() + type_emb_.numel() + 2 * emb_ln_.gamma.numel();
  for (const auto& l : layers_) {
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      const Linear& lin = l.gemm(g);
      n += lin.in * lin.out + (lin.bias.defined() ? lin.bias.numel() : 0);
    }
    n += 2 * (l.attn_ln.gamma.numel() + l.ffn_ln.gamma.numel());
  }
  return n;
}

Tensor BertModel::forward(const RaggedBatch& batch, const Observer* observer) const {
  const int64_t t = batch.tokens(), h = config_.hidden_size;
  GemmInput x;  // the residual stream [tokens, hidden], quantized for the next q1
  x.x = Tensor::empty({t, h});
  ops::embed_sum(batch.ids, batch.positions, batch.type_ids, word_emb_, pos_emb_, type_emb_, x.x);
  emb_ln_.forward(x.x, Tensor(), x, layers_.at(0).qkv);

  Tensor qkv = Tensor::empty({t, 3 * h});  // [tokens, 3 * hidden]
  Tensor proj = Tensor::empty({t, h});     // [tokens, hidden]
  GemmInput ctx, mid, inter;               // inputs of q2, q3, q4
  ctx.x = Tensor::empty({t, h});
  inter.x = Tensor::empty({t, config_.intermediate_size});
  const ops::Epilogue act = epilogue_for(config_.activation);
  auto observe = [&](size_t layer, int gemm, const Tensor& in) {
    if (observer) (*observer)(int64_t(layer), gemm, in);
  };
  for (size_t i = 0; i < layers_.size(); ++i) {
    const BertLayer& l = layers_[i];
    observe(i, 0, x.x);
    l.qkv.forward(x, qkv);
    ops::attention(qkv, batch.cu_seqlens, config_.num_heads, ctx.x);
    l.attn_out.emit_input(ctx);  // attention + quantize
    observe(i, 1, ctx.x);
    l.attn_out.forward(ctx, proj);
    mid.x = x.x;  // LN(proj + x) overwrites the residual stream in place
    l.attn_ln.forward(proj, x.x, mid, l.ffn_in);
    observe(i, 2, mid.x);
    l.ffn_in.forward(mid, inter.x, act);
    l.ffn_out.emit_input(inter);  // bias + GELU + quantize
    observe(i, 3, inter.x);
    l.ffn_out.forward(inter, proj);
    if (i + 1 < layers_.size())
      l.ffn_ln.forward(proj, mid.x, x, layers_[i + 1].qkv);
    else
      l.ffn_ln.forward(proj, mid.x, x.x);
  }
  return x.x;
}

namespace {
template <typename T>
OwnedTensor owned(const std::string& name, DType dtype, std::vector<int64_t> shape, const T* data,
                  size_t count) {
  OwnedTensor t{name, dtype, std::move(shape), std::vector<std::byte>(count * sizeof(T))};
  std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}
OwnedTensor owned_f32(const std::string& name, const Tensor& x) {
  return owned(name, DType::F32, x.shape(), x.data<float>(), size_t(x.numel()));
}
void export_linear(const Linear& l, std::vector<OwnedTensor>& out) {
  if (l.bias.defined()) out.push_back(owned_f32(l.name + ".bias", l.bias));
  if (l.quant.mode == GemmMode::Fp32) {
    out.push_back(owned_f32(l.name + ".weight", l.weight));
  } else if (l.quant.mode == GemmMode::Fp16) {
    std::vector<uint16_t> h(size_t(l.weight.numel()));
    for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(l.weight.data<float>()[i]);
    out.push_back(owned(l.name + ".weight", DType::F16, l.weight.shape(), h.data(), h.size()));
  } else {
    const QuantizedMatrix& q = l.qweight;
    out.push_back(owned(l.name + ".qweight", DType::U8, {q.rows, q.row_bytes()}, q.codes.data(),
                        q.codes.size()));
    out.push_back(owned(l.name + ".wscale", DType::F32, {q.rows, q.groups()}, q.scales.data(),
                        q.scales.size()));
    if (q.scheme.is_int())
      out.push_back(owned(l.name + ".wsum", DType::I32, {q.rows, q.groups()}, q.code_sums.data(),
                          q.code_sums.size()));
  }
}
}  // namespace

std::vector<OwnedTensor> BertModel::export_tensors() const {
  std::vector<OwnedTensor> out;
  out.push_back(owned_f32("embeddings.word_embeddings.weight", word_emb_));
  out.push_back(owned_f32("embeddings.position_embeddings.weight", pos_emb_));
  out.push_back(owned_f32("embeddings.token_type_embeddings.weight", type_emb_));
  out.push_back(owned_f32("embeddings.LayerNorm.weight", emb_ln_.gamma));
  out.push_back(owned_f32("embeddings.LayerNorm.bias", emb_ln_.beta));
  for (size_t i = 0; i < layers_.size(); ++i) {
    const BertLayer& l = layers_[i];
    const std::string p = layer_prefix(int64_t(i));
    for (int g = 0; g < kGemmsPerLayer; ++g) export_linear(l.gemm(g), out);
    out.push_back(owned_f32(p + "attention.output.LayerNorm.weight", l.attn_ln.gamma));
    out.push_back(owned_f32(p + "attention.output.LayerNorm.bias", l.attn_ln.beta));
    out.push_back(owned_f32(p + "output.LayerNorm.weight", l.ffn_ln.gamma));
    out.push_back(owned_f32(p + "output.LayerNorm.bias", l.ffn_ln.beta));
  }
  if (head_) {
    out.push_back(owned_f32("pooler.dense.weight", head_->pooler_w));
    out.push_back(owned_f32("pooler.dense.bias", head_->pooler_b));
    out.push_back(owned_f32("classifier.weight", head_->w));
    out.push_back(owned_f32("classifier.bias", head_->b));
  }
  return out;
}

}  // namespace lowbit
