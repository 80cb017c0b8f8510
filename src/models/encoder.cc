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
    if (nb < 32)
      fail(src.path(), ": relative_attention_num_buckets ", nb, " is below the 32 buckets MPNet uses");
    rel_bias_table_ = src.load(n.relative_bias + ".weight", {nb, heads});
    // [heads, 2L - 1]: the bias of every relative position a sequence of at most L can have.
    const int64_t span = config_.max_position_embeddings;
    rel_bias_ = Tensor::empty({heads, 2 * span - 1});
    for (int64_t r = -(span - 1); r < span; ++r) {
      // transformers' MPNetEncoder always buckets with 32 buckets (its compute_position_bias
      // default), whatever relative_attention_num_buckets sizes the table to.
      const int64_t b = relative_bucket(r, 32, config_.relative_max_distance);
      for (int64_t hd = 0; hd < heads; ++hd)
        rel_bias_.data<float>()[hd * (2 * span - 1) + r + span - 1] =
            rel_bias_table_.data<float>()[b * heads + hd];
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

namespace {
// Host views of a CPU batch's vectors (no copies).
ops::BatchInputs host_inputs(const RaggedBatch& batch) {
  ops::BatchInputs b;
  auto view = [](const std::vector<int32_t>& v) {
    return Tensor::view(const_cast<int32_t*>(v.data()), {int64_t(v.size())}, DType::I32,
                        Device::cpu());
  };
  b.ids = view(batch.ids);
  b.positions = view(batch.positions);
  b.type_ids = view(batch.type_ids);
  b.cu_seqlens = view(batch.cu_seqlens);
  b.cu_host = batch.cu_seqlens.data();
  b.tokens = batch.tokens();
  b.batch = batch.size();
  return b;
}
}  // namespace

Tensor Encoder::classify(const Tensor& hidden, const RaggedBatch& batch) const {
  Exec ex;
  return classify(hidden, host_inputs(batch), ex);
}

Tensor Encoder::classify(const Tensor& hidden, const ops::BatchInputs& b, Exec& ex) const {
  if (!head_) fail("this model has no classification head (classifier.weight)");
  Tensor logits = ex.empty({b.batch, head_->labels()}, DType::F32);
  ops::classify_head(hidden, b, head_->dense_w, head_->dense_b, head_->act, head_->w, head_->b,
                     logits, ex);
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
    for (int g = 0; g < kGemmsPerLayer; ++g) l.gemm(g).role = g;
    layers_.push_back(std::move(l));
  }
}

Encoder::Encoder(const EncoderConfig& config, const SafeTensors& file, const Recipe& recipe)
    : config_(config) {
  if (int64_t(recipe.layers.size()) != config.num_layers)
    fail("recipe has ", recipe.layers.size(), " layers, config.json ", config.num_layers);
  recipe.check_gemms(gemm_slots(), "recipe.json");
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
    {
      l.gemm(g) = Linear::load_lowbit(src, lowbit_gemm_name(i, g),
                                      recipe.layers[size_t(i)][size_t(g)], in[g], out[g]);
      l.gemm(g).role = g;
    }
    l.attn_ln = LayerNorm::load(src, p + n.attn_ln, h, config.layer_norm_eps);
    l.ffn_ln = LayerNorm::load(src, p + n.ffn_ln, h, config.layer_norm_eps);
    layers_.push_back(std::move(l));
  }
}

void Encoder::apply_recipe(const Recipe& recipe) {
  if (recipe.layers.size() != layers_.size())
    fail("recipe has ", recipe.layers.size(), " layers, the model ", layers_.size());
  recipe.check_gemms(gemm_slots(), "recipe " + recipe.name);
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
  if (!device().is_cpu()) fail("Encoder::forward(RaggedBatch): the model is on ", device().str());
  Exec ex;
  return forward(host_inputs(batch), ex, observer);
}

Tensor Encoder::forward(const ops::BatchInputs& b, Exec& ex, const Observer* observer) const {
  if (observer && !ex.on_cpu()) fail("calibration observers run on the CPU only");
  const int64_t t = b.tokens, h = config_.hidden_size;
  const DType act = ex.act_dtype();
  Tensor emb = ex.empty({t, h}, DType::F32);  // [tokens, hidden]
  ops::embed(b, word_emb_, pos_emb_, type_emb_, emb, ex);
  GemmInput x;  // the residual stream [tokens, hidden], quantized for the next q1
  x.x = ex.empty({t, h}, act);
  emb_ln_.forward(emb, Tensor(), x, &layers_.at(0).qkv, ex);
  ex.stage("embeddings + LayerNorm");

  Tensor qkv = ex.empty({t, 3 * h}, act);  // [tokens, 3 * hidden]
  Tensor proj = ex.empty({t, h}, act);     // [tokens, hidden]
  GemmInput ctx, mid, inter;               // inputs of q2, q3, q4
  ctx.x = ex.empty({t, h}, act);
  mid.x = ex.empty({t, h}, act);
  inter.x = ex.empty({t, config_.intermediate_size}, act);
  // q3's epilogue writes its rows' per-64-column maxima for q4's quantizer (symmetric schemes),
  // which then streams the GELU output once instead of reducing each row first. From 1,024
  // tokens only: below, the quantizer reduces with a CTA per row, and in the H200 run that used
  // the maxima at every batch, 1x128 came out 0.93-0.97x of before (bench/results/
  // throughput-h200.md).
  Tensor inter_amax;
  auto amax_for_q4 = [&](const EncoderLayer& l) {
    if (ex.on_cpu() || t < 1024 || !l.ffn_out.quantized_in(ex)) return false;
    const QuantScheme& s = l.ffn_out.variant(ex).act;
    return s.symmetric && s.group_size == 0;
  };
  const ops::Epilogue ffn_act = epilogue_for(config_.activation);
  auto observe = [&](size_t layer, int gemm, const Tensor& in) {
    if (observer) (*observer)(int64_t(layer), gemm, in);
  };
  const size_t n = ex.max_layers > 0 ? std::min(layers_.size(), size_t(ex.max_layers))
                                     : layers_.size();
  for (size_t i = 0; i < n; ++i) {
    const EncoderLayer& l = layers_[i];
    observe(i, 0, x.x);
    l.qkv.forward(x, qkv, {}, ex);
    ex.stage("q1 GEMM (QKV)");
    ops::attention(qkv, b, config_.num_heads, rel_bias_, ctx.x, ex);
    ex.stage("attention");
    l.attn_out.emit_input(ctx, ex);  // attention + quantize
    ex.stage("quantize q2 input");
    observe(i, 1, ctx.x);
    l.attn_out.forward(ctx, proj, {ops::Epilogue::None, x.x}, ex);  // + residual x
    ex.stage("q2 GEMM (attention out)");
    l.attn_ln.forward(proj, Tensor(), mid, &l.ffn_in, ex);
    ex.stage("LayerNorm (+ quantize)");
    observe(i, 2, mid.x);
    inter.row_amax = Tensor();
    if (amax_for_q4(l)) {
      if (!inter_amax.defined())
        inter_amax = ex.empty({t, (config_.intermediate_size + 63) / 64}, DType::I32);
      inter.row_amax = inter_amax;
    }
    l.ffn_in.forward(mid, inter.x, {ffn_act, Tensor(), &inter.row_amax}, ex);  // bias + act
    ex.stage("q3 GEMM (FFN in, GELU)");
    l.ffn_out.emit_input(inter, ex);
    ex.stage("quantize q4 input");
    observe(i, 3, inter.x);
    l.ffn_out.forward(inter, proj, {ops::Epilogue::None, mid.x}, ex);  // + residual mid
    ex.stage("q4 GEMM (FFN out)");
    l.ffn_ln.forward(proj, Tensor(), x, i + 1 < n ? &layers_[i + 1].qkv : nullptr, ex);
    ex.stage("LayerNorm (+ quantize)");
  }
  return x.x;
}

Encoder Encoder::to(Device device, const DeviceOptions& opts) const {
  if (!this->device().is_cpu()) fail("Encoder::to: the model is already on ", this->device().str());
  if (device.is_cuda()) {
    const EncoderConfig& c = config_;
    if (c.activation != Activation::GeluErf)
      fail(device.str(), ": the FFN activation must be gelu (erf) on the GPU; this model uses ",
           activation_name(c.activation));
    if (c.hidden_size % 128 != 0 || c.intermediate_size % 128 != 0 || c.hidden_size > 4096)
      fail(device.str(), ": hidden_size ", c.hidden_size, " and intermediate_size ",
           c.intermediate_size,
           " must be multiples of 128 (the GEMMs' K tile), hidden_size at most 4096");
    const int64_t hd = c.head_dim();
    if (hd != 32 && hd != 64 && hd != 128)
      fail(device.str(), ": head dim ", hd, " (hidden ", c.hidden_size, " / ", c.num_heads,
           " heads) must be 32, 64 or 128");
    if (head_ && head_->act == Activation::GeluTanh)
      fail(device.str(), ": the classification head's activation must be tanh, relu or gelu; ",
           "this model's is ", activation_name(head_->act));
  }
  Encoder m;
  m.config_ = config_;
  m.word_emb_ = word_emb_.to(device);
  m.pos_emb_ = pos_emb_.to(device);
  // A GPU model without token types reads one zero row (x + 0.0f is x).
  m.type_emb_ = type_emb_.defined()   ? type_emb_.to(device)
                : device.is_cuda() ? Tensor::zeros({1, config_.hidden_size}, DType::F32, device)
                                   : Tensor();
  if (rel_bias_.defined()) {
    m.rel_bias_table_ = rel_bias_table_;
    m.rel_bias_ = rel_bias_.to(device);
  }
  m.emb_ln_ = emb_ln_.to(device);
  if (head_) m.head_ = head_->to(device);
  const size_t n = opts.max_layers > 0 ? std::min(layers_.size(), size_t(opts.max_layers))
                                       : layers_.size();
  for (size_t i = 0; i < n; ++i) {
    const EncoderLayer& l = layers_[i];
    EncoderLayer d;
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      const Linear& lin = l.gemm(g);
      const std::vector<GemmMode> allowed = lin.device_modes();
      std::vector<GemmMode> want = {allowed.front()};
      if (opts.all_modes) want = allowed;
      for (const GemmMix& mix : opts.mixes) {
        const GemmMode md = mix[size_t(g)];
        if (std::find(allowed.begin(), allowed.end(), md) == allowed.end()) {
          std::string ok;
          for (GemmMode a : allowed) ok += (ok.empty() ? "" : ", ") + std::string(gemm_mode_name(a));
          fail("qbest plan: ", gemm_name(g), " cannot run in ", gemm_mode_name(md), ": ", lin.name,
               " is stored as ", gemm_mode_name(lin.quant.mode), " (it can run in ", ok, ")");
        }
        if (std::find(want.begin(), want.end(), md) == want.end()) want.push_back(md);
      }
      d.gemm(g) = lin.to(device, want);
      d.gemm(g).role = g;
    }
    d.attn_ln = l.attn_ln.to(device);
    d.ffn_ln = l.ffn_ln.to(device);
    m.layers_.push_back(std::move(d));
  }
  return m;
}

int64_t Encoder::weight_bytes() const {
  int64_t n = 0;
  auto add = [&](const Tensor& t) {
    if (t.defined()) n += int64_t(t.nbytes());
  };
  for (const Tensor* t : {&word_emb_, &pos_emb_, &type_emb_, &rel_bias_, &emb_ln_.gamma,
                          &emb_ln_.beta})
    add(*t);
  if (head_)
    for (const Tensor* t : {&head_->dense_w, &head_->dense_b, &head_->w, &head_->b}) add(*t);
  for (const EncoderLayer& l : layers_) {
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      const Linear& lin = l.gemm(g);
      if (lin.variants.empty()) {
        add(lin.weight);
        add(lin.bias);
        n += int64_t(lin.qweight.codes.size() + 4 * lin.qweight.scales.size());
      }
      for (const DeviceGemm& v : lin.variants) n += v.bytes();
    }
    for (const Tensor* t : {&l.attn_ln.gamma, &l.attn_ln.beta, &l.ffn_ln.gamma, &l.ffn_ln.beta})
      add(*t);
  }
  return n;
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
