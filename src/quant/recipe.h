// Quantization recipes: per encoder layer, per GEMM (q1 QKV, q2 attention output, q3 FFN in,
// q4 FFN out), a mode and the weight / activation schemes it implies. A recipe is stored in a
// lowbit model folder as recipe.json next to the quantized weights.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quant/scheme.h"

namespace lowbit {

enum class GemmMode { Fp32, Fp16, W8A8, W4A8, W4A4, Fp8 };
const char* gemm_mode_name(GemmMode m);
GemmMode parse_gemm_mode(const std::string& s);  // throws naming the valid modes
bool is_quantized(GemmMode m);                   // an integer or FP8 mode

constexpr int kGemmsPerLayer = 4;
// "q1".."q4" and what each is.
const char* gemm_name(int g);
const char* gemm_role(int g);
int parse_gemm_name(const std::string& s);  // "q1".."q4" -> 0..3

struct GemmQuant {
  GemmMode mode = GemmMode::Fp32;
  QuantScheme weight;  // meaningful when is_quantized(mode)
  QuantScheme act;     // likewise: token-wise, one group per row

  // The schemes of `mode`: weights symmetric (groups of `group_size` along K; 0 = per output
  // channel), activations symmetric or, with `asym`, asymmetric (integer modes only).
  static GemmQuant make(GemmMode mode, bool asym = false, int64_t group_size = 0);
  std::string str() const;  // "w8a8 (weight int8, activation uint8_c3.5)"
  bool operator==(const GemmQuant&) const = default;
};

using LayerQuant = std::array<GemmQuant, kGemmsPerLayer>;

struct Recipe {
  std::string name;                // as given to `lowbit quantize --recipe`, e.g. "w4a4"
  std::vector<LayerQuant> layers;  // one per encoder layer
  std::string source_dir;          // where the FP32 checkpoint was read from
  std::string source_name;         // its config.json _name_or_path, or the folder name
  std::string source_sha256;       // of its model.safetensors
  std::string weights_sha256;      // of the lowbit model.safetensors next to recipe.json
  nlohmann::json calibration;      // clip search report (null when none was run)

  // Every layer the same: `mode` on the GEMMs in `parts` (others FP32).
  static Recipe uniform(const std::string& name, int64_t layers, GemmMode mode, bool asym,
                        int64_t group_size, const std::vector<int>& parts = {0, 1, 2, 3});
  nlohmann::json to_json() const;
  // Validates every field; `where` names the file in messages; the layer count must match.
  static Recipe from_json(const nlohmann::json& j, const std::string& where, int64_t num_layers);
  // "w8a8 on q1,q2,q3,q4" style summary, per distinct mode.
  std::string summary() const;
};

}  // namespace lowbit
