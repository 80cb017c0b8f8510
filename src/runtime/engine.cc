// Engine: model folder -> tokenizer + encoder -> a Session on the chosen device -> pooled
// embeddings or logits. Inputs are grouped into ragged batches by a token budget (no padding
// anywhere).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <random>

#include "core/error.h"
#include "io/hash.h"
#include "io/json_util.h"
#include "io/model_dir.h"
#include "lowbit/engine.h"
#include "models/encoder.h"
#include "ops/op.h"
#include "runtime/session.h"

namespace lowbit {

namespace {
// A lowbit model folder has a recipe.json; its weights must hash to what the recipe recorded.
std::optional<Recipe> read_recipe(const ModelDir& dir) {
  const std::string path = (std::filesystem::path(dir.dir) / "recipe.json").string();
  if (!std::filesystem::exists(path)) return std::nullopt;
  Recipe r =
      Recipe::from_json(read_json_file(path), path, dir.config.num_layers, Encoder::gemm_slots());
  const std::string actual = sha256_file(dir.weights_path);
  if (actual != r.weights_sha256)
    fail(dir.weights_path, ": content hash ", actual.substr(0, 16), "... differs from ",
         r.weights_sha256.substr(0, 16), "... recorded in recipe.json (corrupt or modified file)");
  return r;
}

Encoder make_model(const ModelDir& dir, const SafeTensors& weights,
                     const std::optional<Recipe>& recipe) {
  return recipe ? Encoder(dir.config, weights, *recipe) : Encoder(dir.config, weights);
}

// The qbest plan `opts` asks for on the GPU named `gpu_name`; `info` says which (or why none).
std::optional<QbestPlan> load_plan(const ModelDir& dir, const LoadOptions& opts,
                                   const std::string& gpu_name, std::string* info) {
  *info = "off";
  if (opts.qbest == "off") return std::nullopt;
  const bool automatic = opts.qbest == "auto";
  const std::string path =
      automatic ? (std::filesystem::path(dir.dir) / "qbest.json").string() : opts.qbest;
  if (automatic && !std::filesystem::exists(path)) return std::nullopt;
  QbestPlan p = QbestPlan::from_json(read_json_file(path), path);
  if (p.device != gpu_name) {
    if (!automatic)
      fail(path, ": this qbest plan was tuned on ", p.device.empty() ? "an unnamed GPU" : p.device,
           ", not on this ", gpu_name, " (run lowbit tune here)");
    *info = "off (" + path + " was tuned on " + p.device + ")";
    return std::nullopt;
  }
  *info = path + " (" + std::to_string(p.entries.size()) + " shapes, tuned on " + p.device + ")";
  return p;
}

// The Session `opts` asks for: a GPU one when a usable GPU is there (or "cuda" demands it).
std::unique_ptr<Session> make_session(const ModelDir& dir, const Encoder& model,
                                      const LoadOptions& opts, std::string* qbest_info) {
  if (opts.device == "cpu") return std::make_unique<Session>(model);
  std::string why;
  const bool ok = cuda_available(&why);
  if (opts.device == "auto" && !ok) return std::make_unique<Session>(model);
  if (!ok) fail("device cuda: ", why);
  SessionOptions s;
  s.device = Device::cuda(0);
  s.graphs = opts.cuda_graphs;
  s.plan = load_plan(dir, opts, cuda_device_name(0), qbest_info);
  return std::make_unique<Session>(model, s);
}
}  // namespace

struct Engine::Impl {
  ModelDir dir;
  std::optional<Recipe> recipe;
  SafeTensors weights;
  std::unique_ptr<Tokenizer> tokenizer;
  Encoder model;
  ModelInfo info;
  std::string qbest_info = "off";
  std::unique_ptr<Session> session;  // the device that runs the model

  Impl(ModelDir d, const LoadOptions& opts)
      : dir(std::move(d)),
        recipe(read_recipe(dir)),
        weights(SafeTensors::open(dir.weights_path)),
        tokenizer(Tokenizer::from_dir(dir.dir)),
        model(make_model(dir, weights, recipe)) {
    // vocab.txt must match the embedding table exactly; a tokenizer.json may cover fewer rows
    // than the table (checkpoints pad vocab_size), never more.
    const int64_t n = int64_t(tokenizer->vocab_size()), want = dir.config.vocab_size;
    const bool json = std::filesystem::exists(std::filesystem::path(dir.dir) / "tokenizer.json");
    if (json ? n > want : n != want)
      fail(dir.dir, json ? "/tokenizer.json" : "/vocab.txt", ": has ", n,
           " tokens but config.json says vocab_size = ", want);
    if (opts.device != "cpu" && opts.device != "cuda" && opts.device != "auto")
      fail("device '", opts.device, "' must be cpu, cuda or auto");
    session = make_session(dir, model, opts, &qbest_info);
    fill_info();
  }

  void fill_info();
  Embeddings run(std::vector<Encoding> encs, const EmbedOptions& opts) const;
  Classifications classify(std::vector<Encoding> encs, const EmbedOptions& opts) const;
  // Groups `encs` into ragged batches of at most opts.batch_tokens tokens and calls
  // f(batch, out) for each, then copies out's `width` floats per sequence to rows[index of that
  // encoding] (results in input order), reporting progress.
  void for_each_batch(const std::vector<Encoding>& encs, const EmbedOptions& opts, int64_t width,
                      float* rows, const std::function<void(const RaggedBatch&, float*)>& f) const;
  int64_t max_length(const EmbedOptions& opts) const;
};

void Engine::Impl::fill_info() {
  const EncoderConfig& c = dir.config;
  info.dir = dir.dir;
  info.architecture = c.architecture.empty() ? default_architecture(c.model_type) : c.architecture;
  info.model_type = c.model_type;
  info.layers = c.num_layers;
  info.hidden = c.hidden_size;
  info.heads = c.num_heads;
  info.intermediate = c.intermediate_size;
  info.vocab = c.vocab_size;
  info.max_position_embeddings = c.max_position_embeddings;
  info.type_vocab = c.type_vocab_size;
  info.activation = activation_name(c.activation);
  info.parameters = model.parameter_count();
  std::map<std::string, int64_t> dtypes;
  for (const TensorView& t : weights.tensors())
    dtypes[std::string(dtype_name(t.dtype))] += t.numel();
  info.dtypes.assign(dtypes.begin(), dtypes.end());
  info.weights_bytes = int64_t(weights.file_size());
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.dir))
    if (e.is_regular_file()) info.dir_bytes += int64_t(e.file_size());
  info.pooling = pooling_name(dir.pooling);
  info.normalize = dir.normalize;
  info.sentence_transformers = dir.sentence_transformers;
  info.max_length = dir.max_length;
  const auto* wp = dynamic_cast<const WordPieceTokenizer*>(tokenizer.get());
  info.lower_case = wp && wp->options().lower_case;
  info.tokenizer = tokenizer->kind() + (wp ? " (vocab.txt)" : " (tokenizer.json)");
  info.quantization = recipe ? recipe->summary() : "fp32 (not quantized)";
  if (recipe)
    info.source = recipe->source_name + " (sha256 " + recipe->source_sha256.substr(0, 12) + "...)";
  info.device = session->device().is_cpu()
                    ? "cpu"
                    : session->device().str() + " (" + session->device_name() + ")";
  info.qbest = qbest_info;
  if (model.head()) info.labels = model.config().labels;
}

int64_t Engine::Impl::max_length(const EmbedOptions& opts) const {
  if (opts.max_length == 0) return dir.max_length;
  if (opts.max_length < 2 || opts.max_length > dir.config.max_position_embeddings)
    fail("max length ", opts.max_length, " must lie in 2..", dir.config.max_position_embeddings,
         " (the model's max_position_embeddings)");
  return opts.max_length;
}

std::vector<Truncation> truncations(const std::vector<Encoding>& encs) {
  std::vector<Truncation> out;
  for (size_t i = 0; i < encs.size(); ++i)
    if (encs[i].truncated()) out.push_back({i, encs[i].ids.size(), encs[i].untruncated_length});
  return out;
}

void Engine::Impl::for_each_batch(const std::vector<Encoding>& encs, const EmbedOptions& opts,
                                  int64_t width, float* rows,
                                  const std::function<void(const RaggedBatch&, float*)>& f) const {
  if (opts.batch_tokens < 1) fail("batch_tokens must be positive");
  // Offline batching (MLPerf's): longest first, so that each batch holds sequences of about one
  // length and fills its token budget (fewer, fuller passes; the attention's per-sequence tiles
  // and the graphs' length buckets fit). Stable: equal lengths keep their order. Each result is
  // the same whatever else is in its batch on the GPU, and on the CPU within float rounding.
  std::vector<size_t> order(encs.size());
  std::iota(order.begin(), order.end(), size_t(0));
  if (opts.sort_by_length)
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return encs[a].ids.size() > encs[b].ids.size(); });
  std::vector<float> out;
  size_t next = 0;
  while (next < order.size()) {
    RaggedBatch batch(dir.config);
    const size_t first = next;
    while (next < order.size() &&
           (batch.tokens() == 0 ||
            batch.tokens() + int64_t(encs[order[next]].ids.size()) <= opts.batch_tokens)) {
      batch.add(encs[order[next]].ids, encs[order[next]].type_ids);
      ++next;
    }
    out.resize(size_t(int64_t(next - first) * width));
    f(batch, out.data());
    for (size_t i = first; i < next; ++i)
      std::copy_n(out.data() + (i - first) * size_t(width), size_t(width),
                  rows + order[i] * size_t(width));
    if (opts.progress) opts.progress(next, encs.size());
  }
}

Embeddings Engine::Impl::run(std::vector<Encoding> encs, const EmbedOptions& opts) const {
  // (A GPU session keeps buffers and graphs: mutable state behind a const API, used by one
  // thread at a time, as the CPU path is.)
  const Pooling pooling = opts.pooling ? parse_pooling(*opts.pooling) : dir.pooling;
  const bool normalize = opts.normalize.value_or(dir.normalize);
  const int64_t h = dir.config.hidden_size;
  Embeddings out;
  out.rows = int64_t(encs.size());
  out.dim = h;
  out.data.resize(size_t(out.rows * h));
  out.truncated = truncations(encs);
  for_each_batch(encs, opts, h, out.data.data(), [&](const RaggedBatch& batch, float* rows) {
    session->embed(batch, pooling == Pooling::Mean, normalize, rows);
  });
  return out;
}

Classifications Engine::Impl::classify(std::vector<Encoding> encs, const EmbedOptions& opts) const {
  const ClassifierHead* head = model.head();
  if (!head)
    fail(dir.dir, ": this model has no classification head (a BertForSequenceClassification "
         "checkpoint has classifier.weight); use embed");
  Classifications out;
  out.rows = int64_t(encs.size());
  out.labels = model.config().labels;
  const int64_t n = head->labels();
  out.logits.resize(size_t(out.rows * n));
  out.truncated = truncations(encs);
  for_each_batch(encs, opts, n, out.logits.data(),
                 [&](const RaggedBatch& batch, float* rows) { session->classify(batch, rows); });
  return out;
}

int64_t Classifications::predicted(int64_t i) const {
  const float* r = row(i);
  return int64_t(std::max_element(r, r + labels.size()) - r);
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::string& model_dir, const LoadOptions& opts) {
  return std::unique_ptr<Engine>(
      new Engine(std::make_unique<Impl>(open_model_dir(model_dir), opts)));
}

const ModelInfo& Engine::info() const { return impl_->info; }
const Tokenizer& Engine::tokenizer() const { return *impl_->tokenizer; }

namespace {
template <typename F>
auto with_text_index(size_t i, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    fail("text ", i + 1, ": ", e.what());
  }
}
}  // namespace

Embeddings Engine::embed(const std::vector<std::string>& texts, const EmbedOptions& opts) const {
  const size_t max_len = size_t(impl_->max_length(opts));
  std::vector<Encoding> encs(texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    encs[i] = with_text_index(i, [&] { return impl_->tokenizer->encode(texts[i], max_len); });
  return impl_->run(std::move(encs), opts);
}

Embeddings Engine::embed_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                               const EmbedOptions& opts) const {
  const size_t max_len = size_t(impl_->max_length(opts));
  std::vector<Encoding> encs(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    encs[i] = with_text_index(
        i, [&] { return impl_->tokenizer->encode_pair(pairs[i].first, pairs[i].second, max_len); });
  return impl_->run(std::move(encs), opts);
}

Classifications Engine::classify(const std::vector<std::string>& texts,
                                 const EmbedOptions& opts) const {
  const size_t max_len = size_t(impl_->max_length(opts));
  std::vector<Encoding> encs(texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    encs[i] = with_text_index(i, [&] { return impl_->tokenizer->encode(texts[i], max_len); });
  return impl_->classify(std::move(encs), opts);
}

Embeddings Engine::embed_encodings(std::vector<Encoding> encs, const EmbedOptions& opts) const {
  const size_t max_len = size_t(impl_->max_length(opts));
  for (size_t i = 0; i < encs.size(); ++i) {
    const Encoding& e = encs[i];
    if (e.ids.empty() || e.ids.size() != e.type_ids.size() || e.ids.size() > max_len)
      fail("encoding ", i + 1, ": ", e.ids.size(), " ids and ", e.type_ids.size(),
           " type ids (both must have the same length, 1..", max_len, ")");
  }
  return impl_->run(std::move(encs), opts);
}

std::vector<float> Engine::hidden_states(const Encoding& enc) const {
  RaggedBatch batch(impl_->dir.config);
  batch.add(enc.ids, enc.type_ids);
  return impl_->session->hidden_states(batch);
}

std::vector<std::pair<std::string, double>> Engine::profile(
    const std::vector<Encoding>& encs) const {
  RaggedBatch batch(impl_->dir.config);
  for (const Encoding& e : encs) batch.add(e.ids, e.type_ids);
  return impl_->session->profile(batch, impl_->dir.pooling == Pooling::Mean, impl_->dir.normalize);
}

TuneResult Engine::tune(const TuneOptions& o) const {
  std::string why;
  if (!cuda_available(&why)) fail("tune: ", why);
  const EncoderConfig& cfg = impl_->dir.config;
  if (o.shapes.empty()) fail("tune: no shapes to tune");
  for (const auto& [b, n] : o.shapes)
    if (b < 1 || n < 2 || n > cfg.max_position_embeddings)
      fail("tune: shape ", b, "x", n, ": batch must be >= 1 and length in 2..",
           cfg.max_position_embeddings);
  if (o.layers < 0) fail("tune: layers must be >= 0");
  if (o.min_reps < 1 || o.max_reps < o.min_reps) fail("tune: need 1 <= min_reps <= max_reps");
  SessionOptions g;
  g.device = Device::cuda(0);
  g.all_modes = true;
  g.max_layers = o.layers;
  Session enc(impl_->model, g);
  TuneResult r;
  r.device = enc.device_name();
  r.layers = o.layers > 0 ? std::min<int64_t>(o.layers, cfg.num_layers) : cfg.num_layers;
  std::vector<GemmMode> modes[kGemmsPerLayer];
  std::vector<GemmMix> mixes(1);
  for (int q = 0; q < kGemmsPerLayer; ++q) {
    modes[q] = enc.modes(q);
    r.modes.emplace_back();
    for (GemmMode m : modes[q]) r.modes.back().push_back(gemm_mode_name(m));
    std::vector<GemmMix> next;  // the product, recipe modes first
    for (const GemmMix& base : mixes)
      for (GemmMode m : modes[q]) {
        GemmMix x = base;
        x[size_t(q)] = m;
        next.push_back(x);
      }
    mixes = std::move(next);
  }
  const GemmMix recipe = mixes.front();
  int64_t max_tokens = 0, max_batch = 0;
  for (const auto& [b, n] : o.shapes) {
    max_tokens = std::max(max_tokens, b * n);
    max_batch = std::max(max_batch, b);
  }
  enc.reserve(max_tokens, max_batch);
  std::mt19937 rng(0);
  const int64_t lo = cfg.vocab_size > 2000 ? 1000 : 0;  // ordinary word pieces
  std::vector<float> pooled(size_t(max_batch * cfg.hidden_size));
  size_t done = 0;
  std::map<int64_t, std::vector<double>> by_tokens;  // tokens -> summed ms per mix
  for (const auto& [b, n] : o.shapes) {
    RaggedBatch batch(cfg);
    for (int64_t i = 0; i < b; ++i) {
      std::vector<int32_t> ids(static_cast<size_t>(n));
      for (auto& id : ids) id = int32_t(lo + int64_t(rng() % uint64_t(cfg.vocab_size - lo)));
      batch.add(ids, std::vector<int32_t>(size_t(n), 0));
    }
    TuneShape ts;
    ts.batch = b;
    ts.seq = n;
    auto& sums = by_tokens[b * n];
    sums.resize(mixes.size(), 0.0);
    for (size_t k = 0; k < mixes.size(); ++k) {
      enc.force_mix(mixes[k]);
      for (int w = 0; w < 2; ++w) enc.embed(batch, false, false, pooled.data());  // eager, capture
      std::vector<double> ms;
      int reps = o.min_reps;
      for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        enc.embed(batch, false, false, pooled.data());
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                         .count());
        if (i == 0) reps = std::clamp(int(100.0 / std::max(ms[0], 1e-3)), o.min_reps, o.max_reps);
      }
      std::sort(ms.begin(), ms.end());
      const double med = ms[ms.size() / 2];
      ts.mixes.emplace_back(mix_name(mixes[k]), med);
      sums[k] += med;
      if (k == 0 || med < ts.best_ms) {
        ts.best = mix_name(mixes[k]);
        ts.best_ms = med;
      }
      if (o.progress) o.progress(++done, mixes.size() * o.shapes.size());
    }
    ts.recipe = mix_name(recipe);
    ts.recipe_ms = ts.mixes.front().second;
    r.shapes.push_back(std::move(ts));
  }
  // One entry per token count: the mix with the least time summed over its shapes (the GEMMs
  // and producers, which the mix changes, see only the token count).
  QbestPlan plan;
  plan.device = r.device;
  for (const auto& [t, sums] : by_tokens) {
    const size_t k = size_t(std::min_element(sums.begin(), sums.end()) - sums.begin());
    plan.entries.push_back({t, mixes[k]});
  }
  r.plan_json = plan.to_json().dump(2) + "\n";
  return r;
}

DeviceMemory Engine::device_memory() const {
  const SessionMemory m = impl_->session->memory();
  return {m.weights_bytes, m.activation_bytes};
}

}  // namespace lowbit
