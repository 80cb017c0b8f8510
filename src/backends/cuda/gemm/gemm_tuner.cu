// GEMM tuner and the process-wide plan (gemm_tuner.h).
#include "backends/cuda/gemm/gemm_tuner.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <tuple>

#include "backends/cuda/check.h"
#include "backends/cuda/gemm/wgmma_gemm.h"
#include "core/error.h"

namespace lowbit::cuda {

namespace {

using Key = std::tuple<std::string, int64_t, int64_t, int64_t>;  // kernel, n, k, m_bucket

struct PlanState {
  std::mutex mu;
  bool env_checked = false;
  std::string device;
  std::map<Key, GemmChoice> entries;
};
PlanState& state() {
  static PlanState s;
  return s;
}

const char* tile_name(GemmTile t) {
  return t == GemmTile::Large ? "large" : t == GemmTile::Small ? "small" : "auto";
}
GemmTile tile_of(const std::string& s) {
  if (s == "large") return GemmTile::Large;
  if (s == "small") return GemmTile::Small;
  if (s == "auto") return GemmTile::Auto;
  fail("GEMM plan: unknown tile '", s, "'");
}
GemmSchedule schedule_of(const std::string& s) {
  for (GemmSchedule v : {GemmSchedule::Auto, GemmSchedule::Cooperative, GemmSchedule::PingPong})
    if (s == schedule_name(v)) return v;
  fail("GEMM plan: unknown schedule '", s, "' (auto, cooperative, pingpong)");
}

GemmEngine engine_of(const std::string& s) {
  if (s == "wgmma") return GemmEngine::Wgmma;
  if (s == "cutlass") return GemmEngine::Cutlass;
  if (s == "mma.sync") return GemmEngine::MmaSync;
  if (s == "auto") return GemmEngine::Auto;
  fail("GEMM plan: unknown engine '", s, "'");
}

void load_locked(PlanState& st, const std::string& path) {
  std::ifstream f(path);
  if (!f) fail("GEMM plan: cannot read ", path);
  nlohmann::json j;
  try {
    f >> j;
  } catch (const std::exception& e) {
    fail("GEMM plan ", path, ": not JSON: ", e.what());
  }
  std::map<Key, GemmChoice> entries;
  try {
    for (const auto& e : j.at("entries")) {
      GemmChoice c;
      c.engine = engine_of(e.at("engine").get<std::string>());
      c.tile = tile_of(e.at("tile").get<std::string>());
      c.tokens_tile = e.at("tokens_tile").get<int>();
      c.split_k = e.at("split_k").get<int>();
      // Plans written before the ping-pong schedule have no "schedule": auto.
      c.schedule = schedule_of(e.value("schedule", std::string("auto")));
      c.us = e.value("us", 0.0);
      entries[{e.at("kernel").get<std::string>(), e.at("n").get<int64_t>(),
               e.at("k").get<int64_t>(), e.at("m_bucket").get<int64_t>()}] = c;
    }
  } catch (const nlohmann::json::exception& e) {
    fail("GEMM plan ", path, ": ", e.what());
  }
  st.entries = std::move(entries);
  st.device = j.value("device", "");
}

// Random device bytes (E4M3 NaN bytes avoided for FP8).
void* random_device_bytes(size_t n, uint64_t seed, bool no_nan) {
  std::vector<uint8_t> h(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) {
      uint8_t b = uint8_t(v >> (8 * j));
      if (no_nan && (b & 0x7F) == 0x7F) b ^= 1;
      h[i + j] = b;
    }
  }
  void* d = nullptr;
  LOWBIT_CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(n, 16)));
  LOWBIT_CUDA_CHECK(cudaMemcpy(d, h.data(), n, cudaMemcpyHostToDevice));
  return d;
}

}  // namespace

std::string gemm_kernel_name(PackedLayout a, PackedLayout b) {
  const bool a8 = a == PackedLayout::Int8 || a == PackedLayout::UInt8;
  const bool a4 = a == PackedLayout::Int4 || a == PackedLayout::UInt4;
  if (a8 && b == PackedLayout::Int8) return "w8a8";
  if (a8 && b == PackedLayout::Int4) return "w4a8";
  if (a4 && b == PackedLayout::Int4) return "w4a4";
  if (a == PackedLayout::Fp8E4M3 && b == PackedLayout::Fp8E4M3) return "fp8";
  return "";
}

int64_t gemm_m_bucket(int64_t m) {
  int64_t b = 1;
  while (b < m) b *= 2;
  return b;
}

std::string describe(const GemmChoice& c) {
  std::string s = engine_name(c.engine);
  if (c.engine == GemmEngine::Cutlass)
    s += std::string(" ") + schedule_name(c.schedule);
  else if (c.engine == GemmEngine::Wgmma)
    s += " tokens " + (c.tokens_tile ? std::to_string(c.tokens_tile) : std::string("auto")) + " " +
         schedule_name(c.schedule);
  else
    s += std::string(" tile ") + tile_name(c.tile);
  s += " split " + (c.split_k ? std::to_string(c.split_k) : std::string("auto"));
  return s;
}

double graph_time_us(const std::function<void(int)>& call, int calls, int reps,
                     cudaStream_t stream) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  LOWBIT_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
  try {
    for (int i = 0; i < calls; ++i) call(i);
  } catch (...) {
    cudaStreamEndCapture(stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  LOWBIT_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  LOWBIT_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  cudaEvent_t e0, e1;
  LOWBIT_CUDA_CHECK(cudaEventCreate(&e0));
  LOWBIT_CUDA_CHECK(cudaEventCreate(&e1));
  LOWBIT_CUDA_CHECK(cudaGraphLaunch(exec, stream));  // warm-up
  std::vector<float> t;
  for (int r = 0; r < std::max(reps, 3); ++r) {
    LOWBIT_CUDA_CHECK(cudaEventRecord(e0, stream));
    LOWBIT_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    LOWBIT_CUDA_CHECK(cudaEventRecord(e1, stream));
    LOWBIT_CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    LOWBIT_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(ms);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  std::sort(t.begin(), t.end());
  return 1e3 * t[t.size() / 2] / calls;
}

TuneResult tune_gemm(const std::string& kernel, int64_t m, int64_t n, int64_t k, int iters,
                     bool gelu) {
  PackedLayout al, bl;
  if (kernel == "w8a8") {
    al = PackedLayout::Int8, bl = PackedLayout::Int8;
  } else if (kernel == "w4a8") {
    al = PackedLayout::Int8, bl = PackedLayout::Int4;
  } else if (kernel == "w4a4") {
    al = PackedLayout::Int4, bl = PackedLayout::Int4;
  } else if (kernel == "fp8") {
    al = bl = PackedLayout::Fp8E4M3;
  } else {
    fail("tune_gemm: unknown kernel '", kernel, "' (w8a8, w4a8, w4a4, fp8)");
  }
  const bool fp8 = kernel == "fp8";
  const size_t a_bytes = size_t(m * packed_row_bytes_unchecked(al, k));
  const size_t b_bytes = size_t(n * packed_row_bytes_unchecked(bl, k));
  struct Buffers {
    std::vector<void*> ptrs;
    ~Buffers() {
      for (void* p : ptrs) cudaFree(p);
    }
    void* add(void* p) {
      ptrs.push_back(p);
      return p;
    }
  } buf;
  void* a = buf.add(random_device_bytes(a_bytes, 1, fp8));
  void* b = buf.add(random_device_bytes(b_bytes, 2, fp8));
  std::vector<float> ones(size_t(std::max(m, n)), 0.01f);
  void* scales = nullptr;
  LOWBIT_CUDA_CHECK(cudaMalloc(&scales, ones.size() * 4));
  buf.add(scales);
  LOWBIT_CUDA_CHECK(cudaMemcpy(scales, ones.data(), ones.size() * 4, cudaMemcpyHostToDevice));
  void* out = nullptr;
  LOWBIT_CUDA_CHECK(cudaMalloc(&out, size_t(m * n) * 2));
  buf.add(out);

  IntGemmParams base;
  base.a_layout = al;
  base.b_layout = bl;
  base.a = a;
  base.b = b;
  base.m = m;
  base.n = n;
  base.k = k;
  base.sx = base.sw = base.bias = static_cast<const float*>(scales);
  base.out = out;
  base.out_type = GemmOut::F16;
  base.gelu = gelu;

  // First the automatic choice (everything Auto; the plan is bypassed by naming the engine the
  // automatic logic picks).
  std::vector<GemmChoice> cands;
  {
    IntGemmParams p = base;
    p.b_sm90 = bl == PackedLayout::Int4 && sm90::device_supported();
    if (!p.b_sm90 || sm90::can_implement(p).empty()) {
      const IntGemmPlan pl = int_gemm_plan(p);
      cands.push_back(
          {pl.engine, GemmTile::Auto, 0, 0, GemmSchedule::Auto, -1});  // us < 0 marks it
    }
  }
  const bool hopper = sm90::device_supported();
  if (hopper) {
    for (const int tt : {64, 128, 256})
      for (const int sk : {1, 2, 4, 8, 16})
        cands.push_back({GemmEngine::Wgmma, GemmTile::Auto, tt, sk, GemmSchedule::Cooperative, 0});
    for (const int tt : {128, 256})  // ping-pong: the throughput shapes, no split-K
      cands.push_back({GemmEngine::Wgmma, GemmTile::Auto, tt, 1, GemmSchedule::PingPong, 0});
    for (const GemmSchedule s : {GemmSchedule::PingPong, GemmSchedule::Cooperative})
      cands.push_back({GemmEngine::Cutlass, GemmTile::Auto, 0, 1, s, 0});
  }
  for (const GemmTile t : {GemmTile::Large, GemmTile::Small})
    for (const int sk : {1, 2, 4, 8})
      cands.push_back({GemmEngine::MmaSync, t, 0, sk, GemmSchedule::Auto, 0});

  cudaStream_t stream = nullptr;
  LOWBIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  base.stream = stream;
  void* ws = nullptr;
  size_t ws_bytes = 0;
  TuneResult result;
  for (GemmChoice c : cands) {
    IntGemmParams p = base;
    p.engine = c.engine;
    p.tile = c.tile;
    p.tokens_tile = c.tokens_tile;
    p.split_k = c.split_k;
    p.schedule = c.schedule;
    p.b_sm90 = c.engine == GemmEngine::Wgmma && bl == PackedLayout::Int4;
    if (!can_implement(p).empty()) continue;
    const IntGemmPlan pl = int_gemm_plan(p);
    if (c.split_k && pl.split_k != c.split_k) continue;  // capped by K: as a smaller split
    const size_t need = int_gemm_workspace_bytes(p);
    if (need > ws_bytes) {
      cudaFree(ws);
      LOWBIT_CUDA_CHECK(cudaMalloc(&ws, need));
      LOWBIT_CUDA_CHECK(cudaMemset(ws, 0, need));
      ws_bytes = need;
    }
    p.workspace = ws;
    p.workspace_bytes = ws_bytes;
    int_gemm(p);  // first launch (attributes, tensor-map encoder) outside the capture
    LOWBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
    const double us = graph_time_us([&](int) { int_gemm(p); }, 10, std::max(iters, 5), stream);
    if (c.us < 0) {
      result.auto_us = us;
      continue;
    }
    c.us = us;
    result.ranked.push_back(c);
  }
  cudaFree(ws);
  cudaStreamDestroy(stream);
  std::sort(result.ranked.begin(), result.ranked.end(),
            [](const GemmChoice& x, const GemmChoice& y) { return x.us < y.us; });
  return result;
}

void gemm_plan_set(const std::string& kernel, int64_t n, int64_t k, int64_t m_bucket,
                   const GemmChoice& c) {
  PlanState& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  st.env_checked = true;  // an explicit plan wins over $LOWBIT_GEMM_PLAN
  st.entries[{kernel, n, k, m_bucket}] = c;
}

std::optional<GemmChoice> gemm_plan_find(const IntGemmParams& p) {
  PlanState& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  if (!st.env_checked) {
    st.env_checked = true;
    if (const char* env = std::getenv("LOWBIT_GEMM_PLAN"); env && *env) load_locked(st, env);
  }
  if (st.entries.empty()) return std::nullopt;
  const auto it =
      st.entries.find({gemm_kernel_name(p.a_layout, p.b_layout), p.n, p.k, gemm_m_bucket(p.m)});
  if (it == st.entries.end()) return std::nullopt;
  return it->second;
}

void gemm_plan_save(const std::string& path) {
  PlanState& st = state();
  nlohmann::json j;
  int dev = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&prop, dev) == cudaSuccess) {
    j["device"] = prop.name;
    j["sm"] = prop.major * 10 + prop.minor;
  }
  j["entries"] = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(st.mu);
    for (const auto& [key, c] : st.entries) {
      const auto& [kernel, n, k, mb] = key;
      j["entries"].push_back({{"kernel", kernel},
                              {"n", n},
                              {"k", k},
                              {"m_bucket", mb},
                              {"engine", engine_name(c.engine)},
                              {"tile", tile_name(c.tile)},
                              {"tokens_tile", c.tokens_tile},
                              {"split_k", c.split_k},
                              {"schedule", schedule_name(c.schedule)},
                              {"us", c.us}});
    }
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) fail("cannot write ", tmp);
    f << j.dump(1) << "\n";
    if (!f) fail("cannot write ", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("cannot rename ", tmp, " to ", path, ": ", ec.message());
}

void gemm_plan_load(const std::string& path) {
  PlanState& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  st.env_checked = true;
  load_locked(st, path);
}

void gemm_plan_clear() {
  PlanState& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  st.env_checked = true;
  st.entries.clear();
}

}  // namespace lowbit::cuda
