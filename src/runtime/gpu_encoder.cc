#include "runtime/gpu_encoder.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "backends/cpu/int_gemm.h"
#include "backends/cuda/attention/flash_attention.h"
#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/encoder/encoder_kernels.h"
#include "backends/cuda/encoder/layernorm_quantize.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "backends/cuda/gemm/wgmma_layout.h"
#include "backends/cuda/quant/quantize_rows.h"
#include "core/dtype.h"
#include "core/error.h"

namespace lowbit {

namespace {

// One device allocation, freed with its owner.
class DevBuf {
 public:
  DevBuf() = default;
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  DevBuf(DevBuf&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DevBuf& operator=(DevBuf&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~DevBuf() { cudaFree(p_); }
  void alloc(size_t bytes) {
    cudaFree(p_);
    p_ = nullptr;
    n_ = bytes;
    if (bytes) LOWBIT_CUDA_CHECK(cudaMalloc(&p_, (bytes + 255) / 256 * 256));
  }
  void upload(const void* src, size_t bytes) {
    alloc(bytes);
    if (bytes) LOWBIT_CUDA_CHECK(cudaMemcpy(p_, src, bytes, cudaMemcpyHostToDevice));
  }
  template <typename T>
  void upload(const std::vector<T>& v) {
    upload(v.data(), v.size() * sizeof(T));
  }
  template <typename T = void>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return n_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

// Pinned host memory (the graph's input / output copies need it).
class HostBuf {
 public:
  HostBuf() = default;
  HostBuf(const HostBuf&) = delete;
  HostBuf& operator=(const HostBuf&) = delete;
  ~HostBuf() { cudaFreeHost(p_); }
  void alloc(size_t bytes) {
    cudaFreeHost(p_);
    p_ = nullptr;
    if (bytes) LOWBIT_CUDA_CHECK(cudaMallocHost(&p_, bytes));
  }
  template <typename T = void>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
};

struct GpuLinear {
  std::string name;
  GemmMode mode = GemmMode::Fp16;
  QuantScheme act;  // quantized modes: the token-wise scheme of the input
  PackedLayout a_layout = PackedLayout::F16, b_layout = PackedLayout::F16;
  bool b_sm90 = false;
  int64_t in = 0, out = 0, group_size = 0;
  DevBuf w, sw, zcorr, bias;

  bool quantized() const { return is_quantized(mode); }
};

// The 8-bit counterpart of an integer activation scheme (same symmetry and clip).
QuantScheme act8(QuantScheme a) {
  a.bits = 8;
  return a;
}

// `l` run in `mode`, one of gpu_modes(l).
GpuLinear upload_linear(const Linear& l, GemmMode mode) {
  GpuLinear g;
  g.name = l.name;
  g.in = l.in;
  g.out = l.out;
  g.mode = mode;
  if (l.bias.defined()) g.bias.upload(l.bias.data<float>(), size_t(l.out) * 4);
  if (mode == GemmMode::Fp16) {
    // f16 operands, f32 accumulation: FP32 and FP16 weights rounded to half, quantized ones
    // dequantized first.
    const bool q = is_quantized(l.quant.mode);
    const Tensor w = q ? dequantize(l.qweight) : Tensor();
    const float* src = q ? w.data<float>() : l.weight.data<float>();
    std::vector<uint16_t> h(size_t(l.in * l.out));
    for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(src[i]);
    g.w.upload(h);
    return g;
  }
  const QuantizedMatrix& q = l.qweight;
  g.act = mode == l.quant.mode ? l.quant.act : act8(l.quant.act);
  g.a_layout = g.act.layout();
  g.b_layout = q.scheme.layout();
  g.group_size = q.scheme.group_size;
  if (mode == GemmMode::W8A8 && g.b_layout == PackedLayout::Int4) {
    // int4 weights widened to int8 bytes: the same codes through the W8A8 kernels.
    std::vector<uint8_t> w(size_t(q.rows * q.cols));
    for (int64_t r = 0; r < q.rows; ++r)
      for (int64_t c = 0; c < q.cols; ++c) w[size_t(r * q.cols + c)] = uint8_t(int8_t(q.code(r, c)));
    g.b_layout = PackedLayout::Int8;
    g.w.upload(w);
  } else if (g.b_layout == PackedLayout::Int4 && (g.group_size == 0 || g.group_size == g.in)) {
    // The Hopper kernels read int4 weights in their own order (wgmma_layout.h).
    std::vector<uint8_t> r(q.codes.size());
    cuda::repack_int4_sm90(q.codes.data(), q.row_bytes(), r.data(), q.rows, q.cols);
    g.w.upload(r);
    g.b_sm90 = true;
  } else {
    g.w.upload(q.codes);
  }
  g.sw.upload(q.scales);
  if (!g.act.symmetric) {
    std::vector<float> zc(size_t(q.rows));
    cpu::zero_point_correction(q.scales.data(), q.code_sums.data(), q.rows, q.groups(), zc.data());
    g.zcorr.upload(zc);
  }
  return g;
}

struct GpuLayerNorm {
  DevBuf gamma, beta;
  float eps = 1e-12f;
};

GpuLayerNorm upload_ln(const LayerNorm& ln) {
  GpuLayerNorm g;
  g.gamma.upload(ln.gamma.data<float>(), size_t(ln.gamma.numel()) * 4);
  g.beta.upload(ln.beta.data<float>(), size_t(ln.beta.numel()) * 4);
  g.eps = float(ln.eps);
  return g;
}

// One GEMM of a layer in each mode it was uploaded in (the recipe's first).
struct GpuGemm {
  std::vector<GpuLinear> modes;
  const GpuLinear& in(GemmMode m) const {
    for (const GpuLinear& g : modes)
      if (g.mode == m) return g;
    return modes.front();  // the recipe's mode (a mix never asks for one that was not uploaded)
  }
};

struct GpuLayer {
  GpuGemm gemm[kGemmsPerLayer];  // q1 .. q4
  GpuLayerNorm attn_ln, ffn_ln;
};

DevBuf upload_tensor(const Tensor& t) {
  DevBuf b;
  b.upload(t.data<float>(), size_t(t.numel()) * 4);
  return b;
}

constexpr int64_t kLenBucket = 64;  // attention grids are sized by the length rounded up to this

}  // namespace

namespace {
std::string modes_str(const std::vector<GemmMode>& modes) {
  std::string s;
  for (GemmMode a : modes) s += (s.empty() ? "" : ", ") + std::string(gemm_mode_name(a));
  return s;
}
}  // namespace

std::string mix_name(const GemmMix& m) {
  std::string s;
  for (int g = 0; g < kGemmsPerLayer; ++g) s += (g ? "/" : "") + std::string(gemm_mode_name(m[size_t(g)]));
  return s;
}

std::vector<GemmMode> gpu_modes(const Linear& l) {
  using M = GemmMode;
  switch (l.quant.mode) {
    case M::Fp32:
    case M::Fp16:
      return {M::Fp16};
    case M::W8A8:
      return {M::W8A8, M::Fp16};
    case M::Fp8:
      return {M::Fp8, M::Fp16};
    case M::W4A8:
      return {M::W4A8, M::W8A8, M::Fp16};
    case M::W4A4:
      return {M::W4A4, M::W4A8, M::W8A8, M::Fp16};
  }
  return {M::Fp16};
}

const GemmMix& QbestPlan::lookup(int64_t tokens) const {
  if (entries.empty()) fail("qbest plan: no entries");
  for (const Entry& e : entries)
    if (e.tokens >= tokens) return e.mix;
  return entries.back().mix;
}

Json QbestPlan::to_json() const {
  Json j;
  j["device"] = device;
  j["entries"] = Json::array();
  for (const Entry& e : entries) {
    Json m = Json::array();
    for (GemmMode g : e.mix) m.push_back(gemm_mode_name(g));
    j["entries"].push_back({{"tokens", e.tokens}, {"mix", m}});
  }
  return j;
}

QbestPlan QbestPlan::from_json(const Json& j, const std::string& where) {
  QbestPlan p;
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
    fail(where, ": a qbest plan needs an \"entries\" array");
  p.device = optional_string(j, "device", where).value_or("");
  for (const Json& e : j["entries"]) {
    if (!e.is_object()) fail(where, ": each entry must be an object");
    Entry en;
    en.tokens = required_int(e, "tokens", where);
    if (en.tokens < 1) fail(where, ": entry tokens must be >= 1, got ", en.tokens);
    if (!e.contains("mix") || !e["mix"].is_array() || e["mix"].size() != kGemmsPerLayer)
      fail(where, ": entry for ", en.tokens, " tokens needs \"mix\": four modes (q1..q4)");
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      if (!e["mix"][size_t(g)].is_string()) fail(where, ": mix modes must be strings");
      en.mix[size_t(g)] = parse_gemm_mode(e["mix"][size_t(g)].get<std::string>());
    }
    p.entries.push_back(en);
  }
  if (p.entries.empty()) fail(where, ": the plan has no entries");
  std::sort(p.entries.begin(), p.entries.end(),
            [](const Entry& a, const Entry& b) { return a.tokens < b.tokens; });
  return p;
}

bool gpu_encoder_available(std::string* why) {
  const auto devs = cuda::devices();
  if (devs.empty()) {
    if (why) *why = "no CUDA GPU is visible";
    return false;
  }
  if (devs[0].sm_major != 9) {
    if (why)
      *why = "the GPU encoder needs an sm_90 (Hopper) GPU; device 0 is " + devs[0].name + " (sm_" +
             std::to_string(devs[0].sm_major) + std::to_string(devs[0].sm_minor) + ")";
    return false;
  }
  return true;
}

std::string gpu_device_name(int device) { return cuda::devices().at(size_t(device)).name; }

struct GpuEncoder::Impl {
  EncoderConfig cfg;
  int64_t h = 0, inter = 0;
  cudaStream_t stream = nullptr;
  std::string device_name;
  bool graphs = true;
  std::optional<QbestPlan> plan;
  std::optional<GemmMix> forced;   // force_mix
  std::optional<GemmMix> cur_mix;  // the mix of the pass being enqueued (nullopt: recipe)

  DevBuf word, pos, type;
  DevBuf rel_bias;  // [heads, 2 · rel_span - 1] · log2(e) (MPNet), else empty
  int64_t rel_span = 0;
  GpuLayerNorm emb_ln;
  std::vector<GpuLayer> layers;
  int64_t weights_bytes = 0;

  // Activations, for `cap` tokens and `cap_batch` sequences. [tokens, width] row-major.
  int64_t cap = 0, cap_batch = 0;
  DevBuf emb;                   // float [T, H]
  DevBuf x, mid, proj, ctx;     // half [T, H]: residual stream, after attention, GEMM out, ctx
  DevBuf qkv;                   // half [T, 3H]
  DevBuf inter_buf;             // half [T, I]
  DevBuf codes, scales, zeros;  // the quantized GEMM input: [T, row bytes], [T], [T]
  DevBuf workspace;             // split-K
  size_t workspace_bytes = 0;
  DevBuf in_dev;  // int32: ids [T], positions [T], type ids [T], cu [B + 1]
  HostBuf in_host;
  DevBuf pooled;  // float [B, H]
  HostBuf pooled_host;
  DevBuf status;  // one word per quantization point (layer, gemm) + embedding
  HostBuf status_host;
  DevBuf hidden_f32;  // float [T, H] (hidden_states only)
  // The classification head (labels == 0: none): weights, and per batch the pooler's output and
  // the logits (device and pinned host).
  int64_t labels = 0;
  DevBuf head_pw, head_pb, head_w, head_b, head_pooled, logits;
  HostBuf logits_host;
  int64_t activation_bytes = 0;

  struct Shape {
    int64_t tokens, batch, len_bucket;
    bool mean, normalize;
    bool classify = false;  // the head's logits instead of pooled embeddings
    auto key() const { return std::make_tuple(tokens, batch, len_bucket, mean, normalize, classify); }
    bool operator<(const Shape& o) const { return key() < o.key(); }
  };
  struct Graph {
    int runs = 0;
    cudaGraphExec_t exec = nullptr;
  };
  std::map<Shape, Graph> graph_cache;
  int64_t captured = 0;
  // Profiling (eager runs only): an event after each stage, named.
  bool profiling = false;
  std::vector<std::pair<std::string, cudaEvent_t>> marks;
  void mark(const char* stage) {
    if (!profiling) return;
    cudaEvent_t e = nullptr;
    LOWBIT_CUDA_CHECK(cudaEventCreate(&e));
    LOWBIT_CUDA_CHECK(cudaEventRecord(e, stream));
    marks.emplace_back(stage, e);
  }

  Impl(const Encoder& model, const GpuEncoderOptions& opts);
  ~Impl();
  void drop_graphs();
  void ensure_capacity(int64_t tokens, int64_t batch);
  int64_t status_words() const { return int64_t(layers.size()) * kGemmsPerLayer + 1; }
  void stage_inputs(const RaggedBatch& b);
  // Room for `b`, its inputs staged, and its shape key (the longest length rounded up to
  // kLenBucket when `bucket`, so that graphs are shared).
  Shape prepare(const RaggedBatch& b, bool mean, bool normalize, bool bucket) {
    ensure_capacity(b.tokens(), b.size());
    stage_inputs(b);
    int64_t max_len = 0;
    for (size_t i = 0; i + 1 < b.cu_seqlens.size(); ++i)
      max_len = std::max<int64_t>(max_len, b.cu_seqlens[i + 1] - b.cu_seqlens[i]);
    if (bucket) max_len = (max_len + kLenBucket - 1) / kLenBucket * kLenBucket;
    return {b.tokens(), b.size(), max_len, mean, normalize};
  }
  // Enqueues the whole forward pass for a staged batch on `stream`.
  void enqueue(const Shape& s, bool pool);
  // Runs shape `s` (staged): eagerly the first time, captured into a graph the second, replayed
  // after; then waits and checks the status words.
  void run(const Shape& s);
  // The GEMM of `l` on `tokens` rows: its input is the quantized rows in codes / scales / zeros,
  // or (FP16) `f16_in`.
  cuda::IntGemmParams gemm_params(const GpuLinear& l, const void* f16_in, int64_t tokens, void* out,
                                  bool gelu, const void* residual) const;
  void gemm(const GpuLinear& l, const void* f16_in, int64_t tokens, void* out, bool gelu,
            const void* residual) {
    cuda::int_gemm(gemm_params(l, f16_in, tokens, out, gelu, residual));
  }
  void quantize_input(const GpuLinear& l, const void* f16_in, int64_t tokens, int point);
  void layer_norm(const GpuLayerNorm& ln, cuda::RowInput in_type, const void* in, int64_t tokens,
                  void* out, const GpuLinear* next, int point);
  void check_status();
  std::string point_name(int point) const;
  std::optional<GemmMix> mix_for(int64_t tokens) const {
    if (forced) return forced;
    if (plan) return plan->lookup(tokens);
    return std::nullopt;
  }
  // GEMM g of layer i as the current pass runs it.
  const GpuLinear& lin(size_t i, int g) const {
    const GpuGemm& m = layers[i].gemm[g];
    return cur_mix ? m.in((*cur_mix)[size_t(g)]) : m.modes.front();
  }
};

GpuEncoder::Impl::Impl(const Encoder& model, const GpuEncoderOptions& opts)
    : cfg(model.config()), graphs(opts.graphs), plan(opts.plan) {
  std::string why;
  if (!gpu_encoder_available(&why)) fail("GPU encoder: ", why);
  if (cfg.activation != Activation::GeluErf)
    fail("GPU encoder: the FFN activation must be gelu (erf); this model uses ",
         activation_name(cfg.activation));
  h = cfg.hidden_size;
  inter = cfg.intermediate_size;
  if (h % 128 != 0 || inter % 128 != 0 || h > 4096)
    fail("GPU encoder: hidden_size ", h, " and intermediate_size ", inter,
         " must be multiples of 128 (the GEMMs' K tile), hidden_size at most 4096");
  const int64_t hd = cfg.head_dim();
  if (hd != 32 && hd != 64 && hd != 128)
    fail("GPU encoder: head dim ", hd, " (hidden ", h, " / ", cfg.num_heads,
         " heads) must be 32, 64 or 128");
  LOWBIT_CUDA_CHECK(cudaSetDevice(opts.device));
  device_name = cuda::devices().at(size_t(opts.device)).name;
  LOWBIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  word = upload_tensor(model.word_embeddings());
  pos = upload_tensor(model.position_embeddings());
  if (model.relative_bias().defined()) {  // MPNet: the kernel adds it in the exp2 domain
    Tensor b = Tensor::empty(model.relative_bias().shape());
    for (int64_t i = 0; i < b.numel(); ++i)
      b.data<float>()[i] = float(double(model.relative_bias().data<float>()[i]) * 1.4426950408889634);
    rel_bias = upload_tensor(b);
    rel_span = cfg.max_position_embeddings;
  }
  // A model without token types runs with one zero row (x + 0.0f is x).
  type = model.type_embeddings().defined() ? upload_tensor(model.type_embeddings())
                                           : upload_tensor(Tensor::zeros({1, cfg.hidden_size}));
  emb_ln = upload_ln(model.embedding_layer_norm());
  if (const ClassifierHead* hd = model.head()) {
    labels = hd->labels();
    if (hd->act != Activation::Tanh)
      fail("GPU encoder: the classification head's activation must be tanh; this model's is ",
           activation_name(hd->act));
    head_pw = upload_tensor(hd->dense_w);
    head_pb = upload_tensor(hd->dense_b);
    head_w = upload_tensor(hd->w);
    head_b = upload_tensor(hd->b);
    weights_bytes += int64_t(head_pw.bytes() + head_pb.bytes() + head_w.bytes() + head_b.bytes());
  }
  weights_bytes = int64_t(word.bytes() + pos.bytes() + type.bytes()) + 2 * h * 4;
  const size_t n_layers =
      opts.max_layers > 0 ? std::min(model.layers().size(), size_t(opts.max_layers))
                          : model.layers().size();
  for (size_t li = 0; li < n_layers; ++li) {
    const EncoderLayer& l = model.layers()[li];
    GpuLayer g;
    for (int i = 0; i < kGemmsPerLayer; ++i) {
      const Linear& lin = l.gemm(i);
      const std::vector<GemmMode> allowed = gpu_modes(lin);
      std::vector<GemmMode> want = {allowed.front()};
      if (opts.all_modes) want = allowed;
      if (plan)
        for (const QbestPlan::Entry& e : plan->entries) {
          const GemmMode m = e.mix[size_t(i)];
          if (std::find(allowed.begin(), allowed.end(), m) == allowed.end())
            fail("qbest plan: ", gemm_name(i), " cannot run in ", gemm_mode_name(m), ": ", lin.name,
                 " is stored as ", gemm_mode_name(lin.quant.mode), " (it can run in ",
                 modes_str(allowed), ")");
          if (std::find(want.begin(), want.end(), m) == want.end()) want.push_back(m);
        }
      for (GemmMode m : want) {
        g.gemm[i].modes.push_back(upload_linear(lin, m));
        const GpuLinear& q = g.gemm[i].modes.back();
        weights_bytes += int64_t(q.w.bytes() + q.sw.bytes() + q.zcorr.bytes() + q.bias.bytes());
      }
    }
    g.attn_ln = upload_ln(l.attn_ln);
    g.ffn_ln = upload_ln(l.ffn_ln);
    weights_bytes += 4 * h * 4;
    layers.push_back(std::move(g));
  }
  LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
}

GpuEncoder::Impl::~Impl() {
  drop_graphs();
  if (stream) cudaStreamDestroy(stream);
}

void GpuEncoder::Impl::drop_graphs() {
  for (auto& [s, g] : graph_cache)
    if (g.exec) cudaGraphExecDestroy(g.exec);
  graph_cache.clear();
}

void GpuEncoder::Impl::ensure_capacity(int64_t tokens, int64_t batch) {
  if (tokens <= cap && batch <= cap_batch) return;
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  drop_graphs();  // they hold the old pointers
  cap = std::max(cap, (tokens + 255) / 256 * 256);
  cap_batch = std::max(cap_batch, (batch + 63) / 64 * 64);
  const size_t t = size_t(cap);
  activation_bytes = 0;
  auto alloc = [&](DevBuf& b, size_t bytes) {
    b.alloc(bytes);
    activation_bytes += int64_t(bytes);
  };
  alloc(emb, t * size_t(h) * 4);
  alloc(x, t * size_t(h) * 2);
  alloc(mid, t * size_t(h) * 2);
  alloc(proj, t * size_t(h) * 2);
  alloc(ctx, t * size_t(h) * 2);
  alloc(qkv, t * size_t(3 * h) * 2);
  alloc(inter_buf, t * size_t(inter) * 2);
  alloc(codes, t * size_t(std::max(h, inter)));  // int8 rows at most (int4: half)
  alloc(scales, t * 4);
  alloc(zeros, t * 4);
  // Split-K workspace: the largest any GEMM asks for at any token count up to the capacity
  // (the plan, and so the workspace, is not monotonic in M; split-K only pays for small M, so
  // every M up to 4096 is asked, then the capacity itself). Once per distinct GEMM shape.
  size_t ws = 0;
  std::set<std::tuple<int, int, int64_t, int64_t, int64_t>> seen;
  for (const GpuLayer& l : layers)
    for (const GpuGemm& gm : l.gemm)
      for (const GpuLinear& g : gm.modes) {
      if (!seen.insert({int(g.a_layout), int(g.b_layout), g.out, g.in, g.group_size}).second)
        continue;
      // The buffers are allocated above; only the sizes decide the plan.
      cuda::IntGemmParams p = gemm_params(g, x.as(), 1, proj.as(), false, nullptr);
      for (int64_t m = 1; m <= std::min<int64_t>(cap, 4096); ++m) {
        p.m = m;
        ws = std::max(ws, cuda::int_gemm_workspace_bytes(p));
      }
      p.m = cap;
      ws = std::max(ws, cuda::int_gemm_workspace_bytes(p));
    }
  workspace_bytes = ws;
  alloc(workspace, ws);
  const size_t in_words = 3 * t + size_t(cap_batch) + 1;
  alloc(in_dev, in_words * 4);
  in_host.alloc(in_words * 4);
  alloc(pooled, size_t(cap_batch) * size_t(h) * 4);
  pooled_host.alloc(size_t(cap_batch) * size_t(h) * 4);
  alloc(status, size_t(status_words()) * 8);
  if (labels > 0) {
    alloc(head_pooled, size_t(cap_batch) * size_t(h) * 4);
    alloc(logits, size_t(cap_batch) * size_t(labels) * 4);
    logits_host.alloc(size_t(cap_batch) * size_t(labels) * 4);
  }
  status_host.alloc(size_t(status_words()) * 8);
}

void GpuEncoder::Impl::stage_inputs(const RaggedBatch& b) {
  const size_t t = size_t(b.tokens());
  int32_t* in = in_host.as<int32_t>();
  for (size_t i = 0; i < t; ++i) {
    const int32_t id = b.ids[i], p = b.positions[i], ty = b.type_ids[i];
    if (id < 0 || id >= cfg.vocab_size || p < 0 || p >= cfg.max_position_embeddings || ty < 0 ||
        ty >= std::max<int64_t>(cfg.type_vocab_size, 1))
      fail("GPU encoder: token ", i, " has id ", id, ", position ", p, ", type ", ty,
           " outside the model's tables (", cfg.vocab_size, ", ", cfg.max_position_embeddings, ", ",
           cfg.type_vocab_size, ")");
  }
  std::memcpy(in, b.ids.data(), t * 4);
  std::memcpy(in + cap, b.positions.data(), t * 4);
  std::memcpy(in + 2 * cap, b.type_ids.data(), t * 4);
  std::memcpy(in + 3 * cap, b.cu_seqlens.data(), b.cu_seqlens.size() * 4);
}

std::string GpuEncoder::Impl::point_name(int point) const {
  if (point == 0) return "the input of encoder.layer.0.q1 (embedding LayerNorm)";
  const int l = (point - 1) / kGemmsPerLayer, g = (point - 1) % kGemmsPerLayer;
  return "the input of " + layers[size_t(l)].gemm[g].modes.front().name;
}

cuda::IntGemmParams GpuEncoder::Impl::gemm_params(const GpuLinear& l, const void* f16_in,
                                                  int64_t tokens, void* out, bool gelu,
                                                  const void* residual) const {
  cuda::IntGemmParams p;
  p.a_layout = l.a_layout;
  p.b_layout = l.b_layout;
  p.b_sm90 = l.b_sm90;
  p.b = l.w.as();
  p.m = tokens;
  p.n = l.out;
  p.k = l.in;
  p.group_size = l.group_size;
  if (l.quantized()) {
    p.a = codes.as();
    p.sx = scales.as<float>();
    p.sw = l.sw.as<float>();
    if (!l.act.symmetric) {
      p.zx = zeros.as<float>();
      p.zcorr = l.zcorr.as<float>();
    }
  } else {
    p.a = f16_in;
  }
  p.bias = l.bias.as<float>();
  p.gelu = gelu;
  p.residual = residual;
  p.out_type = cuda::GemmOut::F16;
  p.out = out;
  p.workspace = workspace.as();
  p.workspace_bytes = workspace_bytes;
  p.stream = stream;
  return p;
}

void GpuEncoder::Impl::quantize_input(const GpuLinear& l, const void* f16_in, int64_t tokens,
                                      int point) {
  if (!l.quantized()) return;
  cuda::QuantizeRowsParams q;
  q.scheme = l.act;
  q.in_type = cuda::RowInput::F16;
  q.x = f16_in;
  q.rows = tokens;
  q.cols = l.in;
  q.codes = codes.as<uint8_t>();
  q.scales = scales.as<float>();
  q.zeros = l.act.symmetric ? nullptr : zeros.as<float>();
  q.status = status.as<unsigned long long>() + point;
  q.status_preset = true;  // enqueue() resets every status word at once
  q.stream = stream;
  cuda::quantize_rows_cuda(q);
}

void GpuEncoder::Impl::layer_norm(const GpuLayerNorm& ln, cuda::RowInput in_type, const void* in,
                                  int64_t tokens, void* out, const GpuLinear* next, int point) {
  cuda::LayerNormQuantParams p;
  p.in_type = in_type;
  p.x = in;
  p.rows = tokens;
  p.n = h;
  p.gamma = ln.gamma.as<float>();
  p.beta = ln.beta.as<float>();
  p.eps = ln.eps;
  p.out_type = cuda::RowInput::F16;
  p.out = out;
  if (next && next->quantized()) {
    p.scheme = next->act;
    p.codes = codes.as<uint8_t>();
    p.scales = scales.as<float>();
    p.zeros = next->act.symmetric ? nullptr : zeros.as<float>();
    p.status = status.as<unsigned long long>() + point;
    p.status_preset = true;
  }
  p.stream = stream;
  cuda::layernorm_quantize_cuda(p);
}

void GpuEncoder::Impl::enqueue(const Shape& s, bool pool) {
  const int64_t t = s.tokens;
  const int32_t* in = in_dev.as<int32_t>();
  LOWBIT_CUDA_CHECK(cudaMemcpyAsync(in_dev.as(), in_host.as(), size_t(3 * cap + s.batch + 1) * 4,
                                    cudaMemcpyHostToDevice, stream));
  LOWBIT_CUDA_CHECK(cudaMemsetAsync(status.as(), 0xFF, size_t(status_words()) * 8, stream));
  const int32_t* cu = in + 3 * cap;
  mark("inputs in");
  cuda::embed_sum_cuda(in, in + cap, in + 2 * cap, word.as<float>(), pos.as<float>(),
                       type.as<float>(), emb.as<float>(), t, h, stream);
  cur_mix = mix_for(t);
  layer_norm(emb_ln, cuda::RowInput::F32, emb.as(), t, x.as(), &lin(0, 0), 0);
  mark("embeddings + LayerNorm");
  for (size_t i = 0; i < layers.size(); ++i) {
    const GpuLayer& l = layers[i];
    const int pt = 1 + int(i) * kGemmsPerLayer;  // status word of q1's input
    gemm(lin(i, 0), x.as(), t, qkv.as(), false, nullptr);
    mark("q1 GEMM (QKV)");
    cuda::FlashAttentionParams fa;
    fa.qkv = qkv.as();
    fa.cu_seqlens = cu;
    fa.batch = s.batch;
    fa.max_seqlen = s.len_bucket;
    fa.heads = cfg.num_heads;
    fa.head_dim = cfg.head_dim();
    fa.out = ctx.as();
    fa.rel_bias_log2 = rel_bias.as<float>();
    fa.rel_span = rel_span;
    fa.stream = stream;
    cuda::flash_attention(fa);
    mark("attention");
    quantize_input(lin(i, 1), ctx.as(), t, pt + 1);
    mark("quantize q2 input");
    gemm(lin(i, 1), ctx.as(), t, proj.as(), false, x.as());  // + residual x
    mark("q2 GEMM (attention out)");
    layer_norm(l.attn_ln, cuda::RowInput::F16, proj.as(), t, mid.as(), &lin(i, 2), pt + 2);
    mark("LayerNorm (+ quantize)");
    gemm(lin(i, 2), mid.as(), t, inter_buf.as(), true, nullptr);  // bias + GELU
    mark("q3 GEMM (FFN in, GELU)");
    quantize_input(lin(i, 3), inter_buf.as(), t, pt + 3);
    mark("quantize q4 input");
    gemm(lin(i, 3), inter_buf.as(), t, proj.as(), false, mid.as());  // + residual mid
    mark("q4 GEMM (FFN out)");
    const GpuLinear* next = i + 1 < layers.size() ? &lin(i + 1, 0) : nullptr;
    layer_norm(l.ffn_ln, cuda::RowInput::F16, proj.as(), t, x.as(), next, pt + 4);
    mark("LayerNorm (+ quantize)");
  }
  LOWBIT_CUDA_CHECK(cudaMemcpyAsync(status_host.as(), status.as(), size_t(status_words()) * 8,
                                    cudaMemcpyDeviceToHost, stream));
  if (!pool) return;
  if (s.classify) {
    cuda::classify_head_cuda(x.as(), cu, s.batch, h, head_pw.as<float>(), head_pb.as<float>(),
                             head_w.as<float>(), head_b.as<float>(), labels,
                             head_pooled.as<float>(), logits.as<float>(), stream);
    LOWBIT_CUDA_CHECK(cudaMemcpyAsync(logits_host.as(), logits.as(),
                                      size_t(s.batch * labels) * 4, cudaMemcpyDeviceToHost,
                                      stream));
    mark("classifier head + copy out");
    return;
  }
  cuda::pool_cuda(x.as(), cu, s.batch, h, s.mean, s.normalize, pooled.as<float>(), stream);
  LOWBIT_CUDA_CHECK(cudaMemcpyAsync(pooled_host.as(), pooled.as(), size_t(s.batch * h) * 4,
                                    cudaMemcpyDeviceToHost, stream));
  mark("pooling + copy out");
}

void GpuEncoder::Impl::check_status() {
  const auto* st = status_host.as<unsigned long long>();
  for (int i = 0; i < int(status_words()); ++i) {
    if (st[i] == ~0ull) continue;
    const QuantScheme& s =
        i == 0 ? lin(0, 0).act : lin(size_t((i - 1) / kGemmsPerLayer), (i - 1) % kGemmsPerLayer).act;
    cuda::check_quantize_status(st[i], s, point_name(i));
  }
}

GpuEncoder::GpuEncoder(const Encoder& model, const GpuEncoderOptions& opts)
    : impl_(std::make_unique<Impl>(model, opts)) {}
GpuEncoder::~GpuEncoder() = default;

void GpuEncoder::reserve(int64_t tokens, int64_t batch) { impl_->ensure_capacity(tokens, batch); }

void GpuEncoder::Impl::run(const Shape& s) {
  Graph& g = graph_cache[s];
  if (g.exec) {
    LOWBIT_CUDA_CHECK(cudaGraphLaunch(g.exec, stream));
  } else if (graphs && g.runs >= 1) {
    // Second sight of this shape: capture (the first, eager run has set every kernel attribute).
    cudaGraph_t graph = nullptr;
    LOWBIT_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      enqueue(s, true);
    } catch (...) {
      cudaStreamEndCapture(stream, &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    LOWBIT_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    const cudaError_t e = cudaGraphInstantiate(&g.exec, graph, 0);
    cudaGraphDestroy(graph);
    LOWBIT_CUDA_CHECK(e);
    ++captured;
    LOWBIT_CUDA_CHECK(cudaGraphLaunch(g.exec, stream));
  } else {
    enqueue(s, true);
  }
  ++g.runs;
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  check_status();
}

void GpuEncoder::embed(const RaggedBatch& batch, bool mean_pooling, bool normalize, float* pooled) {
  Impl& m = *impl_;
  if (batch.size() <= 0) return;
  m.run(m.prepare(batch, mean_pooling, normalize, true));
  std::memcpy(pooled, m.pooled_host.as(), size_t(batch.size() * m.h) * 4);
}

void GpuEncoder::classify(const RaggedBatch& batch, float* logits) {
  Impl& m = *impl_;
  if (m.labels == 0) fail("GPU encoder: this model has no classification head");
  if (batch.size() <= 0) return;
  Impl::Shape s = m.prepare(batch, false, false, true);
  s.classify = true;
  m.run(s);
  std::memcpy(logits, m.logits_host.as(), size_t(batch.size() * m.labels) * 4);
}

std::vector<float> GpuEncoder::hidden_states(const RaggedBatch& batch) {
  Impl& m = *impl_;
  if (batch.size() <= 0) return {};
  const Impl::Shape s = m.prepare(batch, false, false, false);
  m.enqueue(s, false);
  if (m.hidden_f32.bytes() < size_t(m.cap * m.h) * 4) m.hidden_f32.alloc(size_t(m.cap * m.h) * 4);
  cuda::half_to_float_cuda(m.x.as(), m.hidden_f32.as<float>(), batch.tokens() * m.h, m.stream);
  std::vector<float> out(size_t(batch.tokens() * m.h));
  LOWBIT_CUDA_CHECK(cudaMemcpyAsync(out.data(), m.hidden_f32.as(), out.size() * 4,
                                    cudaMemcpyDeviceToHost, m.stream));
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  m.check_status();
  return out;
}

std::vector<std::pair<std::string, double>> GpuEncoder::profile(const RaggedBatch& batch,
                                                                bool mean_pooling, bool normalize) {
  Impl& m = *impl_;
  if (batch.size() <= 0) return {};
  const Impl::Shape s = m.prepare(batch, mean_pooling, normalize, true);
  m.enqueue(s, true);  // warm (kernel attributes, caches)
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  m.profiling = true;
  m.marks.clear();
  cudaEvent_t start = nullptr;
  LOWBIT_CUDA_CHECK(cudaEventCreate(&start));
  LOWBIT_CUDA_CHECK(cudaEventRecord(start, m.stream));
  try {
    m.enqueue(s, true);
  } catch (...) {
    m.profiling = false;
    throw;
  }
  m.profiling = false;
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  std::vector<std::pair<std::string, double>> out;  // stage -> ms, in first-seen order
  cudaEvent_t prev = start;
  for (const auto& [name, e] : m.marks) {
    float ms = 0;
    LOWBIT_CUDA_CHECK(cudaEventElapsedTime(&ms, prev, e));
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == name; });
    if (it == out.end())
      out.emplace_back(name, double(ms));
    else
      it->second += double(ms);
    prev = e;
  }
  for (const auto& [name, e] : m.marks) cudaEventDestroy(e);
  m.marks.clear();
  cudaEventDestroy(start);
  return out;
}

std::vector<GemmMode> GpuEncoder::modes(int gemm) const {
  if (gemm < 0 || gemm >= kGemmsPerLayer) fail("GpuEncoder::modes: gemm ", gemm, " is not 0..3");
  std::vector<GemmMode> out;
  for (const GpuLinear& g : impl_->layers.front().gemm[gemm].modes) {
    bool everywhere = true;
    for (const GpuLayer& l : impl_->layers) {
      const auto& ms = l.gemm[gemm].modes;
      everywhere &= std::any_of(ms.begin(), ms.end(), [&](const GpuLinear& x) { return x.mode == g.mode; });
    }
    if (everywhere) out.push_back(g.mode);
  }
  return out;
}

void GpuEncoder::force_mix(const std::optional<GemmMix>& mix) {
  Impl& m = *impl_;
  if (mix)
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      const auto ok = modes(g);
      if (std::find(ok.begin(), ok.end(), (*mix)[size_t(g)]) == ok.end())
        fail("force_mix: ", gemm_name(g), " has no ", gemm_mode_name((*mix)[size_t(g)]),
             " mode uploaded (it has ", modes_str(ok), ")");
    }
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  m.drop_graphs();
  m.forced = mix;
}

std::optional<GemmMix> GpuEncoder::mix_for(int64_t tokens) const { return impl_->mix_for(tokens); }

GpuMemory GpuEncoder::memory() const {
  return {impl_->weights_bytes, impl_->activation_bytes, impl_->cap};
}
std::string GpuEncoder::device_name() const { return impl_->device_name; }
int64_t GpuEncoder::graphs_captured() const { return impl_->captured; }

}  // namespace lowbit
