#include "models/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dtype.h"
#include "models/registry.h"

namespace lowbit {

RaggedBatch::RaggedBatch(const EncoderConfig& config)
    : first_position_(config.first_position()),
      pad_id_(config.positions == PositionScheme::PaddingOffset ? config.pad_token_id : -1),
      type_ids_(config.type_vocab_size > 1) {}

void RaggedBatch::add(const std::vector<int32_t>& seq_ids,
                      const std::vector<int32_t>& seq_type_ids) {
  if (seq_ids.empty()) fail("cannot add an empty sequence to a batch");
  if (seq_ids.size() != seq_type_ids.size()) fail("ids and type ids differ in length");
  if (cu_seqlens.empty()) cu_seqlens.push_back(0);
  ids.insert(ids.end(), seq_ids.begin(), seq_ids.end());
  if (type_ids_)
    type_ids.insert(type_ids.end(), seq_type_ids.begin(), seq_type_ids.end());
  else
    type_ids.resize(ids.size(), 0);
  // transformers' create_position_ids_from_input_ids: padding_idx + the count of non-pad tokens
  // so far, and padding_idx itself for a pad token.
  int32_t next = first_position_;
  for (int32_t id : seq_ids) {
    if (id == pad_id_) {
      positions.push_back(first_position_ - 1);
    } else {
      positions.push_back(next++);
    }
  }
  cu_seqlens.push_back(int32_t(ids.size()));
}

Linear& EncoderLayer::gemm(int g) {
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
const Linear& EncoderLayer::gemm(int g) const { return const_cast<EncoderLayer*>(this)->gemm(g); }

namespace {
std::string detect_prefix(const SafeTensors& file, const EncoderNames& n,
                          const std::string& model_type) {
  for (const std::string& p : n.prefixes)
    if (file.find(p + n.word + ".weight")) return p;
  std::string tried;
  for (const std::string& p : n.prefixes) tried += (tried.empty() ? "" : " or ") + p + n.word + ".weight";
  fail(file.path(), ": no ", model_type, " embeddings found (expected a tensor named ", tried, ")");
}

ops::Epilogue epilogue_for(Activation a) {
  switch (a) {
    case Activation::GeluErf:
      return ops::Epilogue::GeluErf;
    case Activation::GeluTanh:
      return ops::Epilogue::GeluTanh;
    case Activation::Relu:
      return ops::Epilogue::Relu;
    case Activation::Tanh:
      break;
  }
  fail("activation ", activation_name(a), " is not an FFN activation");
}

std::string layer_prefix(const EncoderNames& n, int64_t i) {
  return n.layer + std::to_string(i) + ".";
}

// MPNet's relative_position_bucket (transformers, float32 logarithms as torch computes them)
// for key position minus query position `rel`.
int64_t relative_bucket(int64_t rel, int64_t buckets, int64_t max_distance) {
  int64_t ret = 0;
  int64_t n = -rel;
  buckets /= 2;
  if (n < 0) ret += buckets;
  n = n < 0 ? -n : n;
  const int64_t max_exact = buckets / 2;
  if (n < max_exact) return ret + n;
  const float lg = std::log(float(n) / float(max_exact)) /
                   float(std::log(double(max_distance) / double(max_exact)));
  int64_t large = max_exact + int64_t(lg * float(buckets - max_exact));
  return ret + std::min(large, buckets - 1);
}

float head_act(Activation a, float x) {
  switch (a) {
    case Activation::Tanh:
      return std::tanh(x);
    case Activation::Relu:
      return x > 0 ? x : 0.0f;
    case Activation::GeluErf:
      return float(0.5 * double(x) * (1.0 + std::erf(double(x) / std::sqrt(2.0))));
    case Activation::GeluTanh:
      break;
  }
  fail("unsupported head activation ", activation_name(a));
}
}  // namespace

void Encoder::load_embeddings(const WeightSource& src, const EncoderNames& n) {
  const int64_t h = config_.hidden_size;
  word_emb_ = src.load(n.word + ".weight", {config_.vocab_size, h});
  pos_emb_ = src.load(n.position + ".weight", {config_.max_position_embeddings, h});
  if (config_.type_vocab_size > 0)
    type_emb_ = src.load(n.token_type + ".weight", {config_.type_vocab_size, h});
  emb_ln_ = LayerNorm::load(src, n.embedding_ln, h, config_.layer_norm_eps);
  if (src.has(layer_prefix(n, config_.num_layers) + n.attn_out + ".bias"))
    fail(src.path(), ": has more encoder layers than num_hidden_layers = ", config_.num_layers,
         " in config.json");
  if (config_.relative_attention_buckets > 0) {
    const int64_t nb = config_.relative_attention_buckets, heads = config_.num_heads;
    rel_bias_table_ = src.load(n.relative_bias + ".weight", {nb, heads});
    // [heads, 2L - 1]: the bias of every relative position a sequence of at most L can have.
    const int64_t span = config_.max_position_embeddings;
    rel_bias_ = Tensor::empty({heads, 2 * span - 1});
    for (int64_t r = -(span - 1); r < span; ++r) {
      const int64_t b = relative_bucket(r, nb, config_.relative_max_distance);
      for (int64_t hd = 0; hd < heads; ++hd)
        rel_bias_.data<float>()[hd * (2 * span - 1) + r + span - 1] =
            rel_bias_table_.data<float>()[b * heads + hd];
    }
  }
}

void ClassifierHead::forward(const float* cls, int64_t batch, float* logits) const {
  const int64_t h = dense_w.dim(1), n = labels();
  std::vector<float> pooled(static_cast<size_t>(h));
  for (int64_t r = 0; r < batch; ++r) {
    const float* x = cls + r * h;
    for (int64_t j = 0; j < h; ++j) {
      const float* w = dense_w.data<float>() + j * h;
      double s = 0;
      for (int64_t k = 0; k < h; ++k) s += double(w[k]) * double(x[k]);
      pooled[size_t(j)] = head_act(act, float(s + double(dense_b.data<float>()[j])));
    }
    for (int64_t l = 0; l < n; ++l) {
      const float* w = this->w.data<float>() + l * h;
      double s = 0;
      for (int64_t k = 0; k < h; ++k) s += double(w[k]) * double(pooled[size_t(k)]);
      logits[r * n + l] = float(s + double(b.data<float>()[l]));
    }
  }
}

void Encoder::load_head(const SafeTensors& file, const std::string& prefix,
                        const EncoderNames& names) {
  const std::string out = names.head_out + ".weight";
  if (!file.find(out)) return;
  const int64_t h = config_.hidden_size;
  const TensorView& cw = file.at(out);
  if (cw.shape.size() != 2 || cw.shape[1] != h)
    fail(file.path(), ": ", out, " must be [labels, ", h, "]");
  const int64_t n = cw.shape[0];
  if (config_.labels.empty())
    for (int64_t i = 0; i < n; ++i) config_.labels.push_back("LABEL_" + std::to_string(i));
  if (int64_t(config_.labels.size()) != n)
    fail(file.path(), ": ", out, " has ", n, " rows but config.json names ",
         config_.labels.size(), " labels (id2label)");
  const WeightSource dense(file, names.head_dense_in_encoder ? prefix : ""), top(file, "");
  ClassifierHead hd;
  hd.dense_w = dense.load(names.head_dense + ".weight", {h, h});
  hd.dense_b = dense.load(names.head_dense + ".bias", {h});
  hd.act = config_.head_activation;
  hd.w = top.load(out, {n, h});
  hd.b = top.load(names.head_out + ".bias", {n});
  head_ = std::move(hd);
}

Tensor Encoder::classify(const Tensor& hidden, const RaggedBatch& batch) const {
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

Encoder::Encoder(const EncoderConfig& config, const SafeTensors& file) : config_(config) {
  const EncoderNames& n = hf_names(config.model_type);
  const std::string prefix = detect_prefix(file, n, config.model_type);
  const WeightSource src(file, prefix);
  load_embeddings(src, n);
  load_head(file, prefix, n);
  const int64_t h = config.hidden_size, inter = config.intermediate_size;
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = layer_prefix(n, i);
    EncoderLayer l;
    l.qkv = Linear::load_qkv(src, p, {n.q, n.k, n.v}, h);
    l.qkv.name = lowbit_gemm_name(i, 0);
    l.attn_out = Linear::load(src, p + n.attn_out, h, h);
    l.attn_ln = LayerNorm::load(src, p + n.attn_ln, h, config.layer_norm_eps);
    l.ffn_in = Linear::load(src, p + n.ffn_in, h, inter);
    l.ffn_out = Linear::load(src, p + n.ffn_out, inter, h);
    l.ffn_ln = LayerNorm::load(src, p + n.ffn_ln, h, config.layer_norm_eps);
    for (int g = 1; g < kGemmsPerLayer; ++g) l.gemm(g).name = lowbit_gemm_name(i, g);
    layers_.push_back(std::move(l));
  }
}

Encoder::Encoder(const EncoderConfig& config, const SafeTensors& file, const Recipe& recipe)
    : config_(config) {
  if (int64_t(recipe.layers.size()) != config.num_layers)
    fail("recipe has ", recipe.layers.size(), " layers, config.json ", config.num_layers);
  const EncoderNames& n = lowbit_names();
  const WeightSource src(file, "");
  load_embeddings(src, n);
  load_head(file, "", n);
  const int64_t h = config.hidden_size, inter = config.intermediate_size;
  const int64_t in[] = {h, h, h, inter}, out[] = {3 * h, h, inter, h};
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = layer_prefix(n, i);
    EncoderLayer l;
    for (int g = 0; g < kGemmsPerLayer; ++g)
      l.gemm(g) = Linear::load_lowbit(src, lowbit_gemm_name(i, g),
                                      recipe.layers[size_t(i)][size_t(g)], in[g], out[g]);
    l.attn_ln = LayerNorm::load(src, p + n.attn_ln, h, config.layer_norm_eps);
    l.ffn_ln = LayerNorm::load(src, p + n.ffn_ln, h, config.layer_norm_eps);
    layers_.push_back(std::move(l));
  }
}

void Encoder::apply_recipe(const Recipe& recipe) {
  if (recipe.layers.size() != layers_.size())
    fail("recipe has ", recipe.layers.size(), " layers, the model ", layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i)
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      Linear& lin = layers_[i].gemm(g);
      lin.name = lowbit_gemm_name(int64_t(i), g);
      lin.set_quant(recipe.layers[i][size_t(g)]);
    }
}

int64_t Encoder::parameter_count() const {
  int64_t n = word_emb_.numel() + pos_emb_.numel() + (type_emb_.defined() ? type_emb_.numel() : 0) +
              (rel_bias_table_.defined() ? rel_bias_table_.numel() : 0) + 2 * emb_ln_.gamma.numel();
  for (const auto& l : layers_) {
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      const Linear& lin = l.gemm(g);
      n += lin.in * lin.out + (lin.bias.defined() ? lin.bias.numel() : 0);
    }
    n += 2 * (l.attn_ln.gamma.numel() + l.ffn_ln.gamma.numel());
  }
  return n;
}

Tensor Encoder::forward(const RaggedBatch& batch, const Observer* observer) const {
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
    const EncoderLayer& l = layers_[i];
    observe(i, 0, x.x);
    l.qkv.forward(x, qkv);
    ops::attention(qkv, batch.cu_seqlens, config_.num_heads, ctx.x, rel_bias_);
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

std::vector<OwnedTensor> Encoder::export_tensors() const {
  std::vector<OwnedTensor> out;
  out.push_back(owned_f32("embeddings.word_embeddings.weight", word_emb_));
  out.push_back(owned_f32("embeddings.position_embeddings.weight", pos_emb_));
  if (type_emb_.defined())
    out.push_back(owned_f32("embeddings.token_type_embeddings.weight", type_emb_));
  if (rel_bias_table_.defined())
    out.push_back(owned_f32("encoder.relative_attention_bias.weight", rel_bias_table_));
  out.push_back(owned_f32("embeddings.LayerNorm.weight", emb_ln_.gamma));
  out.push_back(owned_f32("embeddings.LayerNorm.bias", emb_ln_.beta));
  for (size_t i = 0; i < layers_.size(); ++i) {
    const EncoderLayer& l = layers_[i];
    const std::string p = layer_prefix(lowbit_names(), int64_t(i));
    for (int g = 0; g < kGemmsPerLayer; ++g) export_linear(l.gemm(g), out);
    out.push_back(owned_f32(p + "attention.output.LayerNorm.weight", l.attn_ln.gamma));
    out.push_back(owned_f32(p + "attention.output.LayerNorm.bias", l.attn_ln.beta));
    out.push_back(owned_f32(p + "output.LayerNorm.weight", l.ffn_ln.gamma));
    out.push_back(owned_f32(p + "output.LayerNorm.bias", l.ffn_ln.beta));
  }
  if (head_) {
    out.push_back(owned_f32("pooler.dense.weight", head_->dense_w));
    out.push_back(owned_f32("pooler.dense.bias", head_->dense_b));
    out.push_back(owned_f32("classifier.weight", head_->w));
    out.push_back(owned_f32("classifier.bias", head_->b));
  }
  return out;
}

}  // namespace lowbit
