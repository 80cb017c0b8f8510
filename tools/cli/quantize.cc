#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "core/threads.h"
#include "io/json_util.h"
#include "quant/ptq.h"

namespace lowbit::cli {

namespace {

const char* kQuantizeHelp =
    "usage: lowbit quantize --model SRC --out DIR --recipe MODE [options]\n"
    "\n"
    "Post-training quantization of a Hugging Face BERT checkpoint into a lowbit model folder\n"
    "(model.safetensors with packed integer weights and scales, recipe.json, tokenizer files).\n"
    "`lowbit embed` and `lowbit info` read the result like any model folder.\n"
    "\n"
    "options:\n"
    "  --recipe MODE        fp32 | fp16 | w8a8 | w4a8 | w4a4 | fp8 (weights x activations)\n"
    "  --parts q1,q3        GEMMs that take MODE, others stay fp32 (default: all four;\n"
    "                       q1 QKV, q2 attention output, q3 FFN in, q4 FFN out)\n"
    "  --asym               asymmetric token-wise activations (integer modes)\n"
    "  --group-size G       weight groups of G along the input features (default: one scale\n"
    "                       per output channel)\n"
    "  --calib FILE         calibration text, one per line: search each GEMM's activation clip\n"
    "                       to minimise its output error, and report it per layer\n"
    "  --calib-rows N       token rows kept per GEMM for the clip search (default 4096)\n"
    "  --clips FILE         activation clips to use, as JSON {\"<layer>.q<1-4>\": clip} (e.g.\n"
    "                       learned by quantization-aware training, python/lowbit)\n"
    "  --force              replace DIR if it exists\n"
    "  --threads N          CPU threads\n";

std::vector<int> parse_parts(const std::string& s) {
  std::vector<int> parts;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const int g = parse_gemm_name(item);
    for (int p : parts)
      if (p == g) throw UsageError{"--parts names " + item + " twice"};
    parts.push_back(g);
  }
  if (parts.empty()) throw UsageError{"--parts is empty"};
  return parts;
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& argv) {
  const Args a = parse_args(
      argv,
      {"model", "out", "recipe", "parts", "group-size", "calib", "calib-rows", "clips", "threads"},
      {"asym", "force", "help", "quiet"});
  if (a.has("help")) {
    std::fputs(kQuantizeHelp, stdout);
    return 0;
  }
  for (const char* req : {"model", "out", "recipe"})
    if (!a.has(req)) throw UsageError{std::string("--") + req + " is required"};
  if (!a.positional.empty()) throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  if (a.has("threads")) set_num_threads(int(a.get_int("threads", 1)));

  QuantizeOptions o;
  o.src_dir = a.get("model");
  o.out_dir = a.get("out");
  o.recipe = a.get("recipe");
  parse_gemm_mode(o.recipe);  // a bad name fails before any work
  o.asym = a.has("asym");
  o.overwrite = a.has("force");
  if (a.has("parts")) o.parts = parse_parts(a.get("parts"));
  o.group_size = a.get_int("group-size", 0);
  if (o.group_size < 0) throw UsageError{"--group-size must be positive"};
  o.calib_max_rows = a.get_int("calib-rows", 4096);
  if (o.calib_max_rows < 1) throw UsageError{"--calib-rows must be at least 1"};
  if (a.has("calib")) {
    std::ifstream in(a.get("calib"));
    if (!in) fail(a.get("calib"), ": cannot open calibration file");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) o.calib.push_back(line);
    if (o.calib.empty()) fail(a.get("calib"), ": no calibration text (one text per line)");
  }
  if (a.has("clips")) {
    // {"<layer>.q<g>": clip, ...}, e.g. the clips QAT learned (python/lowbit export).
    const Json j = read_json_file(a.get("clips"));
    for (const auto& [k, v] : j.items()) {
      const auto dot = k.find('.');
      if (dot == std::string::npos || !v.is_number())
        fail(a.get("clips"), ": entries must be \"<layer>.q<1-4>\": clip, got \"", k, "\"");
      char* end = nullptr;
      const long l = std::strtol(k.c_str(), &end, 10);
      if (end != k.c_str() + dot) fail(a.get("clips"), ": bad layer in \"", k, "\"");
      o.act_clips[{l, parse_gemm_name(k.substr(dot + 1))}] = v.get<float>();
    }
  }
  const bool tty = isatty(STDERR_FILENO) && !a.has("quiet");
  const auto start = std::chrono::steady_clock::now();
  std::string last_stage;
  o.progress = [&](const std::string& stage, size_t done, size_t total) {
    if (a.has("quiet")) return;
    if (!tty && done != total) return;  // logs: one line per stage
    const int width = 30, filled = total ? int(width * done / total) : width;
    std::fprintf(stderr, "%s%-16s [%s%s] %zu/%zu", tty ? "\r" : "", stage.c_str(),
                 std::string(size_t(filled), '#').c_str(),
                 std::string(size_t(width - filled), '.').c_str(), done, total);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };

  const QuantizeReport r = quantize_model(o);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!r.clips.empty()) {
    std::printf("activation clip search (%zu calibration texts): relative output error\n",
                o.calib.size());
    std::printf("%-6s %-4s %10s %10s %12s %12s\n", "layer", "gemm", "absmax", "clip", "err no clip",
                "err clipped");
    for (const ClipChoice& c : r.clips)
      std::printf("%-6lld %-4s %10.4g %10s %12.3e %12.3e\n", (long long)c.layer, gemm_name(c.gemm),
                  double(c.absmax), c.clip > 0 ? std::to_string(c.clip).c_str() : "none",
                  c.err_noclip, c.err_clip);
  }
  std::printf("wrote %s: %s, %.1f MB of weights (%.2fx the source's %.1f MB), in %.1f s\n",
              o.out_dir.c_str(), r.recipe.summary().c_str(), r.weights_bytes / 1e6,
              double(r.weights_bytes) / double(r.source_bytes), r.source_bytes / 1e6, secs);
  return 0;
}

}  // namespace lowbit::cli
