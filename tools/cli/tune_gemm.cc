// lowbit tune-gemm: times the GEMM configurations on this GPU per (kernel, N, K, M bucket) and
// writes the fastest into a plan file that int_gemm follows ($LOWBIT_GEMM_PLAN).
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#ifdef LOWBIT_WITH_CUDA
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/gemm_tuner.h"
#endif

namespace lowbit::cli {

namespace {

const char* kHelp =
    "usage: lowbit tune-gemm [options]\n"
    "\n"
    "Times every GEMM configuration (engine, tile, token tile, split-K) on this GPU for each\n"
    "kernel, shape and M, with the encoder's fused epilogue, and writes the fastest per\n"
    "(kernel, N, K, M rounded up to a power of two) into a plan. lowbit follows a plan named by\n"
    "$LOWBIT_GEMM_PLAN for GEMMs left on automatic.\n"
    "\n"
    "options:\n"
    "  --kernels LIST   w8a8,w4a8,w4a4,fp8 (default: all the GPU runs)\n"
    "  --model NAME     bert-base | bert-large | all: the four GEMMs of a layer (default all)\n"
    "  --shapes LIST    NxK pairs instead, e.g. 3072x768+gelu,768x3072 (+gelu: timed with the\n"
    "                   GELU epilogue, as the FFN-in GEMM runs; the models' FFN-in shapes are)\n"
    "  --m LIST         token counts (default 1,8,32,128,512,2048,8192,32768)\n"
    "  --iters N        timed runs per configuration (default 20)\n"
    "  --out FILE       plan file to write (default gemm-plan.json)\n";

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

long parse_long(const std::string& s, const char* what) {
  try {
    size_t used = 0;
    const long v = std::stol(s, &used);
    if (used == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError{std::string(what) + " expects positive integers, got '" + s + "'"};
}

}  // namespace

int cmd_tune_gemm(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"kernels", "model", "shapes", "m", "iters", "out"}, {"help"});
  if (a.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (!a.positional.empty()) throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  struct Shape {
    long n, k;
    bool gelu;
  };
  std::vector<Shape> shapes;
  if (a.has("shapes")) {
    for (std::string s : split_commas(a.get("shapes"))) {
      bool gelu = false;
      if (const size_t g = s.find("+gelu"); g != std::string::npos && g + 5 == s.size()) {
        gelu = true;
        s.resize(g);
      }
      const size_t x = s.find('x');
      if (x == std::string::npos)
        throw UsageError{"--shapes wants NxK pairs (optionally +gelu), got '" + s + "'"};
      shapes.push_back({parse_long(s.substr(0, x), "--shapes"),
                        parse_long(s.substr(x + 1), "--shapes"), gelu});
    }
  } else {
    const std::string model = a.get("model", "all");
    if (model != "bert-base" && model != "bert-large" && model != "all")
      throw UsageError{"--model must be bert-base, bert-large or all"};
    if (model != "bert-large")
      shapes.insert(shapes.end(), {{2304, 768, false},
                                   {768, 768, false},
                                   {3072, 768, true},
                                   {768, 3072, false}});
    if (model != "bert-base")
      shapes.insert(shapes.end(), {{3072, 1024, false},
                                   {1024, 1024, false},
                                   {4096, 1024, true},
                                   {1024, 4096, false}});
  }
  std::vector<long> ms;
  for (const auto& s : split_commas(a.get("m", "1,8,32,128,512,2048,8192,32768")))
    ms.push_back(parse_long(s, "--m"));
  const long iters = a.get_int("iters", 20);
  if (iters < 5) throw UsageError{"--iters must be at least 5"};
  const std::string out = a.get("out", "gemm-plan.json");
  std::vector<std::string> kernels = split_commas(a.get("kernels", ""));
  for (const auto& k : kernels)
    if (k != "w8a8" && k != "w4a8" && k != "w4a4" && k != "fp8")
      throw UsageError{"unknown kernel '" + k + "' (w8a8, w4a8, w4a4, fp8)"};
#ifndef LOWBIT_WITH_CUDA
  (void)iters;
  fail("tune-gemm needs a CUDA build of lowbit (this one has no GPU backend)");
#else
  const auto devs = cuda::devices();
  if (devs.empty()) fail("tune-gemm needs a CUDA GPU (none is visible)");
  if (kernels.empty()) {
    kernels = {"w8a8", "w4a8", "w4a4"};
    if (devs[0].sm_major == 9) kernels.push_back("fp8");
  }
  std::printf("# %s (sm_%d%d): %zu kernels x %zu shapes x %zu M\n", devs[0].name.c_str(),
              devs[0].sm_major, devs[0].sm_minor, kernels.size(), shapes.size(), ms.size());
  std::printf("%-5s %6s %6s %-5s %6s  %-34s %10s %10s %8s\n", "kern", "N", "K", "epi", "M", "best",
              "best_us", "auto_us", "gain");
  const size_t total = kernels.size() * shapes.size() * ms.size();
  size_t done = 0;
  for (const auto& kernel : kernels)
    for (const auto& [n, k, gelu] : shapes)
      for (const long m : ms) {
        const cuda::TuneResult r = cuda::tune_gemm(kernel, m, n, k, int(iters), gelu);
        const char* epi = gelu ? "gelu" : "bias";
        ++done;
        if (r.ranked.empty()) {
          std::printf("%-5s %6ld %6ld %-5s %6ld  no configuration runs this shape\n", kernel.c_str(),
                      n, k, epi, m);
          continue;
        }
        const cuda::GemmChoice& best = r.ranked.front();
        cuda::gemm_plan_set(kernel, n, k, cuda::gemm_m_bucket(m), best);
        std::printf("%-5s %6ld %6ld %-5s %6ld  %-34s %10.2f %10.2f %7.2fx  [%zu/%zu]\n",
                    kernel.c_str(), n, k, epi, m, cuda::describe(best).c_str(), best.us, r.auto_us,
                    best.us > 0 && r.auto_us > 0 ? r.auto_us / best.us : 0.0, done, total);
        std::fflush(stdout);
      }
  cuda::gemm_plan_save(out);
  std::printf("wrote %s (use it with LOWBIT_GEMM_PLAN=%s)\n", out.c_str(), out.c_str());
  return 0;
#endif
}

}  // namespace lowbit::cli
