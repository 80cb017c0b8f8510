#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
    "Post-training quantization of a Hugging Face BERT-family checkpoint into a lowbit model "
    "folder\n"
    "(model.safetensors with packed integer weights and scales, recipe.json, tokenizer files).\n"
    "`lowbit embed` and `lowbit info` read the result like any model folder.\n"
    "\n"
    "options:\n"
    "  --recipe MODE        fp32 | fp16 | w8a8 | w4a8 | w4a4 | fp8 | w4a8-fp8 (weights x\n"
    "                       activations; w4a8-fp8: 4-bit weights with power-of-two scales, FP8\n"
    "                       E4M3 activations, run through the FP8 GEMMs)\n"
    "  --parts q1,q3        GEMMs that take MODE, others stay fp32 (default: all four;\n"
    "                       q1 QKV, q2 attention output, q3 FFN in, q4 FFN out)\n"
    "  --asym               asymmetric token-wise activations (integer modes)\n"
    "  --group-size G       weight groups of G along the input features (default: one scale\n"
    "                       per output channel)\n"
    "  --calib FILE         calibration text, one per line: search each GEMM's activation clip\n"
    "                       to minimise its output error, and report it per layer\n"
    "  --calib-rows N       token rows kept per GEMM for the clip search (default 4096)\n"
    "  --lkd FILE           ZeroQuant layer-by-layer distillation on the unlabelled texts of\n"
    "                       FILE (one per line): each quantized layer trained to its FP32\n"
    "                       counterpart's output; runs python/lowbit (torch), $LOWBIT_PYTHON\n"
    "  --lkd-steps N        optimizer steps per layer (default 200)\n"
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

// --lkd: ZeroQuant's layer-by-layer distillation needs autograd, so it runs in the Python
// toolkit (python/lowbit/lkd.py), which trains the quantized layers and exports through this
// binary's own `quantize --clips`.
int run_lkd(const Args& a, const QuantizeOptions& o) {
  if (a.has("calib") || a.has("clips") || a.has("parts") || a.has("group-size"))
    throw UsageError{"--lkd takes the recipe on all four GEMMs, without --calib, --clips, --parts "
                     "or --group-size"};
  if (!is_quantized(parse_gemm_mode(o.recipe))) throw UsageError{"--lkd needs a quantized recipe"};
  if (parse_gemm_mode(o.recipe) == GemmMode::W4A8Fp8)
    throw UsageError{
        "--lkd does not take w4a8-fp8 yet (the Python toolkit has no power-of-two "
        "weight scales); quantize without --lkd"};
  if (std::filesystem::exists(o.out_dir) && !o.overwrite)
    fail(o.out_dir, ": exists (pass --force to replace it)");
  const char* py_env = std::getenv("LOWBIT_PYTHON");
  const std::string py = py_env ? py_env : "python3";
  auto q = [](const std::string& s) {  // single-quoted for the shell
    std::string r = "'";
    for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return r + "'";
  };
  if (std::system((q(py) + " -c 'import lowbit.lkd' >/dev/null 2>&1").c_str()) != 0)
    fail("--lkd runs the Python toolkit, which ", py,
         " cannot import (pip install ./python, or set PYTHONPATH to the python/ folder; it needs "
         "torch, transformers and safetensors)");
  std::string cmd = q(py) + " -m lowbit.lkd --model " + q(o.src_dir) + " --texts " +
                    q(a.get("lkd")) + " --out " + q(o.out_dir) + " --recipe " + q(o.recipe) +
                    " --steps " + std::to_string(a.get_int("lkd-steps", 200)) + " --lowbit " +
                    q(std::filesystem::read_symlink("/proc/self/exe").string());
  if (o.asym) cmd += " --asym";
  if (std::filesystem::exists(o.out_dir)) std::filesystem::remove_all(o.out_dir);
  const int rc = std::system(cmd.c_str());
  if (rc != 0) fail("layer-wise distillation (", py, " -m lowbit.lkd) failed");
  return 0;
}

int cmd_quantize(const std::vector<std::string>& argv) {
  const Args a = parse_args(
      argv,
      {"model", "out", "recipe", "parts", "group-size", "calib", "calib-rows", "clips", "threads",
       "lkd", "lkd-steps"},
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
  if (a.has("lkd")) return run_lkd(a, o);
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
