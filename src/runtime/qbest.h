// qbest: a per-shape choice of each GEMM's precision, tuned on one GPU (`lowbit tune`, the
// paper's per-GEMM mix). A batch of T tokens takes the first entry (sorted by tokens) with
// tokens >= T, else the last.
#pragma once

#include <string>
#include <vector>

#include "io/json_util.h"
#include "ops/exec.h"

namespace lowbit {

std::string mix_name(const GemmMix& m);  // "w4a4/w4a8/w8a8/fp16" (q1/q2/q3/q4)

struct QbestPlan {
  struct Entry {
    int64_t tokens = 0;
    GemmMix mix{};
  };
  std::string device;  // the GPU it was tuned on
  std::vector<Entry> entries;

  const GemmMix& lookup(int64_t tokens) const;
  Json to_json() const;
  // Throws naming `where` and the field on a malformed plan.
  static QbestPlan from_json(const Json& j, const std::string& where);
};

}  // namespace lowbit
