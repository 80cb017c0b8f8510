#include "quant/ptq.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/hash.h"
#include "io/json_util.h"
#include "io/model_dir.h"
#include "lowbit/tokenizer.h"
#include "models/encoder.h"
#include "quant/quantized.h"

namespace fs = std::filesystem;

namespace lowbit {

namespace {

bool is_weights_file(const fs::path& p) {
  static const char* kExt[] = {".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".ot", ".pt"};
  for (const char* e : kExt)
    if (p.extension() == e) return true;
  return false;
}

// Config, tokenizer and sentence-transformers files travel with the quantized weights.
void copy_side_files(const std::string& src, const fs::path& dst) {
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    const fs::path rel = fs::relative(e.path(), src);
    if (rel.begin()->string() == "onnx" || rel.begin()->string() == "openvino") continue;
    if (e.is_directory()) {
      fs::create_directories(dst / rel);
    } else if (e.is_regular_file() && !is_weights_file(e.path())) {
      fs::copy_file(e.path(), dst / rel, fs::copy_options::overwrite_existing);
    }
  }
}

// Token rows fed to each GEMM by the FP32 model on the calibration texts.
std::vector<std::vector<std::vector<float>>> collect_inputs(const Encoder& model,
                                                            const ModelDir& dir,
                                                            const QuantizeOptions& opts) {
  const auto tok = Tokenizer::from_dir(dir.dir);
  const size_t layers = model.layers().size();
  std::vector<std::vector<std::vector<float>>> rows(layers, std::vector<std::vector<float>>(4));
  std::vector<std::vector<int64_t>> kept(layers, std::vector<int64_t>(4, 0));
  const Encoder::Observer obs = [&](int64_t l, int g, const Tensor& x) {
    auto& dst = rows[size_t(l)][size_t(g)];
    int64_t& n = kept[size_t(l)][size_t(g)];
    const int64_t take = std::min<int64_t>(x.dim(0), opts.calib_max_rows - n);
    if (take <= 0) return;
    dst.insert(dst.end(), x.data<float>(), x.data<float>() + take * x.dim(1));
    n += take;
  };
  for (size_t i = 0; i < opts.calib.size(); ++i) {
    const Encoding e = tok->encode(opts.calib[i], size_t(dir.max_length));
    RaggedBatch b(dir.config);
    b.add(e.ids, e.type_ids);
    model.forward(b, &obs);
    // Every GEMM has seen as many rows as the first: stop once its budget is full.
    const bool full = kept[0][0] >= opts.calib_max_rows;
    if (opts.progress)
      opts.progress("calibrating", full ? opts.calib.size() : i + 1, opts.calib.size());
    if (full) break;
  }
  return rows;
}

double rel_err(const std::vector<float>& y, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    num += (double(y[i]) - ref[i]) * (double(y[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return den > 0 ? num / den : num;
}

// Chooses the activation clip of one quantized GEMM that minimises its output error on the
// calibration rows x [rows, in], given its FP32 layer `fp` and quantized weights `qw`.
ClipChoice search_clip(const std::vector<float>& x, const Linear& fp, GemmQuant& q,
                       const QuantizedMatrix& qw, int64_t layer, int gemm) {
  const int64_t rows = int64_t(x.size()) / fp.in;
  Tensor xt = Tensor::empty({rows, fp.in});
  std::copy(x.begin(), x.end(), xt.data<float>());
  Tensor ref = Tensor::empty({rows, fp.out});
  ops::linear(xt, fp.weight, fp.bias, ref, ops::Epilogue::None);
  const std::vector<float> ref_v(ref.data<float>(), ref.data<float>() + ref.numel());
  float absmax = 0;
  for (float v : x) absmax = std::max(absmax, std::fabs(v));
  std::vector<float> y(size_t(rows * fp.out));
  auto err_with = [&](std::optional<float> clip) {
    QuantScheme s = q.act;
    s.clip = clip;
    const QuantizedMatrix qx = quantize_matrix(xt, s, fp.name + " calibration input");
    quantized_matmul(qx, qw, fp.bias.defined() ? fp.bias.data<float>() : nullptr, y.data());
    return rel_err(y, ref_v);
  };
  ClipChoice c{layer, gemm, absmax, 0.0f, err_with(std::nullopt), 0.0};
  c.err_clip = c.err_noclip;
  for (float r : {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f}) {
    const float clip = absmax * r;
    if (!(clip > 0)) break;
    const double e = err_with(clip);
    if (e < c.err_clip) {
      c.err_clip = e;
      c.clip = clip;
    }
  }
  if (c.clip > 0) q.act.clip = c.clip;
  return c;
}

}  // namespace

QuantizeReport quantize_model(const QuantizeOptions& opts) {
  const ModelDir dir = open_model_dir(opts.src_dir);
  if (fs::exists(fs::path(opts.src_dir) / "recipe.json"))
    fail(opts.src_dir, ": is already a lowbit model (recipe.json); quantize the FP32 checkpoint");
  const fs::path out(opts.out_dir);
  if (fs::exists(out) && !opts.overwrite && !fs::is_empty(out))
    fail(opts.out_dir, ": exists and is not empty (pass --force to replace it)");
  if (opts.parts.empty()) fail("no GEMMs selected (--parts)");

  const SafeTensors weights = SafeTensors::open(dir.weights_path);
  Encoder model(dir.config, weights);
  QuantizeReport rep;
  Recipe& recipe = rep.recipe;
  recipe = Recipe::uniform(opts.recipe, dir.config.num_layers, parse_gemm_mode(opts.recipe),
                           opts.asym, opts.group_size, opts.parts);
  recipe.source_dir = fs::absolute(opts.src_dir).lexically_normal().string();
  const Json cfg = read_json_file(dir.config_path);
  recipe.source_name = cfg.contains("_name_or_path") && cfg["_name_or_path"].is_string()
                           ? cfg["_name_or_path"].get<std::string>()
                           : fs::path(recipe.source_dir).filename().string();
  recipe.source_sha256 = sha256_file(dir.weights_path);

  for (const auto& [key, clip] : opts.act_clips) {
    const auto [l, g] = key;
    if (l < 0 || l >= int64_t(recipe.layers.size()) || g < 0 || g >= kGemmsPerLayer)
      fail("activation clip for layer ", l, " ", g >= 0 && g < kGemmsPerLayer ? gemm_name(g) : "q?",
           ": no such GEMM (", recipe.layers.size(), " layers)");
    GemmQuant& q = recipe.layers[size_t(l)][size_t(g)];
    if (!is_quantized(q.mode) || !(clip > 0) || !std::isfinite(clip))
      fail("activation clip ", clip, " for layer ", l, " ", gemm_name(g),
           ": the GEMM must be quantized and the clip finite and > 0");
    q.act.clip = clip;
  }
  if (!opts.act_clips.empty() && !opts.calib.empty())
    fail("give activation clips or calibration texts, not both");
  if (!opts.calib.empty() && is_quantized(parse_gemm_mode(opts.recipe))) {
    const auto inputs = collect_inputs(model, dir, opts);
    nlohmann::json report = nlohmann::json::array();
    size_t done = 0, total = model.layers().size() * opts.parts.size();
    for (size_t l = 0; l < model.layers().size(); ++l)
      for (int g : opts.parts) {
        GemmQuant& q = recipe.layers[l][size_t(g)];
        const Linear& fp = model.layers()[l].gemm(g);
        QuantizedMatrix qw = quantize_matrix(fp.weight, q.weight, fp.name + ".weight");
        if (q.mode == GemmMode::W4A8Fp8) qw = widen_pow2_to_fp8(qw);  // what runs
        const ClipChoice c = search_clip(inputs[l][size_t(g)], fp, q, qw, int64_t(l), g);
        rep.clips.push_back(c);
        report.push_back({{"layer", l},
                          {"gemm", gemm_name(g)},
                          {"absmax", c.absmax},
                          {"clip", c.clip},
                          {"rel_err_noclip", c.err_noclip},
                          {"rel_err_clip", c.err_clip}});
        if (opts.progress) opts.progress("searching clips", ++done, total);
      }
    recipe.calibration = {{"texts", opts.calib.size()},
                          {"max_rows_per_gemm", opts.calib_max_rows},
                          {"objective", "relative squared error of each GEMM's output"},
                          {"clips", report}};
  }
  model.apply_recipe(recipe);

  const fs::path tmp = out.string() + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    copy_side_files(opts.src_dir, tmp);
    const std::vector<OwnedTensor> tensors = model.export_tensors();
    std::vector<TensorToWrite> to_write;
    for (const OwnedTensor& t : tensors) to_write.push_back({t.name, t.dtype, t.shape, t.bytes});
    if (opts.progress) opts.progress("writing", 0, 1);
    const std::string wpath = (tmp / "model.safetensors").string();
    write_safetensors(wpath, to_write, {{"format", "lowbit"}, {"recipe", recipe.name}});
    recipe.weights_sha256 = sha256_file(wpath);
    std::ofstream(tmp / "recipe.json") << recipe.to_json().dump(2) << "\n";
    if (opts.progress) opts.progress("writing", 1, 1);
    rep.weights_bytes = int64_t(fs::file_size(wpath));
    rep.source_bytes = int64_t(fs::file_size(dir.weights_path));
    fs::remove_all(out);
    fs::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return rep;
}

}  // namespace lowbit
