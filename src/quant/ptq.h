// Post-training quantization: FP32 checkpoint folder -> lowbit model folder.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "quant/recipe.h"

namespace lowbit {

struct QuantizeOptions {
  std::string src_dir;                 // a Hugging Face / sentence-transformers BERT folder
  std::string out_dir;                 // created; must not exist unless `overwrite`
  std::string recipe = "w8a8";         // fp32 | fp16 | w8a8 | w4a8 | w4a4 | fp8
  bool asym = false;                   // asymmetric (token-wise) activations
  std::vector<int> parts{0, 1, 2, 3};  // which GEMMs take the recipe (others stay FP32)
  int64_t group_size = 0;              // weight groups along K (0: per output channel)
  std::vector<std::string> calib;      // calibration texts: when given, search activation clips
  int64_t calib_max_rows = 4096;       // token rows kept per GEMM for the clip search
  // Activation clips given, not searched (e.g. learned in QAT, python/lowbit): (layer, gemm
  // 0..3) -> clip > 0. Each named GEMM must be quantized by the recipe.
  std::map<std::pair<int64_t, int>, float> act_clips;
  bool overwrite = false;
  // (stage, done, total) as the work advances.
  std::function<void(const std::string&, size_t, size_t)> progress;
};

struct ClipChoice {
  int64_t layer;
  int gemm;
  float absmax;       // of the calibration inputs
  float clip;         // chosen (0: none)
  double err_noclip;  // relative squared output error ||Yq - Y||² / ||Y||² without a clip
  double err_clip;    // ... with the chosen clip
};

struct QuantizeReport {
  Recipe recipe;
  std::vector<ClipChoice> clips;
  int64_t weights_bytes = 0;  // the lowbit model.safetensors
  int64_t source_bytes = 0;   // the source model.safetensors
};

// Quantizes, writes out_dir (model.safetensors, recipe.json, the config and tokenizer files) and
// returns what it did. Writes into a temporary folder renamed at the end, so a failure leaves no
// half-written model.
QuantizeReport quantize_model(const QuantizeOptions& opts);

}  // namespace lowbit
