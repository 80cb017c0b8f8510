// lowbit bench: the engine's side of the end-to-end benchmark. Times Engine::embed_encodings on
// synthetic token batches (fixed batch x length, or a set of variable lengths), as a caller sees
// it: host staging, the forward pass (a CUDA graph replay on the GPU), pooling, the copy back.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "lowbit/engine.h"

namespace lowbit::cli {

namespace {

const char* kBenchHelp =
    "usage: lowbit bench --model DIR [options]\n"
    "\n"
    "Times the model on synthetic inputs: for every BATCH x SEQ, batches of BATCH sequences of\n"
    "SEQ tokens ([CLS] random ids [SEP]) in one forward pass each; reports latency median / p90,\n"
    "sequences/s and device memory.\n"
    "\n"
    "options:\n"
    "  --model DIR          model folder (a checkpoint or a lowbit model)\n"
    "  --device D           cpu | cuda | auto (default auto: the GPU when there is one)\n"
    "  --batch LIST         comma-separated batch sizes (default 1,8,32)\n"
    "  --seq LIST           comma-separated sequence lengths in tokens (default 128)\n"
    "  --varlen N           instead: N sequences with lengths drawn (seed 0) from a normal of\n"
    "                       mean --mean-len (180), sd 80, clipped to 16..--max-len (384);\n"
    "                       offline batching, as MLPerf's offline scenario and lowbit embed:\n"
    "                       longest first, passes of up to --batch-tokens tokens (default\n"
    "                       --batch x --mean-len); reports sequences/s\n"
    "  --arrival            --varlen: batches of --batch sequences in drawn order instead\n"
    "  --batch-tokens N     --varlen: the token budget of a pass\n"
    "  --mean-len N, --max-len N   the --varlen distribution\n"
    "  --iters N            timed runs per shape (default 30; --varlen: passes over the set, 3)\n"
    "  --warmup N           untimed runs first (default 3; the GPU captures its graph on the 2nd)\n"
    "  --no-graphs          GPU: run eagerly, no CUDA graphs\n"
    "  --qbest P            GPU: auto | off | a plan file (default auto: <model>/qbest.json\n"
    "                       when it was tuned on this GPU; see lowbit tune)\n"
    "  --profile            GPU: also the time per pipeline stage of each shape (one eager pass,\n"
    "                       CUDA events between stages; host launch gaps fall in the next stage)\n"
    "  --format text|json   output (default text)\n";

std::vector<Encoding> synthetic(const std::vector<long>& lens, int64_t vocab, std::mt19937& rng) {
  // Ids of ordinary word pieces (the BERT vocab's specials and unused slots lie below 1000).
  const int64_t lo = vocab > 2000 ? 1000 : 0;
  std::vector<Encoding> encs;
  for (long len : lens) {
    Encoding e;
    e.ids.resize(size_t(len));
    for (auto& id : e.ids) id = int32_t(lo + int64_t(rng() % uint64_t(vocab - lo)));
    if (vocab > 2000 && len >= 2) {
      e.ids.front() = 101;  // [CLS]
      e.ids.back() = 102;   // [SEP]
    }
    e.type_ids.assign(size_t(len), 0);
    e.untruncated_length = size_t(len);
    encs.push_back(std::move(e));
  }
  return encs;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t i = size_t(pos);
  const double f = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv,
                            {"model", "device", "batch", "seq", "varlen", "mean-len", "max-len",
                             "iters", "warmup", "format", "qbest", "batch-tokens"},
                            {"no-graphs", "profile", "help", "arrival"});
  if (a.has("help")) {
    std::fputs(kBenchHelp, stdout);
    return 0;
  }
  if (!a.has("model")) throw UsageError{"--model DIR is required"};
  if (!a.positional.empty()) throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  const std::string format = a.get("format", "text");
  if (format != "text" && format != "json") throw UsageError{"--format must be text or json"};
  const bool varlen = a.has("varlen");
  const long iters = a.get_int("iters", varlen ? 3 : 30), warmup = a.get_int("warmup", 3);
  if (iters < 1 || warmup < 0) throw UsageError{"--iters must be >= 1 and --warmup >= 0"};

  LoadOptions lo;
  lo.device = a.get("device", "auto");
  lo.cuda_graphs = !a.has("no-graphs");
  lo.qbest = a.get("qbest", "auto");
  const auto engine = Engine::load(a.get("model"), lo);
  const ModelInfo& info = engine->info();
  const std::vector<long> batches = parse_list(a.get("batch", varlen ? "64" : "1,8,32"), "--batch");
  const std::vector<long> seqs = parse_list(a.get("seq", "128"), "--seq");
  std::mt19937 rng(0);

  nlohmann::json out = {{"model", info.dir},
                        {"device", info.device},
                        {"quantization", info.quantization},
                        {"qbest", info.qbest},
                        {"layers", info.layers},
                        {"hidden", info.hidden},
                        {"cuda_graphs", lo.cuda_graphs},
                        {"results", nlohmann::json::array()}};
  auto run = [&](const std::vector<Encoding>& encs, int64_t batch_tokens, bool sort = true) {
    EmbedOptions o;
    o.batch_tokens = batch_tokens;
    o.sort_by_length = sort;
    engine->embed_encodings(encs, o);
  };

  if (varlen) {
    const long n = a.get_int("varlen", 0), mean_len = a.get_int("mean-len", 180),
               max_len = a.get_int("max-len", 384);
    if (n < 1 || mean_len < 2 || max_len < 16 || max_len > info.max_position_embeddings)
      throw UsageError{"--varlen, --mean-len, --max-len out of range"};
    std::normal_distribution<double> nd(double(mean_len), 80.0);
    std::vector<long> lens(static_cast<size_t>(n));
    for (auto& l : lens) l = std::clamp(long(std::lround(nd(rng))), 16L, max_len);
    const long per_batch = batches.front();
    const bool arrival = a.has("arrival");
    const long budget = a.get_int("batch-tokens", per_batch * mean_len);
    if (budget < max_len) throw UsageError{"--batch-tokens must be at least --max-len"};
    std::vector<std::vector<Encoding>> groups;
    int64_t total_tokens = 0;
    for (size_t i = 0; i < lens.size(); i += size_t(per_batch)) {
      const std::vector<long> part(
          lens.begin() + long(i),
          lens.begin() + long(std::min(lens.size(), i + size_t(per_batch))));
      groups.push_back(synthetic(part, info.vocab, rng));
      for (long l : part) total_tokens += l;
    }
    std::vector<Encoding> all;
    for (const auto& g : groups) all.insert(all.end(), g.begin(), g.end());
    auto pass = [&] {
      if (arrival)
        for (const auto& g : groups)
          run(g, info.max_position_embeddings * int64_t(g.size()), false);
      else
        run(all, budget);
    };
    for (long i = 0; i < std::max(warmup, 2L); ++i) pass();
    std::vector<double> secs;
    for (long i = 0; i < iters; ++i) {
      const double t0 = now_ms();
      pass();
      secs.push_back((now_ms() - t0) / 1e3);
    }
    const double med = percentile(secs, 0.5);
    const DeviceMemory mem = engine->device_memory();
    out["results"].push_back({{"varlen", n},
                              {"batch", per_batch},
                              {"batching", arrival ? "arrival" : "offline"},
                              {"batch_tokens", arrival ? 0L : budget},
                              {"mean_len", double(total_tokens) / double(n)},
                              {"max_len", max_len},
                              {"tokens", total_tokens},
                              {"pass_s_median", med},
                              {"sequences_per_s", double(n) / med},
                              {"tokens_per_s", double(total_tokens) / med},
                              {"weights_bytes", mem.weights_bytes},
                              {"activation_bytes", mem.activation_bytes}});
  } else {
    for (long b : batches)
      for (long s : seqs) {
        if (s > info.max_position_embeddings)
          fail("--seq ", s, " exceeds the model's max_position_embeddings ",
               info.max_position_embeddings);
        const std::vector<Encoding> encs =
            synthetic(std::vector<long>(size_t(b), s), info.vocab, rng);
        for (long i = 0; i < warmup; ++i) run(encs, b * s);
        std::vector<double> ms;
        for (long i = 0; i < iters; ++i) {
          const double t0 = now_ms();
          run(encs, b * s);
          ms.push_back(now_ms() - t0);
        }
        const double med = percentile(ms, 0.5);
        const DeviceMemory mem = engine->device_memory();
        nlohmann::json stages = nlohmann::json::array();
        if (a.has("profile"))
          for (const auto& [name, t] : engine->profile(encs)) stages.push_back({name, t});
        out["results"].push_back({{"batch", b},
                                  {"stages_ms", stages},
                                  {"seq", s},
                                  {"median_ms", med},
                                  {"p90_ms", percentile(ms, 0.9)},
                                  {"min_ms", percentile(ms, 0.0)},
                                  {"sequences_per_s", double(b) / (med / 1e3)},
                                  {"weights_bytes", mem.weights_bytes},
                                  {"activation_bytes", mem.activation_bytes}});
      }
  }

  if (format == "json") {
    std::puts(out.dump(1).c_str());
    return 0;
  }
  std::printf("model %s, %s, %s%s\n", info.dir.c_str(), info.quantization.c_str(),
              info.device.c_str(), lo.cuda_graphs ? "" : " (no CUDA graphs)");
  if (info.device != "cpu") std::printf("qbest: %s\n", info.qbest.c_str());
  for (const auto& r : out["results"]) {
    if (varlen && r["batching"] == "arrival")
      std::printf("%ld sequences (mean %.0f tokens, max %ld) in batches of %ld: %.0f sequences/s\n",
                  r["varlen"].get<long>(), r["mean_len"].get<double>(), r["max_len"].get<long>(),
                  r["batch"].get<long>(), r["sequences_per_s"].get<double>());
    else if (varlen)
      std::printf(
          "%ld sequences (mean %.0f tokens, max %ld), longest first in passes of <= %ld tokens: "
          "%.0f sequences/s\n",
          r["varlen"].get<long>(), r["mean_len"].get<double>(), r["max_len"].get<long>(),
          r["batch_tokens"].get<long>(), r["sequences_per_s"].get<double>());
    else {
      std::printf("batch %4ld x seq %4ld: median %8.3f ms, p90 %8.3f ms, %9.0f sequences/s\n",
                  r["batch"].get<long>(), r["seq"].get<long>(), r["median_ms"].get<double>(),
                  r["p90_ms"].get<double>(), r["sequences_per_s"].get<double>());
      for (const auto& st : r["stages_ms"])
        std::printf("    %-26s %8.3f ms\n", st[0].get<std::string>().c_str(), st[1].get<double>());
    }
  }
  const DeviceMemory mem = engine->device_memory();
  if (mem.weights_bytes)
    std::printf("GPU memory: weights %.1f MiB, activations %.1f MiB (largest batch)\n",
                double(mem.weights_bytes) / 1048576.0, double(mem.activation_bytes) / 1048576.0);
  return 0;
}

}  // namespace lowbit::cli
