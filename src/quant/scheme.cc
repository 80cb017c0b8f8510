// Compiled with -ffp-contract=off (src/CMakeLists.txt): every step below is one IEEE float32
// operation, as docs/quantization.md requires, so a fused multiply-add must never appear.
#include "quant/scheme.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "quant/fp8.h"

namespace lowbit {

void QuantScheme::validate() const {
  if (kind == QuantKind::Int && (bits < 2 || bits > 8))
    fail("quant scheme: integer bits must be 2..8, got ", bits);
  if (kind == QuantKind::Fp8E4M3 && bits != 8) fail("quant scheme fp8: bits must be 8, got ", bits);
  if (kind == QuantKind::Fp8E4M3 && !symmetric)
    fail("quant scheme fp8: E4M3 has no asymmetric (zero-point) form");
  if (group_size < 0) fail("quant scheme ", str(), ": negative group size ", group_size);
  if (clip && !(std::isfinite(*clip) && *clip > 0))
    fail("quant scheme: clip must be finite and > 0, got ", *clip);
  if (pow2 && !(kind == QuantKind::Int && symmetric))
    fail("quant scheme ", str(), ": power-of-two scales (_p2) need a symmetric integer scheme");
}

int64_t QuantScheme::groups_per_row(int64_t cols, std::string_view what) const {
  validate();
  if (cols <= 0) fail(what, ": rows must have at least one element, got ", cols);
  packed_row_bytes(layout(), cols, std::string(what).c_str());
  if (group_size == 0) return 1;
  if (cols % group_size != 0)
    fail(what, ": group size ", group_size, " of scheme ", str(),
         " does not divide the row length ", cols);
  return cols / group_size;
}

PackedLayout QuantScheme::layout() const {
  if (kind == QuantKind::Fp8E4M3) return PackedLayout::Fp8E4M3;
  if (bits <= 4) return symmetric ? PackedLayout::Int4 : PackedLayout::UInt4;
  return symmetric ? PackedLayout::Int8 : PackedLayout::UInt8;
}

std::string QuantScheme::str() const {
  std::string s =
      kind == QuantKind::Fp8E4M3 ? "fp8" : (symmetric ? "int" : "uint") + std::to_string(bits);
  if (group_size) s += "_g" + std::to_string(group_size);
  if (clip) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, *clip);  // shortest round-trip form
    s += "_c" + std::string(buf, r.ptr);
  }
  if (pow2) s += "_p2";
  return s;
}

QuantScheme QuantScheme::parse(std::string_view text) {
  auto bad = [&](const char* why) -> QuantScheme {
    fail("quant scheme '", text, "': ", why,
         " (expected int<b>, uint<b> or fp8, then optional _g<group>, _c<clip> and _p2)");
  };
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find('_', start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  QuantScheme s;
  size_t i = 1;
  const std::string_view base = parts[0];
  if (base == "fp8") {
    s = fp8();
    if (parts.size() > 1 && parts[1] == "e4m3") i = 2;
  } else {
    const bool asym = base.starts_with("uint");
    if (!asym && !base.starts_with("int")) return bad("unknown kind");
    const std::string_view num = base.substr(asym ? 4 : 3);
    int bits = 0;
    const auto r = std::from_chars(num.data(), num.data() + num.size(), bits);
    if (num.empty() || r.ec != std::errc() || r.ptr != num.data() + num.size())
      return bad("bad bit count");
    s = asym ? int_asym(bits) : int_sym(bits);
  }
  bool seen_g = false, seen_c = false, seen_p = false;
  for (; i < parts.size(); ++i) {
    const std::string_view p = parts[i];
    const std::string_view v = p.empty() ? p : p.substr(1);
    const char* first = v.data();
    const char* last = v.data() + v.size();
    if (!p.empty() && p[0] == 'g' && !seen_g) {
      seen_g = true;
      const auto r = std::from_chars(first, last, s.group_size);
      if (v.empty() || r.ec != std::errc() || r.ptr != last || s.group_size <= 0)
        return bad("bad group size");
    } else if (!p.empty() && p[0] == 'c' && !seen_c) {
      seen_c = true;
      float c = 0;
      const auto r = std::from_chars(first, last, c);
      if (v.empty() || r.ec != std::errc() || r.ptr != last) return bad("bad clip value");
      s.clip = c;
    } else if (p == "p2" && !seen_p) {
      seen_p = true;
      s.pow2 = true;
    } else {
      return bad("unknown or repeated option");
    }
  }
  try {
    s.validate();
  } catch (const Error& e) {
    fail("quant scheme '", text, "': ", e.what());
  }
  return s;
}

namespace {

enum class GroupStatus : uint8_t { Ok, NonFinite, RangeOverflow };

// The smallest power of two >= s (s > 0, finite): s itself when it is one; exact (frexp, ldexp).
// Above 2^127 the ceiling would be 2^128 = inf: the scale is held at 2^127 and codes saturate.
float pow2_ceil(float s) {
  int e = 0;
  const float m = std::frexp(s, &e);  // s = m · 2^e, m in [0.5, 1)
  if (m == 0.5f) return s;
  return e >= 128 ? std::ldexp(1.0f, 127) : std::ldexp(1.0f, e);
}

inline float clip_to(float v, const std::optional<float>& c) {
  if (!c) return v;
  return v < -*c ? -*c : (v > *c ? *c : v);
}

// Range of the clipped values of one group.
void clipped_range(const float* x, int64_t n, const std::optional<float>& c, float* lo, float* hi) {
  *lo = *hi = clip_to(x[0], c);
  for (int64_t i = 1; i < n; ++i) {
    const float v = clip_to(x[i], c);
    *lo = std::min(*lo, v);
    *hi = std::max(*hi, v);
  }
}

// Quantizes one group: n elements starting at column k0 of a packed row.
GroupStatus quantize_group(const QuantScheme& s, const float* x, int64_t n, uint8_t* row,
                           int64_t k0, float* scale_out, float* zero_out) {
  // The non-finite check looks at the raw input: a clip must not turn Inf into a number.
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return GroupStatus::NonFinite;
  const PackedLayout layout = s.layout();
  if (s.kind == QuantKind::Fp8E4M3 || s.symmetric) {
    float m = 0.0f;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(clip_to(x[i], s.clip)));
    const float denom = s.kind == QuantKind::Fp8E4M3 ? kE4M3Max : float(s.qmax());
    float scale = m / denom;
    if (scale == 0.0f) scale = 1.0f;  // m == 0, or m so small that the quotient underflows
    if (s.pow2) scale = pow2_ceil(scale);
    *scale_out = scale;
    if (s.kind == QuantKind::Fp8E4M3) {
      for (int64_t i = 0; i < n; ++i) row[k0 + i] = e4m3_encode(clip_to(x[i], s.clip) / scale);
      return GroupStatus::Ok;
    }
    const float qlo = float(s.qmin()), qhi = float(s.qmax());
    for (int64_t i = 0; i < n; ++i) {
      const float q = std::clamp(std::nearbyint(clip_to(x[i], s.clip) / scale), qlo, qhi);
      store_code(layout, row, k0 + i, int32_t(q));
    }
    return GroupStatus::Ok;
  }
  float lo, hi;
  clipped_range(x, n, s.clip, &lo, &hi);
  // The range always holds 0, which gets an integer code zp: 0.0 quantizes exactly
  // (docs/quantization.md says why).
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const float range = hi - lo;
  if (std::isinf(range)) return GroupStatus::RangeOverflow;
  float scale = range / float(s.qmax());
  if (scale == 0.0f) scale = 1.0f;
  const float top = float(s.qmax());
  const float zp = std::clamp(std::nearbyint(-lo / scale), 0.0f, top);
  *scale_out = scale;
  *zero_out = zp == 0.0f ? 0.0f : -(zp * scale);
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::clamp(std::nearbyint(clip_to(x[i], s.clip) / scale) + zp, 0.0f, top);
    store_code(layout, row, k0 + i, int32_t(q));
  }
  return GroupStatus::Ok;
}

[[noreturn]] void report_bad_row(const QuantScheme& s, const float* row, int64_t cols,
                                 int64_t groups, GroupStatus st, std::string_view name, int64_t r) {
  const int64_t g_len = cols / groups;
  for (int64_t c = 0; c < cols; ++c)
    if (!std::isfinite(row[c]))
      fail(name, ": row ", r, " has a non-finite value ", row[c], " at column ", c,
           " (cannot quantize with ", s.str(), ")");
  for (int64_t g = 0; g < groups; ++g) {
    float lo, hi;
    clipped_range(row + g * g_len, g_len, s.clip, &lo, &hi);
    if (std::isinf(hi - lo))
      fail(name, ": row ", r, ", columns ", g * g_len, "..", (g + 1) * g_len - 1,
           ": max - min = ", hi, " - ", lo, " overflows float32 (cannot quantize with ", s.str(),
           "; a clip value would bound it)");
  }
  fail(name, ": row ", r, ": quantization failed (status ", int(st), ")");
}

}  // namespace

void quantize_rows(const QuantScheme& s, const float* x, int64_t rows, int64_t cols, uint8_t* codes,
                   float* scales, float* zeros, std::string_view name, int64_t row_offset) {
  const int64_t groups = s.groups_per_row(cols, name);
  const int64_t g_len = cols / groups;
  const int64_t row_bytes = packed_row_bytes(s.layout(), cols);
  if (!s.symmetric && !zeros) fail(name, ": asymmetric scheme ", s.str(), " needs zero points");
  // Rows are independent; the first failing row (lowest index) is reported after the loop,
  // because an exception must not leave an OpenMP region.
  std::atomic<int64_t> bad_row{rows};
  std::atomic<int> bad_status{0};
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = codes + r * row_bytes;
    std::fill(row, row + row_bytes, uint8_t(0));
    for (int64_t g = 0; g < groups; ++g) {
      float zero = 0.0f;
      const GroupStatus st = quantize_group(s, x + r * cols + g * g_len, g_len, row, g * g_len,
                                            &scales[r * groups + g], &zero);
      if (zeros) zeros[r * groups + g] = zero;
      if (st != GroupStatus::Ok) {
        int64_t cur = bad_row.load();
        while (r < cur && !bad_row.compare_exchange_weak(cur, r)) {
        }
        bad_status.store(int(st));
        break;
      }
    }
  }
  const int64_t r = bad_row.load();
  if (r < rows)
    report_bad_row(s, x + r * cols, cols, groups, GroupStatus(bad_status.load()), name,
                   r + row_offset);
}

void dequantize_rows(const QuantScheme& s, const uint8_t* codes, const float* scales,
                     const float* zeros, int64_t rows, int64_t cols, float* out) {
  const int64_t groups = s.groups_per_row(cols, "dequantize");
  const int64_t g_len = cols / groups;
  const int64_t row_bytes = packed_row_bytes(s.layout(), cols);
  const PackedLayout layout = s.layout();
  const float* fp8 = e4m3_table();
  if (!s.symmetric && !zeros) fail("dequantize: asymmetric scheme ", s.str(), " needs zero points");
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = codes + r * row_bytes;
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t g = r * groups + c / g_len;
      const int32_t q = load_code(layout, row, c);
      if (s.kind == QuantKind::Fp8E4M3) {
        out[r * cols + c] = scales[g] * fp8[q];
      } else if (s.symmetric) {
        out[r * cols + c] = scales[g] * float(q);
      } else {
        const float scaled = scales[g] * float(q);
        out[r * cols + c] = scaled + zeros[g];
      }
    }
  }
}

}  // namespace lowbit
