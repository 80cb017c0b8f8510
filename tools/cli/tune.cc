// lowbit tune: the per-shape choice of each GEMM's precision ("qbest", the paper's §5.3). Times
// every mix of modes the model's recipe permits for q1..q4 on each batch x length and writes the
// plan that the engine follows on this GPU model (<model>/qbest.json by default).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/error.h"
#include "lowbit/engine.h"

namespace lowbit::cli {

namespace {

const char* kTuneHelp =
    "usage: lowbit tune --model DIR [options]\n"
    "\n"
    "On the GPU: for every BATCH x SEQ, times every allowed mix of modes for the four GEMMs of a\n"
    "layer (q1 QKV, q2 attention out, q3 FFN in, q4 FFN out) and writes the fastest per token\n"
    "count as a plan. A GEMM can run in its recipe's mode, with 8-bit instead of 4-bit\n"
    "activations, with its int4 weights widened to int8, or in FP16 (dequantized weights):\n"
    "never with fewer bits than the recipe gives it. `lowbit embed`, `bench` and the APIs follow\n"
    "<model>/qbest.json when it was tuned on the same GPU model (--qbest off turns it off).\n"
    "\n"
    "options:\n"
    "  --model DIR        a lowbit model folder (lowbit quantize) or a checkpoint\n"
    "  --batch LIST       batch sizes (default 1,8,32,64,128)\n"
    "  --seq LIST         sequence lengths (default 32,128,384,512)\n"
    "  --layers N         time a pass through the first N layers (default 1: every layer runs\n"
    "                     the same mix, so one layer ranks the mixes; 0: the whole model)\n"
    "  --out PATH         the plan (default DIR/qbest.json; '-' to write none)\n"
    "  --report PATH      also a markdown table of every shape's winner and the recipe's time\n"
    "  --format text|json what to print (json: every mix's time per shape)\n";

}  // namespace

int cmd_tune(const std::vector<std::string>& argv) {
  const Args a =
      parse_args(argv, {"model", "batch", "seq", "layers", "out", "report", "format"}, {"help"});
  if (a.has("help")) {
    std::fputs(kTuneHelp, stdout);
    return 0;
  }
  if (!a.has("model")) throw UsageError{"--model DIR is required"};
  if (!a.positional.empty()) throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  const std::string format = a.get("format", "text");
  if (format != "text" && format != "json") throw UsageError{"--format must be text or json"};
  const long layers = a.get_int("layers", 1);
  if (layers < 0) throw UsageError{"--layers must be >= 0"};
  TuneOptions o;
  for (long b : parse_list(a.get("batch", "1,8,32,64,128"), "--batch"))
    for (long s : parse_list(a.get("seq", "32,128,384,512"), "--seq")) o.shapes.emplace_back(b, s);
  o.layers = layers;
  o.progress = [](size_t done, size_t total) {
    std::fprintf(stderr, "\rtuning: %zu / %zu mixes timed", done, total);
    if (done == total) std::fputc('\n', stderr);
  };
  LoadOptions lo;
  lo.device = "cuda";
  lo.qbest = "off";
  const auto engine = Engine::load(a.get("model"), lo);
  const TuneResult r = engine->tune(o);

  const std::string out = a.get("out", engine->info().dir + "/qbest.json");
  if (out != "-") {
    std::ofstream f(out);
    if (!(f << r.plan_json)) fail(out, ": cannot write the plan");
  }
  nlohmann::json j = {{"model", engine->info().dir},
                      {"quantization", engine->info().quantization},
                      {"device", r.device},
                      {"layers_timed", r.layers},
                      {"modes", r.modes},
                      {"plan", nlohmann::json::parse(r.plan_json)},
                      {"shapes", nlohmann::json::array()}};
  for (const TuneShape& s : r.shapes) {
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [name, ms] : s.mixes) m[name] = ms;
    j["shapes"].push_back({{"batch", s.batch},
                           {"seq", s.seq},
                           {"best", s.best},
                           {"best_ms", s.best_ms},
                           {"recipe", s.recipe},
                           {"recipe_ms", s.recipe_ms},
                           {"mixes_ms", m}});
  }
  std::string table = "| batch × seq | fastest mix (q1/q2/q3/q4) | ms | recipe (" +
                      (r.shapes.empty() ? std::string() : r.shapes[0].recipe) +
                      ") ms | speed-up |\n|---|---|---|---|---|\n";
  for (const TuneShape& s : r.shapes) {
    char line[256];
    std::snprintf(line, sizeof line, "| %lld × %lld | %s | %.3f | %.3f | %.2f× |\n",
                  (long long)s.batch, (long long)s.seq, s.best.c_str(), s.best_ms, s.recipe_ms,
                  s.recipe_ms / s.best_ms);
    table += line;
  }
  if (a.has("report")) {
    std::ofstream f(a.get("report"));
    f << "# qbest: " << engine->info().dir << " (" << engine->info().quantization << ")\n\n"
      << "On " << r.device << ", a pass through " << r.layers
      << " layer(s) with CUDA graphs, median wall time per mix; " << r.shapes.front().mixes.size()
      << " mixes per shape.\n\n"
      << table;
    if (!f) fail(a.get("report"), ": cannot write the report");
  }
  if (format == "json") {
    std::puts(j.dump(1).c_str());
    return 0;
  }
  std::printf("qbest on %s, %lld layer(s) timed, %zu mixes per shape\n%s", r.device.c_str(),
              (long long)r.layers, r.shapes.front().mixes.size(), table.c_str());
  if (out != "-") std::printf("plan written to %s\n", out.c_str());
  return 0;
}

}  // namespace lowbit::cli
