#include "io/model_dir.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/json_util.h"

namespace fs = std::filesystem;

namespace lowbit {

const char* pooling_name(Pooling p) { return p == Pooling::Cls ? "cls" : "mean"; }

Pooling parse_pooling(const std::string& s) {
  if (s == "cls") return Pooling::Cls;
  if (s == "mean") return Pooling::Mean;
  fail("unknown pooling \"", s, "\" (expected cls or mean)");
}

namespace {

void read_sentence_transformers(ModelDir& m) {
  const fs::path modules = fs::path(m.dir) / "modules.json";
  if (!fs::exists(modules)) return;
  const std::string where = modules.string();
  Json j;
  try {
    j = Json::parse(read_file(where));
  } catch (const Json::parse_error& e) {
    fail(where, ": invalid JSON at byte ", e.byte);
  }
  if (!j.is_array()) fail(where, ": expected a JSON list of modules");
  m.sentence_transformers = true;
  bool pooled = false;
  for (const Json& mod : j) {
    if (!mod.is_object()) fail(where, ": each module must be an object");
    const auto type = optional_string(mod, "type", where).value_or("");
    const auto path = optional_string(mod, "path", where).value_or("");
    if (type.ends_with(".Pooling")) {
      const std::string cfg_path = (fs::path(m.dir) / path / "config.json").string();
      const Json p = read_json_file(cfg_path);
      const bool cls = optional_bool(p, "pooling_mode_cls_token", cfg_path).value_or(false);
      const bool mean = optional_bool(p, "pooling_mode_mean_tokens", cfg_path).value_or(false);
      for (const char* other : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
        if (optional_bool(p, other, cfg_path).value_or(false))
          fail(cfg_path, ": unsupported pooling mode \"", other, "\"");
      if (cls == mean) fail(cfg_path, ": exactly one of cls and mean pooling must be set");
      m.pooling = cls ? Pooling::Cls : Pooling::Mean;
      pooled = true;
    } else if (type.ends_with(".Normalize")) {
      m.normalize = true;
    } else if (!type.ends_with(".Transformer")) {
      fail(where, ": unsupported sentence-transformers module \"", type, "\"");
    }
  }
  if (!pooled) fail(where, ": no Pooling module");
  const fs::path sbert = fs::path(m.dir) / "sentence_bert_config.json";
  if (fs::exists(sbert)) {
    const Json s = read_json_file(sbert.string());
    if (auto v = optional_int(s, "max_seq_length", sbert.string())) {
      if (*v < 2) fail(sbert.string(), ": max_seq_length must be at least 2");
      m.max_length = std::min(m.max_length, *v);
    }
  }
}

}  // namespace

ModelDir open_model_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(dir, ": model folder does not exist");
  if (!fs::is_directory(dir, ec)) fail(dir, ": not a folder (pass the model folder to --model)");
  ModelDir m;
  m.dir = dir;
  m.config_path = (fs::path(dir) / "config.json").string();
  m.weights_path = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(m.config_path)) fail(m.config_path, ": no such file (is this a model folder?)");
  if (!fs::exists(m.weights_path)) {
    if (fs::exists(fs::path(dir) / "pytorch_model.bin"))
      fail(m.weights_path,
           ": no such file; only pytorch_model.bin is present, and lowbit reads "
           "safetensors (convert with safetensors.torch.save_file)");
    fail(m.weights_path, ": no such file");
  }
  m.config = load_encoder_config(m.config_path);
  m.max_length = m.config.max_position_embeddings;
  const fs::path tok_cfg = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(tok_cfg)) {
    const Json t = read_json_file(tok_cfg.string());
    if (auto v = optional_number(t, "model_max_length", tok_cfg.string()); v && *v >= 2)
      m.max_length = std::min<int64_t>(m.max_length, int64_t(std::min(*v, 1e9)));
  }
  read_sentence_transformers(m);
  return m;
}

}  // namespace lowbit
