#include "runtime/session.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "core/device_memory.h"
#include "core/error.h"
#ifdef LOWBIT_WITH_CUDA
#include <cuda_runtime.h>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/encoder/encoder_kernels.h"
#include "backends/cuda/quant/quantize_rows.h"
#endif

namespace lowbit {

bool cuda_available(std::string* why) {
#ifdef LOWBIT_WITH_CUDA
  const auto devs = cuda::devices();
  if (devs.empty()) {
    if (why) *why = "no CUDA GPU is visible";
    return false;
  }
  if (devs[0].sm_major != 9) {
    if (why)
      *why = "the GPU kernels need an sm_90 (Hopper) GPU; device 0 is " + devs[0].name + " (sm_" +
             std::to_string(devs[0].sm_major) + std::to_string(devs[0].sm_minor) + ")";
    return false;
  }
  return true;
#else
  if (why) *why = "this build of lowbit has no CUDA backend";
  return false;
#endif
}

std::string cuda_device_name(int device) {
#ifdef LOWBIT_WITH_CUDA
  return cuda::devices().at(size_t(device)).name;
#else
  (void)device;
  fail("this build of lowbit has no CUDA backend");
#endif
}

namespace {
[[maybe_unused]] constexpr int64_t kLenBucket = 64;  // attention grids are sized by the length rounded up to this

// What a pass ends with.
enum class Output { Hidden, Pooled, Logits };

[[maybe_unused]] int64_t longest(const RaggedBatch& b) {
  int64_t m = 0;
  for (size_t i = 0; i + 1 < b.cu_seqlens.size(); ++i)
    m = std::max<int64_t>(m, b.cu_seqlens[i + 1] - b.cu_seqlens[i]);
  return m;
}
}  // namespace

struct Session::Impl {
  SessionOptions opts;
  const Encoder* host = nullptr;  // the CPU session's model
  Encoder dev;                    // the GPU session's copy
  const Encoder& model() const { return host ? *host : dev; }
  std::optional<GemmMix> forced;
  std::string name = "cpu";
  int64_t max_tokens = 0;

  std::optional<GemmMix> mix_for(int64_t tokens) const {
    if (forced) return forced;
    if (opts.plan) return opts.plan->lookup(tokens);
    return std::nullopt;
  }

#ifdef LOWBIT_WITH_CUDA
  cudaStream_t stream = nullptr;
  std::unique_ptr<Arena> arena;
  Tensor status;  // U64 words on the device
  std::shared_ptr<void> status_host, in_host, out_host;
  size_t in_bytes = 0, out_bytes = 0;
  struct Shape {
    int64_t tokens, batch, len_bucket;
    Output out;
    bool mean, normalize;
    auto key() const { return std::make_tuple(tokens, batch, len_bucket, int(out), mean, normalize); }
    bool operator<(const Shape& o) const { return key() < o.key(); }
  };
  struct Graph {
    int runs = 0;
    cudaGraphExec_t exec = nullptr;
    std::vector<Exec::StatusPoint> points;
  };
  std::map<Shape, Graph> graphs;
  int64_t captured = 0;
  std::vector<std::pair<std::string, cudaEvent_t>>* marks = nullptr;  // profiling
  Tensor result;  // the device tensor an eager Hidden pass leaves (F16 [T, H])

  void init_cuda();
  ~Impl();
  void drop_graphs();
  void grow_pinned(std::shared_ptr<void>& buf, size_t& have, size_t need);
  Shape stage(const RaggedBatch& b, Output out, bool mean, bool normalize, bool bucket);
  std::vector<Exec::StatusPoint> enqueue(const Shape& s, const RaggedBatch& b);
  void run(const Shape& s, const RaggedBatch& b);
  void check_status(const std::vector<Exec::StatusPoint>& points) const;
#endif
};

#ifdef LOWBIT_WITH_CUDA
void Session::Impl::init_cuda() {
  std::string why;
  if (!cuda_available(&why)) fail("device ", opts.device.str(), ": ", why);
  LOWBIT_CUDA_CHECK(cudaSetDevice(opts.device.index));
  name = cuda::devices().at(size_t(opts.device.index)).name;
  LOWBIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  arena = std::make_unique<Arena>(opts.device);
  const int64_t words = int64_t(dev.layers().size()) * kGemmsPerLayer + 1;
  status = Tensor::empty({words}, DType::I64, opts.device);
  status_host = pinned_alloc(size_t(words) * 8);
  LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
}

Session::Impl::~Impl() {
  if (!host) {
    drop_graphs();
    if (stream) cudaStreamDestroy(stream);
  }
}

void Session::Impl::drop_graphs() {
  for (auto& [s, g] : graphs)
    if (g.exec) cudaGraphExecDestroy(g.exec);
  graphs.clear();
}

void Session::Impl::grow_pinned(std::shared_ptr<void>& buf, size_t& have, size_t need) {
  if (need <= have) return;
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  drop_graphs();  // they copy from / to the old buffer
  have = std::max(need, 2 * have);
  buf = pinned_alloc(have);
}

// Checks the batch against the model's tables, writes ids | positions | types | cu_seqlens
// into the pinned input buffer, and returns the shape key.
Session::Impl::Shape Session::Impl::stage(const RaggedBatch& b, Output out, bool mean,
                                          bool normalize, bool bucket) {
  const EncoderConfig& c = dev.config();
  const size_t t = size_t(b.tokens());
  const int64_t types = std::max<int64_t>(c.type_vocab_size, 1);
  for (size_t i = 0; i < t; ++i) {
    const int32_t id = b.ids[i], p = b.positions[i], ty = b.type_ids[i];
    if (id < 0 || id >= c.vocab_size || p < 0 || p >= c.max_position_embeddings || ty < 0 ||
        ty >= types)
      fail(opts.device.str(), ": token ", i, " has id ", id, ", position ", p, ", type ", ty,
           " outside the model's tables (", c.vocab_size, ", ", c.max_position_embeddings, ", ",
           types, ")");
  }
  const size_t words = 3 * t + b.cu_seqlens.size();
  grow_pinned(in_host, in_bytes, words * 4);
  const size_t out_floats =
      size_t(b.size()) * size_t(std::max<int64_t>(c.hidden_size, c.labels.size()));
  grow_pinned(out_host, out_bytes, out_floats * 4);
  int32_t* in = static_cast<int32_t*>(in_host.get());
  std::memcpy(in, b.ids.data(), t * 4);
  std::memcpy(in + t, b.positions.data(), t * 4);
  std::memcpy(in + 2 * t, b.type_ids.data(), t * 4);
  std::memcpy(in + 3 * t, b.cu_seqlens.data(), b.cu_seqlens.size() * 4);
  max_tokens = std::max(max_tokens, b.tokens());
  int64_t len = longest(b);
  if (bucket) len = (len + kLenBucket - 1) / kLenBucket * kLenBucket;
  return {b.tokens(), b.size(), len, out, mean, normalize};
}

// The whole pass for a staged batch on `stream`; returns its quantization points.
std::vector<Exec::StatusPoint> Session::Impl::enqueue(const Shape& s, const RaggedBatch& rb) {
  Exec ex(opts.device);
  ex.stream = stream;
  ex.arena = arena.get();
  ex.status = reinterpret_cast<unsigned long long*>(status.data<int64_t>());
  ex.status_capacity = status.numel();
  ex.mix = mix_for(s.tokens);
  if (marks)
    ex.mark = [this](const char* stage) {
      cudaEvent_t e = nullptr;
      LOWBIT_CUDA_CHECK(cudaEventCreate(&e));
      LOWBIT_CUDA_CHECK(cudaEventRecord(e, stream));
      marks->emplace_back(stage, e);
    };
  arena->reset();
  const int64_t t = s.tokens;
  Tensor in = arena->take({3 * t + s.batch + 1}, DType::I32);
  copy_memory(in.data<void>(), opts.device, in_host.get(), Device::cpu(), size_t(in.numel()) * 4,
              stream);
  fill_memory(status.data<void>(), opts.device, 0xFF, status.nbytes(), stream);
  ops::BatchInputs b;
  b.ids = in.rows(0, t);
  b.positions = in.rows(t, 2 * t);
  b.type_ids = in.rows(2 * t, 3 * t);
  b.cu_seqlens = in.rows(3 * t, 3 * t + s.batch + 1);
  b.cu_host = rb.cu_seqlens.data();
  b.tokens = t;
  b.batch = s.batch;
  b.max_len = s.len_bucket;
  ex.stage("inputs in");
  Tensor hidden = dev.forward(b, ex);
  copy_memory(status_host.get(), Device::cpu(), status.data<void>(), opts.device, status.nbytes(),
              stream);
  if (s.out == Output::Pooled) {
    Tensor pooled = ex.empty({s.batch, dev.config().hidden_size}, DType::F32);
    ops::pool(hidden, b, s.mean, s.normalize, pooled, ex);
    copy_memory(out_host.get(), Device::cpu(), pooled.data<void>(), opts.device, pooled.nbytes(),
                stream);
    ex.stage("pooling + copy out");
  } else if (s.out == Output::Logits) {
    const Tensor logits = dev.classify(hidden, b, ex);
    copy_memory(out_host.get(), Device::cpu(), logits.data<void>(), opts.device, logits.nbytes(),
                stream);
    ex.stage("classifier head + copy out");
  } else {
    result = hidden;
  }
  return ex.points;
}

void Session::Impl::run(const Shape& s, const RaggedBatch& b) {
  if (arena->consolidate()) drop_graphs();  // the last passes outgrew one slab
  Graph& g = graphs[s];
  if (g.exec) {
    LOWBIT_CUDA_CHECK(cudaGraphLaunch(g.exec, stream));
  } else if (opts.graphs && g.runs >= 1) {
    // Second sight of this shape: capture (the first, eager run has set every kernel attribute
    // and grown the arena).
    cudaGraph_t graph = nullptr;
    LOWBIT_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    arena->set_frozen(true);
    cuda::set_capturing_graph(true);
    try {
      g.points = enqueue(s, b);
    } catch (...) {
      arena->set_frozen(false);
      cuda::set_capturing_graph(false);
      cudaStreamEndCapture(stream, &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    arena->set_frozen(false);
    cuda::set_capturing_graph(false);
    LOWBIT_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    const cudaError_t e = cudaGraphInstantiate(&g.exec, graph, 0);
    cudaGraphDestroy(graph);
    LOWBIT_CUDA_CHECK(e);
    ++captured;
    LOWBIT_CUDA_CHECK(cudaGraphLaunch(g.exec, stream));
  } else {
    g.points = enqueue(s, b);
  }
  ++g.runs;
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  check_status(g.points);
}

void Session::Impl::check_status(const std::vector<Exec::StatusPoint>& points) const {
  const auto* st = static_cast<const unsigned long long*>(status_host.get());
  for (size_t i = 0; i < points.size(); ++i)
    if (st[i] != ~0ull) cuda::check_quantize_status(st[i], points[i].scheme, points[i].name);
}
#endif

Session::Session(const Encoder& model, const SessionOptions& opts)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.opts = opts;
  if (!model.device().is_cpu()) fail("Session: pass the host model (it is on ", model.device().str(), ")");
  if (opts.device.is_cpu()) {
    if (opts.plan) fail("a qbest plan is followed on a GPU only");
    m.host = &model;
    return;
  }
#ifdef LOWBIT_WITH_CUDA
  std::string why;
  if (!cuda_available(&why)) fail("device ", opts.device.str(), ": ", why);
  Encoder::DeviceOptions d;
  d.all_modes = opts.all_modes;
  d.max_layers = opts.max_layers;
  if (opts.plan)
    for (const QbestPlan::Entry& e : opts.plan->entries) d.mixes.push_back(e.mix);
  LOWBIT_CUDA_CHECK(cudaSetDevice(opts.device.index));
  m.dev = model.to(opts.device, d);
  m.init_cuda();
#else
  fail("device ", opts.device.str(), ": this build of lowbit has no CUDA backend");
#endif
}

Session::~Session() = default;

Device Session::device() const { return impl_->opts.device; }

void Session::embed(const RaggedBatch& batch, bool mean_pooling, bool normalize, float* pooled) {
  Impl& m = *impl_;
  if (batch.size() <= 0) return;
  const int64_t h = m.model().config().hidden_size;
  if (m.host) {
    const Tensor hidden = m.host->forward(batch);
    Tensor out = Tensor::view(pooled, {batch.size(), h}, DType::F32, Device::cpu());
    ops::pool(hidden, batch.cu_seqlens, mean_pooling, out);
    if (normalize) ops::l2_normalize(out);
    return;
  }
#ifdef LOWBIT_WITH_CUDA
  m.run(m.stage(batch, Output::Pooled, mean_pooling, normalize, true), batch);
  std::memcpy(pooled, m.out_host.get(), size_t(batch.size() * h) * 4);
#endif
}

void Session::classify(const RaggedBatch& batch, float* logits) {
  Impl& m = *impl_;
  if (!m.model().head()) fail("this model has no classification head");
  if (batch.size() <= 0) return;
  [[maybe_unused]] const int64_t n = m.model().head()->labels();
  if (m.host) {
    const Tensor l = m.host->classify(m.host->forward(batch), batch);
    std::memcpy(logits, l.data<float>(), l.nbytes());
    return;
  }
#ifdef LOWBIT_WITH_CUDA
  m.run(m.stage(batch, Output::Logits, false, false, true), batch);
  std::memcpy(logits, m.out_host.get(), size_t(batch.size() * n) * 4);
#endif
}

std::vector<float> Session::hidden_states(const RaggedBatch& batch) {
  Impl& m = *impl_;
  if (batch.size() <= 0) return {};
  if (m.host) {
    const Tensor h = m.host->forward(batch);
    return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
  }
#ifdef LOWBIT_WITH_CUDA
  const Impl::Shape s = m.stage(batch, Output::Hidden, false, false, false);
  if (m.arena->consolidate()) m.drop_graphs();
  const std::vector<Exec::StatusPoint> points = m.enqueue(s, batch);
  const Tensor& x = m.result;  // F16 [T, H] in the arena
  Tensor f = m.arena->take(x.shape(), DType::F32);
  cuda::half_to_float_cuda(x.data<void>(), f.data<float>(), x.numel(), m.stream);
  std::vector<float> out(size_t(x.numel()));
  copy_memory(out.data(), Device::cpu(), f.data<void>(), m.opts.device, f.nbytes(), m.stream);
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  m.check_status(points);
  return out;
#else
  return {};
#endif
}

void Session::reserve(int64_t tokens, int64_t batch) {
  Impl& m = *impl_;
  if (m.host || tokens < 1 || batch < 1) return;
#ifdef LOWBIT_WITH_CUDA
  // One eager pass of that size grows the arena; the next run consolidates it into one slab.
  const EncoderConfig& c = m.dev.config();
  RaggedBatch b(c);
  const int64_t len = std::clamp<int64_t>(tokens / batch, 1, c.max_position_embeddings - 2);
  for (int64_t i = 0; i < batch; ++i)
    b.add(std::vector<int32_t>(size_t(len), 0), std::vector<int32_t>(size_t(len), 0));
  (void)hidden_states(b);
  if (m.arena->consolidate()) m.drop_graphs();
#endif
}

std::vector<std::pair<std::string, double>> Session::profile(const RaggedBatch& batch,
                                                             bool mean_pooling, bool normalize) {
  Impl& m = *impl_;
  if (m.host || batch.size() <= 0) return {};
#ifdef LOWBIT_WITH_CUDA
  const Impl::Shape s = m.stage(batch, Output::Pooled, mean_pooling, normalize, true);
  m.enqueue(s, batch);  // warm (kernel attributes, caches, the arena)
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  std::vector<std::pair<std::string, cudaEvent_t>> marks;
  cudaEvent_t start = nullptr;
  LOWBIT_CUDA_CHECK(cudaEventCreate(&start));
  LOWBIT_CUDA_CHECK(cudaEventRecord(start, m.stream));
  m.marks = &marks;
  try {
    m.enqueue(s, batch);
  } catch (...) {
    m.marks = nullptr;
    throw;
  }
  m.marks = nullptr;
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  std::vector<std::pair<std::string, double>> out;  // stage -> ms, in first-seen order
  cudaEvent_t prev = start;
  for (const auto& mark : marks) {
    const std::string& name = mark.first;
    const cudaEvent_t e = mark.second;
    float ms = 0;
    LOWBIT_CUDA_CHECK(cudaEventElapsedTime(&ms, prev, e));
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == name; });
    if (it == out.end())
      out.emplace_back(name, double(ms));
    else
      it->second += double(ms);
    prev = e;
  }
  for (const auto& [name, e] : marks) cudaEventDestroy(e);
  cudaEventDestroy(start);
  return out;
#else
  (void)mean_pooling;
  (void)normalize;
  return {};
#endif
}

std::vector<GemmMode> Session::modes(int gemm) const {
  if (gemm < 0 || gemm >= kGemmsPerLayer) fail("Session::modes: gemm ", gemm, " is not 0..3");
  const Impl& m = *impl_;
  const auto& layers = m.model().layers();
  if (m.host) return {layers.front().gemm(gemm).quant.mode};
  std::vector<GemmMode> out;
  for (const DeviceGemm& g : layers.front().gemm(gemm).variants) {
    bool everywhere = true;
    for (const EncoderLayer& l : layers) {
      const auto& vs = l.gemm(gemm).variants;
      everywhere &=
          std::any_of(vs.begin(), vs.end(), [&](const DeviceGemm& x) { return x.mode == g.mode; });
    }
    if (everywhere) out.push_back(g.mode);
  }
  return out;
}

void Session::force_mix(const std::optional<GemmMix>& mix) {
  Impl& m = *impl_;
  if (m.host) fail("force_mix: per-GEMM mixes run on a GPU session");
  if (mix)
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      const auto ok = modes(g);
      if (std::find(ok.begin(), ok.end(), (*mix)[size_t(g)]) == ok.end()) {
        std::string have;
        for (GemmMode a : ok) have += (have.empty() ? "" : ", ") + std::string(gemm_mode_name(a));
        fail("force_mix: ", gemm_name(g), " has no ", gemm_mode_name((*mix)[size_t(g)]),
             " mode uploaded (it has ", have, ")");
      }
    }
#ifdef LOWBIT_WITH_CUDA
  LOWBIT_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  m.drop_graphs();
#endif
  m.forced = mix;
}

std::optional<GemmMix> Session::mix_for(int64_t tokens) const { return impl_->mix_for(tokens); }

SessionMemory Session::memory() const {
  const Impl& m = *impl_;
  SessionMemory r;
  r.token_capacity = m.max_tokens;
#ifdef LOWBIT_WITH_CUDA
  if (!m.host) {
    r.weights_bytes = m.dev.weight_bytes();
    r.activation_bytes = int64_t(m.arena->capacity());
  }
#endif
  return r;
}

std::string Session::device_name() const { return impl_->name; }

int64_t Session::graphs_captured() const {
#ifdef LOWBIT_WITH_CUDA
  return impl_->captured;
#else
  return 0;
#endif
}

}  // namespace lowbit
