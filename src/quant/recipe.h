// Quantization recipes: per layer, per named GEMM, a mode and the weight / activation schemes it
// implies. The model declares the GEMMs of its layers (GemmSlots; the encoder's are q1 QKV, q2
// attention output, q3 FFN in, q4 FFN out), and a recipe is validated against them. A recipe is
// stored in a lowbit model folder as recipe.json next to the quantized weights, each layer an
// object keyed by the GEMM names.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quant/scheme.h"

namespace lowbit {

// W4A8Fp8 ("w4a8-fp8", ZeroQuant-FP): 4-bit symmetric weights with power-of-two scales and FP8
// E4M3 activations; the weights are widened to E4M3 exactly (widen_pow2_to_fp8) and the GEMM is
// the FP8 one.
enum class GemmMode { Fp32, Fp16, W8A8, W4A8, W4A4, Fp8, W4A8Fp8 };
const char* gemm_mode_name(GemmMode m);
GemmMode parse_gemm_mode(const std::string& s);  // throws naming the valid modes
bool is_quantized(GemmMode m);                   // an integer or FP8 mode

// One GEMM of a layer as recipes name it, and what it is.
struct GemmSlot {
  std::string name;  // "q1"
  std::string role;  // "QKV projection"
};
using GemmSlots = std::vector<GemmSlot>;
// The transformer encoder's: q1 QKV, q2 attention output, q3 FFN intermediate, q4 FFN output.
const GemmSlots& encoder_gemm_slots();
// The index of `s` in `slots`; throws naming the valid names.
int parse_gemm_name(const std::string& s, const GemmSlots& slots = encoder_gemm_slots());

// The encoder's GEMM count (the qbest plan's per-GEMM mixes are the encoder's for now).
constexpr int kGemmsPerLayer = 4;
const char* gemm_name(int g);  // the encoder's: "q1".."q4"
const char* gemm_role(int g);

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

using LayerQuant = std::vector<GemmQuant>;  // one per GemmSlot of the recipe's model

struct Recipe {
  std::string name;                // as given to `lowbit quantize --recipe`, e.g. "w4a4"
  GemmSlots gemms = encoder_gemm_slots();  // the GEMMs of each layer, by name
  std::vector<LayerQuant> layers;  // one per layer
  std::string source_dir;          // where the FP32 checkpoint was read from
  std::string source_name;         // its config.json _name_or_path, or the folder name
  std::string source_sha256;       // of its model.safetensors
  std::string weights_sha256;      // of the lowbit model.safetensors next to recipe.json
  nlohmann::json calibration;      // clip search report (null when none was run)

  // Every layer the same: `mode` on the GEMMs in `parts` (indices into `gemms`; empty: all),
  // the others FP32.
  static Recipe uniform(const std::string& name, int64_t layers, GemmMode mode, bool asym,
                        int64_t group_size, const std::vector<int>& parts = {},
                        const GemmSlots& gemms = encoder_gemm_slots());
  nlohmann::json to_json() const;
  // Validates every field; `where` names the file in messages; the layer count must match and
  // each layer must name exactly the model's GEMMs (`gemms`).
  static Recipe from_json(const nlohmann::json& j, const std::string& where, int64_t num_layers,
                          const GemmSlots& gemms = encoder_gemm_slots());
  // Throws unless this recipe's GEMMs are `gemms` (a recipe made for another model).
  void check_gemms(const GemmSlots& gemms, const std::string& where) const;
  // "w8a8 on q1,q2,q3,q4" style summary, per distinct mode.
  std::string summary() const;
};

}  // namespace lowbit
