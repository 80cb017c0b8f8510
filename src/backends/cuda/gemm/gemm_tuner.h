// Shape-aware GEMM choice: time the candidate configurations (engine, tile, token tile,
// split-K) of a GEMM on the present GPU, and keep the fastest per shape bucket in a plan that
// int_gemm() follows for parameters left on automatic. The paper pre-tunes with the CUTLASS
// profiler; `lowbit tune-gemm` is that step.
//
// Plan file (JSON): {"device": "...", "sm": 90, "entries": [{"kernel": "w8a8", "n": 3072,
// "k": 768, "m_bucket": 128, "engine": "wgmma", "tile": "auto", "tokens_tile": 128,
// "split_k": 6, "schedule": "pingpong", "us": 12.3}, ...]} ("schedule" optional: auto). m_bucket is
// the smallest power of two >= M. int_gemm() loads $LOWBIT_GEMM_PLAN once (when set) and uses an
// entry when the parameters have engine, tile, tokens_tile and split_k all on automatic and the
// kernel, N, K and bucket match.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda {

struct GemmChoice {
  GemmEngine engine = GemmEngine::Auto;
  GemmTile tile = GemmTile::Auto;
  int tokens_tile = 0;
  int split_k = 0;
  GemmSchedule schedule = GemmSchedule::Auto;  // Wgmma
  double us = 0;                               // median time measured by the tuner
};

// "w8a8" | "w4a8" | "w4a4" | "fp8" for the operand layouts ("" when none).
std::string gemm_kernel_name(PackedLayout a, PackedLayout b);
int64_t gemm_m_bucket(int64_t m);
std::string describe(const GemmChoice& c);

// Times every candidate for `kernel` at (m, n, k) with random operands and the fused F16
// epilogue (+ bias, + GELU when `gelu`: the FFN-in GEMM, whose epilogue changes which kernel
// wins), by graph_time_us: `ranked` fastest first (candidates the kernels reject are skipped), and
// `auto_us`, the time of the built-in automatic choice (no plan).
struct TuneResult {
  std::vector<GemmChoice> ranked;
  double auto_us = 0;
};
TuneResult tune_gemm(const std::string& kernel, int64_t m, int64_t n, int64_t k, int iters = 20,
                     bool gelu = false);

// GPU time per call of `call(i)` (which enqueues work on `stream`, a non-default stream): `calls`
// calls, i = 0 .. calls - 1, are captured into one CUDA graph and replayed `reps` times after a
// warm-up replay; the median replay time / calls, in microseconds. Host launch costs are
// excluded, as in an engine that replays graphs.
double graph_time_us(const std::function<void(int)>& call, int calls, int reps,
                     cudaStream_t stream);

// The process-wide plan. set() replaces the entry of the same key.
void gemm_plan_set(const std::string& kernel, int64_t n, int64_t k, int64_t m_bucket,
                   const GemmChoice& c);
std::optional<GemmChoice> gemm_plan_find(const IntGemmParams& p);
void gemm_plan_save(const std::string& path);  // atomically; throws on I/O errors
void gemm_plan_load(const std::string& path);  // replaces the plan; throws on a bad file
void gemm_plan_clear();

}  // namespace lowbit::cuda
