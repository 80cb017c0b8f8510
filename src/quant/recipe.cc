#include "quant/recipe.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace lowbit {

namespace {
constexpr std::array<std::pair<GemmMode, const char*>, 7> kModes{{
    {GemmMode::Fp32, "fp32"},
    {GemmMode::Fp16, "fp16"},
    {GemmMode::W8A8, "w8a8"},
    {GemmMode::W4A8, "w4a8"},
    {GemmMode::W4A4, "w4a4"},
    {GemmMode::Fp8, "fp8"},
    {GemmMode::W4A8Fp8, "w4a8-fp8"},
}};
constexpr std::array<const char*, kGemmsPerLayer> kGemmNames{"q1", "q2", "q3", "q4"};
constexpr std::array<const char*, kGemmsPerLayer> kGemmRoles{"QKV projection", "attention output",
                                                             "FFN intermediate", "FFN output"};

std::string slot_names(const GemmSlots& slots) {
  std::string s;
  for (const GemmSlot& g : slots) s += (s.empty() ? "" : ", ") + g.name;
  return s;
}
}  // namespace

const GemmSlots& encoder_gemm_slots() {
  static const GemmSlots slots = [] {
    GemmSlots s;
    for (int g = 0; g < kGemmsPerLayer; ++g) s.push_back({kGemmNames[size_t(g)], kGemmRoles[size_t(g)]});
    return s;
  }();
  return slots;
}

const char* gemm_mode_name(GemmMode m) {
  for (const auto& [mode, name] : kModes)
    if (mode == m) return name;
  return "?";
}

GemmMode parse_gemm_mode(const std::string& s) {
  for (const auto& [mode, name] : kModes)
    if (s == name) return mode;
  fail("unknown quantization mode \"", s,
       "\" (expected fp32, fp16, w8a8, w4a8, w4a4, fp8 or w4a8-fp8)");
}

bool is_quantized(GemmMode m) { return m != GemmMode::Fp32 && m != GemmMode::Fp16; }

const char* gemm_name(int g) { return kGemmNames.at(size_t(g)); }
const char* gemm_role(int g) { return kGemmRoles.at(size_t(g)); }

int parse_gemm_name(const std::string& s, const GemmSlots& slots) {
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].name == s) return int(i);
  fail("unknown GEMM \"", s, "\" (this model's GEMMs are ", slot_names(slots), ")");
}

GemmQuant GemmQuant::make(GemmMode mode, bool asym, int64_t group_size) {
  GemmQuant q;
  q.mode = mode;
  auto act = [&](int bits) {
    return asym ? QuantScheme::int_asym(bits) : QuantScheme::int_sym(bits);
  };
  switch (mode) {
    case GemmMode::Fp32:
    case GemmMode::Fp16:
      return q;
    case GemmMode::W8A8:
      q.weight = QuantScheme::int_sym(8, group_size);
      q.act = act(8);
      break;
    case GemmMode::W4A8:
      q.weight = QuantScheme::int_sym(4, group_size);
      q.act = act(8);
      break;
    case GemmMode::W4A4:
      q.weight = QuantScheme::int_sym(4, group_size);
      q.act = act(4);
      break;
    case GemmMode::Fp8:
      if (asym) fail("fp8 has no asymmetric form (--asym applies to integer modes)");
      if (group_size) fail("fp8 weights use one scale per output channel (no --group-size)");
      q.weight = QuantScheme::fp8();
      q.act = QuantScheme::fp8();
      break;
    case GemmMode::W4A8Fp8:
      if (asym) fail("w4a8-fp8 has FP8 activations, which have no asymmetric form (no --asym)");
      q.weight = QuantScheme::int_sym(4, group_size);
      q.weight.pow2 = true;
      q.act = QuantScheme::fp8();
      break;
  }
  q.weight.validate();
  q.act.validate();
  return q;
}

std::string GemmQuant::str() const {
  if (!is_quantized(mode)) return gemm_mode_name(mode);
  return std::string(gemm_mode_name(mode)) + " (weight " + weight.str() + ", activation " +
         act.str() + ")";
}

Recipe Recipe::uniform(const std::string& name, int64_t layers, GemmMode mode, bool asym,
                       int64_t group_size, const std::vector<int>& parts, const GemmSlots& gemms) {
  Recipe r;
  r.name = name;
  r.gemms = gemms;
  LayerQuant lq(gemms.size());
  if (parts.empty())
    for (auto& q : lq) q = GemmQuant::make(mode, asym, group_size);
  for (int p : parts) lq.at(size_t(p)) = GemmQuant::make(mode, asym, group_size);
  r.layers.assign(size_t(layers), lq);
  return r;
}

nlohmann::json Recipe::to_json() const {
  nlohmann::json layers_j = nlohmann::json::array();
  for (const LayerQuant& l : layers) {
    nlohmann::json lj = nlohmann::json::object();
    for (size_t g = 0; g < gemms.size(); ++g) {
      const GemmQuant& q = l.at(g);
      nlohmann::json gj = {{"mode", gemm_mode_name(q.mode)}};
      if (is_quantized(q.mode)) {
        gj["weight"] = q.weight.str();
        gj["activation"] = q.act.str();
      }
      lj[gemms[g].name] = gj;
    }
    layers_j.push_back(lj);
  }
  return {{"format", "lowbit"},
          {"format_version", 1},
          {"recipe", name},
          {"summary", summary()},
          {"source", {{"dir", source_dir}, {"name", source_name}, {"sha256", source_sha256}}},
          {"weights_sha256", weights_sha256},
          {"layers", layers_j},
          {"calibration", calibration}};
}

namespace {
std::string str_field(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) fail(where, ": field \"", key, "\" must be a string");
  return it->get<std::string>();
}

GemmQuant gemm_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(where, ": must be an object");
  GemmQuant q;
  q.mode = parse_gemm_mode(str_field(j, "mode", where));
  if (!is_quantized(q.mode)) {
    if (j.contains("weight") || j.contains("activation"))
      fail(where, ": mode ", gemm_mode_name(q.mode), " takes no weight/activation schemes");
    return q;
  }
  try {
    q.weight = QuantScheme::parse(str_field(j, "weight", where));
    q.act = QuantScheme::parse(str_field(j, "activation", where));
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
  // The schemes must be what the mode means (a clip and the weight group size may vary).
  GemmQuant expect = GemmQuant::make(q.mode, !q.act.symmetric, q.weight.group_size);
  expect.act.clip = q.act.clip;
  expect.weight.clip = q.weight.clip;
  if (!(expect == q))
    fail(where, ": schemes ", q.weight.str(), " / ", q.act.str(), " do not match mode ",
         gemm_mode_name(q.mode), " (expected weight ", expect.weight.str(), ", activation ",
         expect.act.str(), ")");
  if (q.act.group_size != 0) fail(where, ": activations are quantized per token (no group size)");
  return q;
}
}  // namespace

Recipe Recipe::from_json(const nlohmann::json& j, const std::string& where, int64_t num_layers,
                         const GemmSlots& gemms) {
  if (!j.is_object()) fail(where, ": expected a JSON object");
  if (str_field(j, "format", where) != "lowbit") fail(where, ": \"format\" must be \"lowbit\"");
  auto ver = j.find("format_version");
  if (ver == j.end() || !ver->is_number_integer() || ver->get<int>() != 1)
    fail(where, ": unsupported format_version (this lowbit reads version 1)");
  Recipe r;
  r.name = str_field(j, "recipe", where);
  r.gemms = gemms;
  auto src = j.find("source");
  if (src == j.end() || !src->is_object()) fail(where, ": field \"source\" must be an object");
  r.source_dir = str_field(*src, "dir", where + " source");
  r.source_name = str_field(*src, "name", where + " source");
  r.source_sha256 = str_field(*src, "sha256", where + " source");
  r.weights_sha256 = str_field(j, "weights_sha256", where);
  if (r.weights_sha256.size() != 64) fail(where, ": weights_sha256 must be 64 hex digits");
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) fail(where, ": field \"layers\" must be a list");
  if (int64_t(layers->size()) != num_layers)
    fail(where, ": has ", layers->size(),
         " layers but config.json says num_hidden_layers = ", num_layers);
  for (size_t i = 0; i < layers->size(); ++i) {
    const nlohmann::json& lj = (*layers)[i];
    const std::string lw = where + " layer " + std::to_string(i);
    if (!lj.is_object()) fail(lw, ": must be an object of the GEMMs ", slot_names(gemms));
    LayerQuant lq(gemms.size());
    for (size_t g = 0; g < gemms.size(); ++g) {
      auto it = lj.find(gemms[g].name);
      if (it == lj.end())
        fail(lw, ": missing ", gemms[g].name, " (this model's GEMMs are ", slot_names(gemms), ")");
      lq[g] = gemm_from_json(*it, lw + " " + gemms[g].name);
    }
    for (auto it = lj.begin(); it != lj.end(); ++it) {
      const std::string key = it.key();  // (clang 14 cannot capture a structured binding)
      if (std::none_of(gemms.begin(), gemms.end(), [&](const GemmSlot& g) { return g.name == key; }))
        fail(lw, ": unknown GEMM \"", key, "\" (this model's GEMMs are ", slot_names(gemms),
             "; was this recipe made for another model? re-quantize with lowbit quantize)");
    }
    r.layers.push_back(lq);
  }
  if (auto c = j.find("calibration"); c != j.end()) r.calibration = *c;
  return r;
}

void Recipe::check_gemms(const GemmSlots& want, const std::string& where) const {
  bool same = want.size() == gemms.size();
  for (size_t i = 0; same && i < want.size(); ++i) same = want[i].name == gemms[i].name;
  if (!same)
    fail(where, ": the recipe names the GEMMs ", slot_names(gemms), " but this model has ",
         slot_names(want));
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].size() != gemms.size())
      fail(where, ": layer ", i, " of the recipe has ", layers[i].size(), " GEMMs, not ",
           gemms.size());
}

std::string Recipe::summary() const {
  std::map<std::string, std::string> parts;  // mode -> "q1,q2"
  std::vector<std::string> order;
  for (size_t g = 0; g < gemms.size(); ++g) {
    std::string modes;
    std::vector<GemmMode> seen;  // whole modes: "w4a8-fp8" holds "w4a8" and "fp8" as substrings
    for (const LayerQuant& l : layers) {
      const GemmMode md = l.at(g).mode;
      if (std::find(seen.begin(), seen.end(), md) != seen.end()) continue;
      seen.push_back(md);
      if (!modes.empty()) modes += '/';
      modes += gemm_mode_name(md);
    }
    if (!parts.count(modes)) order.push_back(modes);
    std::string& p = parts[modes];
    if (!p.empty()) p += ',';
    p += gemms[g].name;
  }
  std::string s;
  for (const auto& m : order) {
    if (!s.empty()) s += "; ";
    s += m;
    s += " on ";
    s += parts[m];
  }
  return s;
}

}  // namespace lowbit
