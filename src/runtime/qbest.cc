#include "runtime/qbest.h"

#include <algorithm>

#include "core/error.h"

namespace lowbit {

std::string mix_name(const GemmMix& m) {
  std::string s;
  for (int g = 0; g < kGemmsPerLayer; ++g)
    s += (g ? "/" : "") + std::string(gemm_mode_name(m[size_t(g)]));
  return s;
}

const GemmMix& QbestPlan::lookup(int64_t tokens) const {
  if (entries.empty()) fail("qbest plan: no entries");
  for (const Entry& e : entries)
    if (e.tokens >= tokens) return e.mix;
  return entries.back().mix;
}

Json QbestPlan::to_json() const {
  Json j;
  j["device"] = device;
  j["entries"] = Json::array();
  for (const Entry& e : entries) {
    Json m = Json::array();
    for (GemmMode g : e.mix) m.push_back(gemm_mode_name(g));
    j["entries"].push_back({{"tokens", e.tokens}, {"mix", m}});
  }
  return j;
}

QbestPlan QbestPlan::from_json(const Json& j, const std::string& where) {
  QbestPlan p;
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
    fail(where, ": a qbest plan needs an \"entries\" array");
  p.device = optional_string(j, "device", where).value_or("");
  for (const Json& e : j["entries"]) {
    if (!e.is_object()) fail(where, ": each entry must be an object");
    Entry en;
    en.tokens = required_int(e, "tokens", where);
    if (en.tokens < 1) fail(where, ": entry tokens must be >= 1, got ", en.tokens);
    if (!e.contains("mix") || !e["mix"].is_array() || e["mix"].size() != kGemmsPerLayer)
      fail(where, ": entry for ", en.tokens, " tokens needs \"mix\": four modes (q1..q4)");
    for (int g = 0; g < kGemmsPerLayer; ++g) {
      if (!e["mix"][size_t(g)].is_string()) fail(where, ": mix modes must be strings");
      en.mix[size_t(g)] = parse_gemm_mode(e["mix"][size_t(g)].get<std::string>());
    }
    p.entries.push_back(en);
  }
  if (p.entries.empty()) fail(where, ": the plan has no entries");
  std::sort(p.entries.begin(), p.entries.end(),
            [](const Entry& a, const Entry& b) { return a.tokens < b.tokens; });
  return p;
}

}  // namespace lowbit
