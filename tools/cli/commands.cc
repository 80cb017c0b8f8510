#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/error.h"
#include "core/threads.h"
#include "lowbit/engine.h"

namespace lowbit::cli {

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

long Args::get_int(const std::string& name, long fallback) const {
  auto it = options.find(name);
  if (it == options.end()) return fallback;
  try {
    size_t used = 0;
    const long v = std::stol(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError{"--" + name + " expects an integer, got '" + it->second + "'"};
}

std::vector<long> parse_list(const std::string& s, const char* what) {
  std::vector<long> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end || v < 1)
      throw UsageError{std::string(what) + ": bad value '" + item + "'"};
    out.push_back(v);
  }
  if (out.empty()) throw UsageError{std::string(what) + " is empty"};
  return out;
}

Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
                const std::set<std::string>& switches) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "--") {
      a.positional.insert(a.positional.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (s.size() > 2 && s.starts_with("--")) {
      std::string name = s.substr(2), value;
      const auto eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (with_value.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argv.size()) throw UsageError{"--" + name + " needs a value"};
          value = argv[++i];
        }
        a.options[name] = value;
      } else if (switches.count(name) && !inline_value) {
        a.options[name] = "";
      } else {
        throw UsageError{"unknown option --" + name};
      }
    } else if (s == "-h") {
      a.options["help"] = "";
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

namespace {

const char* kEmbedHelp =
    "usage: lowbit embed --model DIR [options] [TEXT... | -]\n"
    "\n"
    "Embeds each TEXT (or, with '-', each line of standard input) and prints the embeddings.\n"
    "\n"
    "options:\n"
    "  --model DIR          model folder (Hugging Face / sentence-transformers checkpoint)\n"
    "  --device D           cpu | cuda | auto (default auto: the GPU encoder when this build has\n"
    "                       CUDA and a Hopper GPU is visible, else the CPU)\n"
    "  --pooling cls|mean   pooling (default: the checkpoint's; cls for a plain BERT folder)\n"
    "  --normalize          L2-normalise the embeddings (default: the checkpoint's)\n"
    "  --no-normalize       do not normalise\n"
    "  --format json|tsv    output format (default json)\n"
    "  --similarity         print the shape and the cosine-similarity matrix instead\n"
    "  --max-length N       truncate inputs to N tokens (default: the model's maximum)\n"
    "  --batch-tokens N     tokens per forward pass (default 8192); passes are filled longest\n"
    "                       text first, results come back in input order\n"
    "  --threads N          CPU threads (default: all; or LOWBIT_NUM_THREADS)\n"
    "  --progress           show a progress bar (default: when stderr is a terminal and\n"
    "                       there are more than 100 texts)\n"
    "  --quiet              no warnings (truncation) on stderr\n";

const char* kInfoHelp =
    "usage: lowbit info --model DIR [--format text|json]\n"
    "\n"
    "Describes a model folder: architecture, sizes, parameter count, dtypes, size on disk,\n"
    "pooling and tokenizer settings. Loads and validates every weight.\n";

void print_float(std::string& out, float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8g", double(v));
  out += buf;
}

std::vector<std::string> read_lines(std::istream& in) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// The TEXT arguments, or with '-' alone the lines of standard input; none is a usage error.
std::vector<std::string> input_texts(const Args& a) {
  std::vector<std::string> texts;
  if (a.positional.size() == 1 && a.positional[0] == "-") {
    texts = read_lines(std::cin);
  } else {
    for (const auto& t : a.positional)
      if (t == "-") throw UsageError{"'-' (standard input) cannot be mixed with TEXT arguments"};
    texts = a.positional;
  }
  if (texts.empty()) throw UsageError{"no texts given (pass TEXT arguments, or - for stdin)"};
  return texts;
}

// One warning line on stderr per text that was cut to the model's maximum length.
void warn_truncated(const std::vector<Truncation>& truncated) {
  for (const Truncation& t : truncated)
    std::fprintf(stderr, "lowbit: warning: text %zu truncated from %zu to %zu tokens\n",
                 t.index + 1, t.untruncated, t.tokens);
}

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled)
      : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  void update(size_t done, size_t total) {
    if (!enabled_) return;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int width = 30, filled = total ? int(width * done / total) : width;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu texts, %.1f s, %.0f texts/s",
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done,
                 total, secs, secs > 0 ? double(done) / secs : 0.0);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

std::string label(const std::string& text, size_t width) {
  std::string s;
  for (char c : text) s += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
  if (s.size() <= width) return s + std::string(width - s.size(), ' ');
  size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "..." + std::string(width - 3 - cut, ' ');
}

void print_similarity(const Embeddings& e, const std::vector<std::string>& texts,
                      const std::string& pooling, bool normalized) {
  std::printf("embeddings: %lld x %lld (%s pooling%s)\n", (long long)e.rows, (long long)e.dim,
              pooling.c_str(), normalized ? ", L2-normalised" : "");
  std::printf("cosine similarity:\n%-32s", "");
  for (int64_t j = 0; j < e.rows; ++j) std::printf(" %6lld", (long long)j + 1);
  std::printf("\n");
  std::vector<double> norm(size_t(e.rows));
  for (int64_t i = 0; i < e.rows; ++i) {
    double s = 0;
    for (int64_t k = 0; k < e.dim; ++k) s += double(e.row(i)[k]) * e.row(i)[k];
    norm[size_t(i)] = std::sqrt(s);
  }
  for (int64_t i = 0; i < e.rows; ++i) {
    std::printf("%2lld %s", (long long)i + 1, label(texts[size_t(i)], 29).c_str());
    for (int64_t j = 0; j < e.rows; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < e.dim; ++k) dot += double(e.row(i)[k]) * e.row(j)[k];
      const double den = norm[size_t(i)] * norm[size_t(j)];
      std::printf(" %6.3f", den > 0 ? dot / den : 0.0);
    }
    std::printf("\n");
  }
}

}  // namespace

int cmd_embed(const std::vector<std::string>& argv) {
  const Args a =
      parse_args(argv,
                 {"model", "device", "pooling", "format", "max-length", "batch-tokens", "threads"},
                 {"normalize", "no-normalize", "similarity", "progress", "quiet", "help"});
  if (a.has("help")) {
    std::fputs(kEmbedHelp, stdout);
    return 0;
  }
  if (!a.has("model")) throw UsageError{"--model DIR is required"};
  const std::string format = a.get("format", "json");
  if (format != "json" && format != "tsv") throw UsageError{"--format must be json or tsv"};
  if (a.has("normalize") && a.has("no-normalize"))
    throw UsageError{"--normalize and --no-normalize contradict each other"};
  if (a.has("threads")) {
    const long n = a.get_int("threads", 0);
    if (n < 1) throw UsageError{"--threads must be at least 1"};
    set_num_threads(int(n));
  }

  const std::vector<std::string> texts = input_texts(a);

  EmbedOptions opts;
  if (a.has("pooling")) opts.pooling = a.get("pooling");
  if (a.has("normalize")) opts.normalize = true;
  if (a.has("no-normalize")) opts.normalize = false;
  opts.max_length = a.get_int("max-length", 0);
  opts.batch_tokens = a.get_int("batch-tokens", 8192);
  if (opts.batch_tokens < 1) throw UsageError{"--batch-tokens must be at least 1"};
  ProgressBar bar(a.has("progress") || (isatty(STDERR_FILENO) && texts.size() > 100));
  opts.progress = [&bar](size_t done, size_t total) { bar.update(done, total); };

  LoadOptions lo;
  lo.device = a.get("device", "auto");
  const auto engine = Engine::load(a.get("model"), lo);
  const Embeddings e = engine->embed(texts, opts);
  if (!a.has("quiet")) warn_truncated(e.truncated);

  const std::string pooling = opts.pooling.value_or(engine->info().pooling);
  const bool normalized = opts.normalize.value_or(engine->info().normalize);
  if (a.has("similarity")) {
    print_similarity(e, texts, pooling, normalized);
    return 0;
  }
  std::string out;
  if (format == "json") {
    out += "{\"shape\": [" + std::to_string(e.rows) + ", " + std::to_string(e.dim) +
           "], \"pooling\": \"" + pooling +
           "\", \"normalized\": " + (normalized ? "true" : "false") + ", \"embeddings\": [";
    for (int64_t i = 0; i < e.rows; ++i) {
      out += i ? ",\n  [" : "\n  [";
      for (int64_t k = 0; k < e.dim; ++k) {
        if (k) out += ", ";
        print_float(out, e.row(i)[k]);
      }
      out += "]";
    }
    out += "]}\n";
  } else {
    for (int64_t i = 0; i < e.rows; ++i) {
      for (int64_t k = 0; k < e.dim; ++k) {
        if (k) out += '\t';
        print_float(out, e.row(i)[k]);
      }
      out += '\n';
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

namespace {
const char* kClassifyHelp =
    "usage: lowbit classify --model DIR [options] [TEXT... | -]\n"
    "\n"
    "Classifies each TEXT (or each line of standard input) with a sequence classification model\n"
    "(BertForSequenceClassification, or a lowbit model quantized from one): the predicted label,\n"
    "its softmax probability, and with --format json every label's logit.\n"
    "\n"
    "options:\n"
    "  --model DIR          model folder\n"
    "  --device D           cpu | cuda | auto (default auto)\n"
    "  --format tsv|json    tsv (default): label <TAB> probability <TAB> text, one line a text\n"
    "  --max-length N       tokens per text ([CLS] and [SEP] included; default the model's)\n"
    "  --batch-tokens N     tokens per forward pass (default 8192); passes are filled longest\n"
    "                       text first, results come back in input order\n"
    "  --quiet              no truncation warnings\n";
}  // namespace

int cmd_classify(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"model", "device", "format", "max-length", "batch-tokens"},
                            {"quiet", "help"});
  if (a.has("help")) {
    std::fputs(kClassifyHelp, stdout);
    return 0;
  }
  if (!a.has("model")) throw UsageError{"--model DIR is required"};
  const std::string format = a.get("format", "tsv");
  if (format != "json" && format != "tsv") throw UsageError{"--format must be tsv or json"};
  const std::vector<std::string> texts = input_texts(a);
  EmbedOptions opts;
  opts.max_length = a.get_int("max-length", 0);
  opts.batch_tokens = a.get_int("batch-tokens", 8192);
  if (opts.batch_tokens < 1) throw UsageError{"--batch-tokens must be at least 1"};
  LoadOptions lo;
  lo.device = a.get("device", "auto");
  const auto engine = Engine::load(a.get("model"), lo);
  const Classifications c = engine->classify(texts, opts);
  if (!a.has("quiet")) warn_truncated(c.truncated);
  const size_t n = c.labels.size();
  nlohmann::json j = {{"labels", c.labels}, {"results", nlohmann::json::array()}};
  std::string out;
  for (int64_t i = 0; i < c.rows; ++i) {
    const float* r = c.row(i);
    const int64_t p = c.predicted(i);
    double z = 0;  // softmax of the predicted label, stable
    for (size_t l = 0; l < n; ++l) z += std::exp(double(r[l]) - double(r[p]));
    if (format == "json") {
      j["results"].push_back({{"label", c.labels[size_t(p)]},
                              {"probability", 1.0 / z},
                              {"logits", std::vector<float>(r, r + n)}});
    } else {
      char buf[64];
      std::snprintf(buf, sizeof buf, "\t%.6f\t", 1.0 / z);
      out += c.labels[size_t(p)] + buf + texts[size_t(i)] + "\n";
    }
  }
  if (format == "json") out = j.dump(1) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int cmd_info(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"model", "format"}, {"help"});
  if (a.has("help")) {
    std::fputs(kInfoHelp, stdout);
    return 0;
  }
  if (!a.has("model")) throw UsageError{"--model DIR is required"};
  if (!a.positional.empty()) throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  const std::string format = a.get("format", "text");
  if (format != "text" && format != "json") throw UsageError{"--format must be text or json"};
  LoadOptions lo;
  lo.device = "cpu";  // describing a folder needs no GPU
  const auto engine = Engine::load(a.get("model"), lo);
  const ModelInfo& m = engine->info();
  std::string dtypes;
  for (const auto& [d, n] : m.dtypes)
    dtypes += (dtypes.empty() ? "" : ", ") + d + " (" + std::to_string(n) + " elements)";
  if (format == "json") {
    nlohmann::json j = {{"dir", m.dir},
                        {"architecture", m.architecture},
                        {"model_type", m.model_type},
                        {"layers", m.layers},
                        {"hidden", m.hidden},
                        {"heads", m.heads},
                        {"intermediate", m.intermediate},
                        {"vocab", m.vocab},
                        {"max_position_embeddings", m.max_position_embeddings},
                        {"activation", m.activation},
                        {"parameters", m.parameters},
                        {"weights_bytes", m.weights_bytes},
                        {"dir_bytes", m.dir_bytes},
                        {"pooling", m.pooling},
                        {"normalize", m.normalize},
                        {"max_length", m.max_length},
                        {"lower_case", m.lower_case},
                        {"tokenizer", m.tokenizer},
                        {"quantization", m.quantization},
                        {"source", m.source},
                        {"labels", m.labels}};
    for (const auto& [d, n] : m.dtypes) j["dtypes"][d] = n;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model:         %s\n", m.dir.c_str());
  std::printf("architecture:  %s (%s), %lld layers, hidden %lld, %lld heads, intermediate %lld\n",
              m.architecture.c_str(), m.model_type.c_str(), (long long)m.layers,
              (long long)m.hidden, (long long)m.heads, (long long)m.intermediate);
  std::printf("vocabulary:    %lld tokens (%s%s), max positions %lld, type vocab %lld\n",
              (long long)m.vocab, m.tokenizer.c_str(),
              !m.tokenizer.ends_with("(vocab.txt)") ? "" : m.lower_case ? ", uncased" : ", cased",
              (long long)m.max_position_embeddings, (long long)m.type_vocab);
  std::printf("activation:    %s\n", m.activation.c_str());
  std::printf("parameters:    %lld (%.1f M, the encoder's; an unused pooler is not counted)\n",
              (long long)m.parameters, m.parameters / 1e6);
  std::printf("dtypes:        %s\n", dtypes.c_str());
  std::printf("size on disk:  %.1f MB weights, %.1f MB folder\n", m.weights_bytes / 1e6,
              m.dir_bytes / 1e6);
  std::printf("quantization:  %s\n", m.quantization.c_str());
  if (!m.source.empty()) std::printf("quantized from: %s\n", m.source.c_str());
  if (!m.labels.empty()) {
    std::string l;
    for (const auto& x : m.labels) l += (l.empty() ? "" : ", ") + x;
    std::printf("classifier:    %zu labels (%s)\n", m.labels.size(), l.c_str());
  }
  std::printf("embedding:     %s pooling%s%s, max %lld tokens\n", m.pooling.c_str(),
              m.normalize ? ", L2-normalised" : "",
              m.sentence_transformers ? " (sentence-transformers)" : "", (long long)m.max_length);
  return 0;
}

}  // namespace lowbit::cli
