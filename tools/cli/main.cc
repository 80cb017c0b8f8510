#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"

namespace {

const char* kUsage =
    "usage: lowbit <command> [options]\n"
    "\n"
    "commands:\n"
    "  embed     embed texts with a model (lowbit embed --help)\n"
    "  classify  label texts with a sequence classification model (lowbit classify --help)\n"
    "  bench     time the model on synthetic batches (lowbit bench --help)\n"
    "  info      describe a model folder (lowbit info --help)\n"
    "  quantize  quantize a checkpoint into a lowbit model (lowbit quantize --help)\n"
    "  tune      per-shape GEMM precision plan on the GPU, qbest (lowbit tune --help)\n"
    "  tune-gemm time the GPU GEMM configurations, write a plan (lowbit tune-gemm --help)\n"
    "\n"
    "lowbit runs BERT-family encoders (bert, roberta, xlm-roberta, distilbert, mpnet, electra);\n"
    "--model takes a Hugging Face or sentence-transformers checkpoint folder (config.json,\n"
    "model.safetensors, tokenizer.json or vocab.txt) or a lowbit model folder.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("lowbit 0.1.0");
    return 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "embed") return lowbit::cli::cmd_embed(args);
    if (cmd == "classify") return lowbit::cli::cmd_classify(args);
    if (cmd == "bench") return lowbit::cli::cmd_bench(args);
    if (cmd == "info") return lowbit::cli::cmd_info(args);
    if (cmd == "quantize") return lowbit::cli::cmd_quantize(args);
    if (cmd == "tune") return lowbit::cli::cmd_tune(args);
    if (cmd == "tune-gemm") return lowbit::cli::cmd_tune_gemm(args);
    std::fprintf(stderr, "lowbit: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const lowbit::cli::UsageError& e) {
    std::fprintf(stderr, "lowbit %s: %s (see lowbit %s --help)\n", cmd.c_str(), e.message.c_str(),
                 cmd.c_str());
    return 2;
  } catch (const lowbit::Error& e) {
    std::fprintf(stderr, "lowbit: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit: internal error: %s\n", e.what());
    return 1;
  }
}
