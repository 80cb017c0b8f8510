// The quantization reference: quantizers vs the independent NumPy golden vectors (bit for bit),
// E4M3 exhaustively, packing round trips, integer GEMMs bit-exact vs a naive loop, the float
// epilogue and the FP8 GEMM vs float64, and the errors. Compiled with -ffp-contract=off so that
// the reference formulas written here are evaluated exactly as written.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/int_gemm.h"
#include "core/error.h"
#include "quant/fp8.h"
#include "quant/packing.h"
#include "quant/quantized.h"
#include "quant/scheme.h"
#include "test_util.h"

namespace lowbit {
namespace {

using cpu::GemmOperand;
using cpu::GemmScales;

constexpr double kU = 1.0 / (1 << 24);  // float32 unit roundoff

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }
float float_of_hex(const std::string& h) {
  return std::bit_cast<float>(uint32_t(std::stoul(h, nullptr, 16)));
}

// The message of the lowbit::Error that `fn` throws ("" and a test failure when none).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no lowbit::Error thrown";
  return "";
}

// ---------------------------------------------------------------------------------------------
// Golden vectors

TEST(QuantGolden, EveryCaseBitExact) {
  std::ifstream in(testing::data_path("quant/golden.json"));
  ASSERT_TRUE(in) << "missing tests/data/quant/golden.json";
  const auto doc = nlohmann::json::parse(in);
  int checked = 0, errors = 0;
  for (const auto& c : doc["cases"]) {
    const std::string name = c["name"], scheme_str = c["scheme"];
    SCOPED_TRACE(name + " (" + scheme_str + ")");
    const QuantScheme scheme = QuantScheme::parse(scheme_str);
    EXPECT_EQ(QuantScheme::parse(scheme.str()), scheme);
    const int64_t rows = c["rows"], cols = c["cols"];
    std::vector<float> x;
    for (const auto& h : c["input"]) x.push_back(float_of_hex(h));
    ASSERT_EQ(int64_t(x.size()), rows * cols);
    if (c.contains("error_row")) {
      const int64_t r = c["error_row"];
      const std::string msg =
          error_of([&] { quantize_matrix(x.data(), rows, cols, scheme, name); });
      EXPECT_NE(msg.find(name + ": row " + std::to_string(r)), std::string::npos) << msg;
      ++errors;
      continue;
    }
    const QuantizedMatrix q = quantize_matrix(x.data(), rows, cols, scheme, name);
    int64_t first_bad = -1;
    for (int64_t i = rows * cols - 1; i >= 0; --i)
      if (q.code(i / cols, i % cols) != c["codes"][i].get<int>()) first_bad = i;
    if (first_bad >= 0)
      ADD_FAILURE() << "code of element " << first_bad << ": got "
                    << q.code(first_bad / cols, first_bad % cols) << ", expected "
                    << c["codes"][first_bad];
    std::vector<uint8_t> packed;
    const std::string hex = c["packed"];
    for (size_t i = 0; i < hex.size(); i += 2)
      packed.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
    EXPECT_EQ(q.codes, packed);
    ASSERT_EQ(q.scales.size(), c["scales"].size());
    for (size_t i = 0; i < q.scales.size(); ++i)
      EXPECT_EQ(bits_of(q.scales[i]), bits_of(float_of_hex(c["scales"][i]))) << "scale " << i;
    if (!scheme.symmetric) {
      ASSERT_EQ(q.zeros.size(), c["zeros"].size());
      for (size_t i = 0; i < q.zeros.size(); ++i)
        EXPECT_EQ(bits_of(q.zeros[i]), bits_of(float_of_hex(c["zeros"][i]))) << "zero " << i;
    }
    std::vector<float> deq(size_t(rows * cols));
    dequantize(q, deq.data());
    for (size_t i = 0; i < deq.size(); ++i)
      EXPECT_EQ(bits_of(deq[i]), bits_of(float_of_hex(c["dequant"][i]))) << "dequant " << i;
    ++checked;
  }
  EXPECT_GE(checked, 70);
  EXPECT_GE(errors, 5);
}

// ---------------------------------------------------------------------------------------------
// E4M3

// Nearest E4M3 by brute force over the 127 non-negative finite values, ties to the even code.
uint8_t e4m3_brute(float v) {
  const uint8_t sign = std::signbit(v) ? 0x80 : 0;
  const double a = std::fabs(double(v));
  if (a >= 448) return sign | 0x7E;
  int best = 0;
  double best_d = INFINITY;
  for (int c = 0; c <= 0x7E; ++c) {
    const double d = std::fabs(double(e4m3_decode(uint8_t(c))) - a);
    if (d < best_d || (d == best_d && c % 2 == 0)) best = c, best_d = d;
  }
  return sign | uint8_t(best);
}

TEST(Fp8, AllCodesDecodeAndRoundTrip) {
  for (int c = 0; c < 256; ++c) {
    const float v = e4m3_decode(uint8_t(c));
    EXPECT_EQ(bits_of(e4m3_table()[c]), bits_of(v));
    if ((c & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(v)) << c;
      continue;
    }
    // Independent formula: sign, 4-bit exponent (bias 7), 3-bit mantissa, subnormals at e = 0.
    const int e = (c >> 3) & 15, m = c & 7;
    const double mag = e == 0 ? m / 512.0 : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
    EXPECT_EQ(double(v), (c & 0x80) ? -mag : mag) << c;
    EXPECT_EQ(e4m3_encode(v), c) << "code " << c;
  }
  EXPECT_EQ(e4m3_decode(0x7E), 448.0f);
  EXPECT_EQ(e4m3_decode(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3_decode(0x08), std::ldexp(1.0f, -6));
  EXPECT_EQ(bits_of(e4m3_decode(0x80)), bits_of(-0.0f));
}

TEST(Fp8, TiesRoundToEvenAndNeighboursToNearest) {
  for (int c = 0; c < 0x7E; ++c) {
    const float lo = e4m3_decode(uint8_t(c)), hi = e4m3_decode(uint8_t(c + 1));
    const float mid = (lo + hi) / 2;  // exact: E4M3 values have 4 significant bits
    const uint8_t even = (c % 2 == 0) ? uint8_t(c) : uint8_t(c + 1);
    EXPECT_EQ(e4m3_encode(mid), even) << "tie between codes " << c << " and " << c + 1;
    EXPECT_EQ(e4m3_encode(-mid), 0x80 | even);
    EXPECT_EQ(e4m3_encode(std::nextafter(mid, 0.0f)), c);
    EXPECT_EQ(e4m3_encode(std::nextafter(mid, 1e9f)), c + 1);
  }
}

TEST(Fp8, SubnormalsSaturationAndSpecials) {
  EXPECT_EQ(e4m3_encode(std::ldexp(1.0f, -10)), 0x00);  // tie 0 | 2^-9 -> 0 (even)
  EXPECT_EQ(e4m3_encode(std::nextafter(std::ldexp(1.0f, -10), 1.0f)), 0x01);
  EXPECT_EQ(e4m3_encode(3 * std::ldexp(1.0f, -10)), 0x02);   // tie 1 | 2 -> 2
  EXPECT_EQ(e4m3_encode(15 * std::ldexp(1.0f, -10)), 0x08);  // tie 7 | 8 -> 2^-6 (normal)
  EXPECT_EQ(e4m3_encode(std::numeric_limits<float>::denorm_min()), 0x00);
  EXPECT_EQ(e4m3_encode(-std::numeric_limits<float>::denorm_min()), 0x80);
  EXPECT_EQ(e4m3_encode(-0.0f), 0x80);
  EXPECT_EQ(e4m3_encode(0.0f), 0x00);
  for (float v : {448.0f, 449.0f, 464.0f, 480.0f, 1e30f, INFINITY}) {
    EXPECT_EQ(e4m3_encode(v), 0x7E) << v;
    EXPECT_EQ(e4m3_encode(-v), 0xFE) << v;
  }
  EXPECT_EQ(e4m3_encode(NAN) & 0x7F, 0x7F);
}

TEST(Fp8, EncodeMatchesBruteForceOnASweepOfFloats) {
  // ~1M float32 bit patterns spread over every binade (and every sign), vs the brute force.
  for (uint64_t b = 0; b < (uint64_t(1) << 32); b += 4093) {
    const float v = std::bit_cast<float>(uint32_t(b));
    if (std::isnan(v)) continue;
    ASSERT_EQ(e4m3_encode(v), e4m3_brute(v)) << std::hexfloat << v;
  }
}

// ---------------------------------------------------------------------------------------------
// Packing

constexpr PackedLayout kIntLayouts[] = {PackedLayout::Int8, PackedLayout::UInt8, PackedLayout::Int4,
                                        PackedLayout::UInt4};

std::vector<int32_t> random_codes(PackedLayout l, int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> d(layout_min(l), layout_max(l));
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(Packing, LayoutsAreAsDocumented) {
  uint8_t b[2] = {0, 0};
  const int32_t int4[] = {1, -1, -8, 7};
  pack_row(PackedLayout::Int4, int4, 4, b);
  EXPECT_EQ(b[0], 0xF1);  // element 0 in the low nibble, two's complement
  EXPECT_EQ(b[1], 0x78);
  const int32_t uint4[] = {3, 12};
  pack_row(PackedLayout::UInt4, uint4, 2, b);
  EXPECT_EQ(b[0], 0xC3);
  EXPECT_EQ(load_code(PackedLayout::Int8, std::array<uint8_t, 1>{0x80}.data(), 0), -128);
  EXPECT_EQ(packed_row_bytes(PackedLayout::Int4, 6), 3);
  EXPECT_EQ(packed_row_bytes(PackedLayout::UInt8, 5), 5);
  const std::string msg = error_of([] { packed_row_bytes(PackedLayout::Int4, 7, "w.q"); });
  EXPECT_NE(msg.find("w.q"), std::string::npos) << msg;
  EXPECT_NE(msg.find("even"), std::string::npos) << msg;
}

TEST(Packing, RoundTrips) {
  std::mt19937 rng(7);
  for (PackedLayout l : kIntLayouts) {
    for (int64_t n : {2, 4, 18, 64, 130}) {
      const std::vector<int32_t> codes = random_codes(l, n, rng);
      std::vector<uint8_t> row(size_t(packed_row_bytes(l, n)), 0xAA);
      pack_row(l, codes.data(), n, row.data());
      std::vector<int32_t> back(static_cast<size_t>(n));
      unpack_row(l, row.data(), n, back.data());
      EXPECT_EQ(back, codes) << layout_name(l) << " n=" << n;
      std::vector<uint8_t> row2(row.size(), 0x55);  // store_code keeps the other nibble
      for (int64_t k = 0; k < n; ++k) store_code(l, row2.data(), k, codes[k]);
      EXPECT_EQ(row2, row);
      for (int64_t k = 0; k < n; ++k) ASSERT_EQ(load_code(l, row.data(), k), codes[k]);
    }
  }
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = uint8_t(i);
  std::vector<int16_t> back(256);
  unpack_row(PackedLayout::Fp8E4M3, all.data(), 256, back.data());
  for (int i = 0; i < 256; ++i) EXPECT_EQ(back[i], i);
}

// ---------------------------------------------------------------------------------------------
// Integer GEMM

struct Operand {
  PackedLayout layout;
  int64_t rows, k;
  std::vector<int32_t> codes;  // [rows, k]
  std::vector<uint8_t> packed;
  GemmOperand view() const { return {layout, packed.data(), rows}; }
};

Operand random_operand(PackedLayout l, int64_t rows, int64_t k, std::mt19937& rng) {
  Operand o{l, rows, k, random_codes(l, rows * k, rng), {}};
  const int64_t rb = packed_row_bytes(l, k);
  o.packed.assign(size_t(rows * rb), 0);
  for (int64_t r = 0; r < rows; ++r)
    pack_row(l, o.codes.data() + r * k, k, o.packed.data() + r * rb);
  return o;
}

std::vector<int32_t> naive_int_gemm(const Operand& a, const Operand& w, int64_t groups) {
  const int64_t k = a.k, gl = k / groups;
  std::vector<int32_t> acc(size_t(a.rows * w.rows * groups), 0);
  for (int64_t m = 0; m < a.rows; ++m)
    for (int64_t n = 0; n < w.rows; ++n)
      for (int64_t kk = 0; kk < k; ++kk)
        acc[(m * w.rows + n) * groups + kk / gl] += a.codes[m * k + kk] * w.codes[n * k + kk];
  return acc;
}

struct LayoutPair {
  PackedLayout a, w;
};
constexpr LayoutPair kPairs[] = {
    {PackedLayout::Int8, PackedLayout::Int8}, {PackedLayout::UInt8, PackedLayout::Int8},
    {PackedLayout::Int4, PackedLayout::Int4}, {PackedLayout::UInt4, PackedLayout::Int4},
    {PackedLayout::Int8, PackedLayout::Int4}, {PackedLayout::UInt8, PackedLayout::Int4}};

TEST(IntGemm, BitExactVsNaiveLoop) {
  std::mt19937 rng(42);
  int shapes = 0;
  for (const LayoutPair& p : kPairs) {
    const bool nib = is_nibble_layout(p.a) || is_nibble_layout(p.w);
    for (int64_t m : {1, 2, 3, 7, 16, 17, 33, 64, 130}) {
      for (int64_t n : {1, 3, 4, 5, 16, 37, 64, 67}) {
        for (int64_t k : {1, 2, 3, 8, 15, 16, 48, 96, 130}) {
          if (nib && k % 2) continue;
          if ((m * n * k) % 5 != 0 && m > 3 && n > 5) continue;  // thin the grid, keep variety
          const Operand a = random_operand(p.a, m, k, rng), w = random_operand(p.w, n, k, rng);
          for (int64_t gs : {int64_t(0), k % 2 == 0 ? k / 2 : k, k % 8 == 0 ? int64_t(8) : k}) {
            const int64_t groups = gs ? k / gs : 1;
            std::vector<int32_t> acc(size_t(m * n * groups), -1);
            cpu::int_gemm(a.view(), w.view(), k, gs, acc.data());
            ASSERT_EQ(acc, naive_int_gemm(a, w, groups))
                << layout_name(p.a) << " x " << layout_name(p.w) << " M=" << m << " N=" << n
                << " K=" << k << " group=" << gs;
            ++shapes;
          }
        }
      }
    }
  }
  EXPECT_GT(shapes, 1000);
}

TEST(IntGemm, ExtremeCodesAtTheInt32Bound) {
  // Every product at its maximum: the accumulation must be exact right up to the bound.
  for (const LayoutPair& p : kPairs) {
    const int64_t k = cpu::int_gemm_max_group(p.a, p.w) / 2 * 2;
    Operand a{p.a, 1, k, std::vector<int32_t>(size_t(k), layout_max(p.a)), {}};
    Operand w{p.w, 2, k, std::vector<int32_t>(size_t(2 * k), 0), {}};
    for (int64_t i = 0; i < k; ++i) {
      w.codes[i] = layout_max(p.w);
      w.codes[k + i] = layout_min(p.w);
    }
    if (p.a == PackedLayout::Int8 || p.a == PackedLayout::Int4)
      std::fill(a.codes.begin(), a.codes.end(), layout_min(p.a));
    for (Operand* o : {&a, &w}) {
      const int64_t rb = packed_row_bytes(o->layout, k);
      o->packed.assign(size_t(o->rows * rb), 0);
      for (int64_t r = 0; r < o->rows; ++r)
        pack_row(o->layout, o->codes.data() + r * k, k, o->packed.data() + r * rb);
    }
    std::vector<int32_t> acc(2);
    cpu::int_gemm(a.view(), w.view(), k, 0, acc.data());
    EXPECT_EQ(acc, naive_int_gemm(a, w, 1)) << layout_name(p.a) << " x " << layout_name(p.w);
    const std::string msg =
        error_of([&] { cpu::int_gemm(a.view(), w.view(), k + 2, 0, acc.data()); });
    EXPECT_NE(msg.find("overflow int32"), std::string::npos) << msg;
  }
  EXPECT_EQ(cpu::int_gemm_max_group(PackedLayout::UInt8, PackedLayout::Int8), 65793);
  EXPECT_EQ(cpu::int_gemm_max_group(PackedLayout::Int8, PackedLayout::Int8), 131071);
}

// The documented epilogue, written out independently of int_gemm.cc.
float reference_epilogue(const int32_t* acc, int64_t groups, const float* sw, float sx,
                         const float* zx, float zcorr, const float* bias) {
  float t = 0.0f;
  for (int64_t g = 0; g < groups; ++g) t = t + sw[g] * float(acc[g]);
  float y = sx * t;
  if (zx) y = y + *zx * zcorr;
  if (bias) y = y + *bias;
  return y;
}

TEST(IntGemm, EpilogueAndFusedLinearMatchTheDocumentedOrder) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> pos(0.001f, 0.1f), any(-2.0f, 2.0f);
  for (const LayoutPair& p : kPairs) {
    for (int64_t gs : {0, 16}) {
      const int64_t m = 37, n = 70, k = 64, groups = gs ? k / gs : 1;
      const Operand a = random_operand(p.a, m, k, rng), w = random_operand(p.w, n, k, rng);
      std::vector<float> sx(m), zx(m), sw(n * groups), bias(n), zcorr(n);
      for (auto& v : sx) v = pos(rng);
      for (auto& v : zx) v = any(rng);
      for (auto& v : sw) v = pos(rng);
      for (auto& v : bias) v = any(rng);
      const bool asym = !layout_min(p.a);
      std::vector<int32_t> sums(n * groups, 0);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t kk = 0; kk < k; ++kk)
          sums[j * groups + kk / (k / groups)] += w.codes[j * k + kk];
      cpu::zero_point_correction(sw.data(), sums.data(), n, groups, zcorr.data());
      GemmScales s{sx.data(), asym ? zx.data() : nullptr, sw.data(), zcorr.data(), bias.data()};
      std::vector<int32_t> acc(m * n * groups);
      cpu::int_gemm(a.view(), w.view(), k, gs, acc.data());
      std::vector<float> y1(m * n), y2(m * n);
      cpu::int_gemm_epilogue(acc.data(), m, n, groups, s, y1.data());
      cpu::int_linear(a.view(), w.view(), k, gs, s, y2.data());
      for (int64_t i = 0; i < m * n; ++i) {
        const int64_t r = i / n, j = i % n;
        float zc = 0.0f;
        for (int64_t g = 0; g < groups; ++g)
          zc = zc + sw[j * groups + g] * float(sums[j * groups + g]);
        ASSERT_EQ(bits_of(zcorr[j]), bits_of(zc));
        const float want = reference_epilogue(&acc[i * groups], groups, &sw[j * groups], sx[r],
                                              asym ? &zx[r] : nullptr, zcorr[j], &bias[j]);
        ASSERT_EQ(bits_of(y1[i]), bits_of(want)) << i;
        ASSERT_EQ(bits_of(y2[i]), bits_of(want)) << i;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Quantized matmul vs float64 of the dequantized operands.
//
// Bound, integer GEMMs: with x̂ = fl(sx·qx) (+ zx, rounded) and ŵ = fl(sw·qw), the float64 sum
// Σ x̂·ŵ differs from the exact sx·sw·Σ qx·qw (+ zx·Σŵ) by at most 3u per term; the epilogue adds
// u for float(acc), u for sw·acc, (G-1)u for the group sum, u for sx·t, and 2+G u for the zero
// term and the bias. So |y - y64| ≤ (G + 8)·u·(Σ_k (|sx·qx_k| + |zx|)·|ŵ_k| + |bias|), u = 2^-24.
// FP8: the products are exact, the k-ordered float32 sum adds at most (K-1)u·Σ|p|, the scales and
// the dequantized operands 4u more: |y - y64| ≤ (K + 5)·u·(Σ_k |x̂_k·ŵ_k| + |bias|).

std::vector<float> random_matrix(int64_t rows, int64_t cols, std::mt19937& rng, float shift) {
  std::normal_distribution<float> d(shift, 1.0f);
  std::vector<float> v(size_t(rows * cols));
  for (auto& x : v) x = d(rng);
  return v;
}

void check_matmul_vs_f64(const std::string& xs, const std::string& ws, int64_t m, int64_t n,
                         int64_t k, std::mt19937& rng) {
  SCOPED_TRACE(xs + " x " + ws + " M=" + std::to_string(m) + " N=" + std::to_string(n) +
               " K=" + std::to_string(k));
  const QuantScheme sx = QuantScheme::parse(xs), sw = QuantScheme::parse(ws);
  const std::vector<float> xf = random_matrix(m, k, rng, sx.symmetric ? 0.0f : 0.7f);
  const std::vector<float> wf = random_matrix(n, k, rng, 0.0f);
  std::vector<float> bias = random_matrix(1, n, rng, 0.0f);
  const QuantizedMatrix qx = quantize_matrix(xf.data(), m, k, sx, "x");
  const QuantizedMatrix qw = quantize_matrix(wf.data(), n, k, sw, "w");
  std::vector<float> xh(m * k), wh(n * k), y(m * n);
  dequantize(qx, xh.data());
  dequantize(qw, wh.data());
  quantized_matmul(qx, qw, bias.data(), y.data());
  const double groups = double(qw.groups());
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double y64 = bias[j], mag = std::fabs(bias[j]);
      for (int64_t kk = 0; kk < k; ++kk) {
        y64 += double(xh[i * k + kk]) * double(wh[j * k + kk]);
        double xa = std::fabs(double(xh[i * k + kk]));
        if (!sx.symmetric)
          xa = std::fabs(double(qx.scales[i]) * qx.code(i, kk)) + std::fabs(double(qx.zeros[i]));
        mag += xa * std::fabs(double(wh[j * k + kk]));
      }
      const double bound = (sx.is_int() ? groups + 8 : double(k) + 5) * kU * mag;
      ASSERT_LE(std::fabs(double(y[i * n + j]) - y64), bound) << "y[" << i << ", " << j << "]";
    }
  }
}

TEST(QuantizedMatmul, MatchesFloat64OfDequantizedOperands) {
  std::mt19937 rng(11);
  const struct {
    const char *x, *w;
  } pairs[] = {{"int8", "int8"},      {"uint8", "int8"},     {"int4", "int4"},
               {"uint4", "int4"},     {"int8", "int4"},      {"int8", "int4_g16"},
               {"uint8", "int4_g32"}, {"uint4", "int4_g16"}, {"int8_c3", "int8_c0.5"},
               {"fp8", "fp8"},        {"int6", "int3"}};
  for (const auto& p : pairs)
    for (int64_t m : {1, 5, 33})
      for (int64_t n : {1, 7, 40}) check_matmul_vs_f64(p.x, p.w, m, n, 64, rng);
  check_matmul_vs_f64("uint8", "int8", 130, 96, 384, rng);
  check_matmul_vs_f64("fp8", "fp8", 130, 96, 384, rng);
}

TEST(Fp8Gemm, BitExactVsKOrderedLoop) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> code(0, 255);
  for (int64_t m : {1, 3, 17, 40})
    for (int64_t n : {1, 5, 64, 300})
      for (int64_t k : {1, 7, 64}) {
        std::vector<uint8_t> a(m * k), w(n * k);
        for (auto& v : a) {
          v = uint8_t(code(rng));
          if ((v & 0x7F) == 0x7F) v = 0x40;  // no NaN codes
        }
        for (auto& v : w) v = uint8_t(code(rng) % 0x7F);  // no NaN codes
        std::vector<float> sa(m, 0.5f), sw(n, 0.25f), bias(n, 1.0f), y(m * n);
        for (int64_t j = 0; j < n; ++j) sw[j] = 0.01f * float(j + 1);
        cpu::fp8_gemm(a.data(), w.data(), m, n, k, sa.data(), sw.data(), bias.data(), y.data());
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            float acc = 0.0f;
            for (int64_t kk = 0; kk < k; ++kk)
              acc = acc + e4m3_decode(a[i * k + kk]) * e4m3_decode(w[j * k + kk]);
            const float want = sa[i] * (sw[j] * acc) + bias[j];
            ASSERT_EQ(bits_of(y[i * n + j]), bits_of(want)) << m << "x" << n << "x" << k;
          }
      }
}

// ---------------------------------------------------------------------------------------------
// Schemes and errors

TEST(QuantScheme, ParseAndFormat) {
  for (const char* s : {"int8", "int4", "int2", "uint8", "uint4", "fp8", "int4_g128", "uint8_c6.5",
                        "int8_g64_c0.1", "fp8_c448", "fp8_g32"})
    EXPECT_EQ(QuantScheme::parse(s).str(), s);
  EXPECT_EQ(QuantScheme::parse("fp8_e4m3"), QuantScheme::fp8());
  EXPECT_EQ(QuantScheme::parse("int4_c2_g8").str(), "int4_g8_c2");
  const QuantScheme u4 = QuantScheme::parse("uint4_g128");
  EXPECT_FALSE(u4.symmetric);
  EXPECT_EQ(u4.layout(), PackedLayout::UInt4);
  EXPECT_EQ(u4.qmax(), 15);
  EXPECT_EQ(QuantScheme::parse("int3").layout(), PackedLayout::Int4);
  EXPECT_EQ(QuantScheme::parse("int5").layout(), PackedLayout::Int8);
  EXPECT_EQ(QuantScheme::parse("int8").qmin(), -128);
  for (const char* bad :
       {"int9", "int1", "uint0", "int", "float8", "int8_g0", "int8_g-4", "int8_c0", "int8_c-1",
        "int8_cnan", "int8_cinf", "int8_x", "int8_g8_g8", "int8_", "uint8x", ""}) {
    const std::string msg = error_of([&] { QuantScheme::parse(bad); });
    EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << bad << ": " << msg;
  }
  EXPECT_NE(error_of([] { QuantScheme::int_sym(9).validate(); }).find("2..8"), std::string::npos);
  EXPECT_NE(error_of([] { QuantScheme::int_sym(1).validate(); }).find("2..8"), std::string::npos);
  QuantScheme asym_fp8 = QuantScheme::fp8();
  asym_fp8.symmetric = false;
  EXPECT_NE(error_of([&] { asym_fp8.validate(); }).find("asymmetric"), std::string::npos);
}

TEST(QuantScheme, PowerOfTwoScales) {
  for (const char* s : {"int4_p2", "int4_g128_p2", "int8_g32_c2_p2"})
    EXPECT_EQ(QuantScheme::parse(s).str(), s);
  EXPECT_TRUE(QuantScheme::parse("int4_p2_g8").pow2);
  for (const char* bad : {"uint4_p2", "fp8_p2", "int4_p2_p2", "int4_p3", "int4_p"}) {
    const std::string msg = error_of([&] { QuantScheme::parse(bad); });
    EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << bad << ": " << msg;
  }
  // Every scale a power of two, the smallest >= the plain scale (max |x| / qmax); codes in range.
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 9, cols = 96;
  std::vector<float> x(size_t(rows * cols));
  for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * std::ldexp(1.0f, int(i / cols) * 3 - 12);
  const QuantScheme plain = QuantScheme::parse("int4_g32"), p2 = QuantScheme::parse("int4_g32_p2");
  const QuantizedMatrix a = quantize_matrix(x.data(), rows, cols, plain, "w");
  const QuantizedMatrix b = quantize_matrix(x.data(), rows, cols, p2, "w");
  for (size_t g = 0; g < b.scales.size(); ++g) {
    int e = 0;
    EXPECT_EQ(std::frexp(b.scales[g], &e), 0.5f) << g;
    EXPECT_GE(b.scales[g], a.scales[g]) << g;
    EXPECT_LT(b.scales[g], 2.0f * a.scales[g]) << g;
  }
  const Tensor d = dequantize(b);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      EXPECT_GE(b.code(r, c), -8);
      EXPECT_LE(b.code(r, c), 7);
      const float s = b.scales[size_t(r * 3 + c / 32)];
      EXPECT_LE(std::fabs(d.data<float>()[r * cols + c] - x[size_t(r * cols + c)]),
                0.5f * s + 1e-30f);
    }
}

TEST(Quantized, WidenPow2ToFp8IsExact) {
  // Groups whose exponents lie within 9 of the row's largest: the E4M3 form holds the same
  // numbers (dequantize bit for bit); a group 2^12 below its row's largest rounds to E4M3.
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 6, cols = 128;
  for (int64_t group : {int64_t(0), int64_t(32)}) {
    std::vector<float> x(size_t(rows * cols));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = nd(rng) * std::ldexp(1.0f, int((i % cols) / 32) - int(i / cols));
    QuantScheme s = QuantScheme::int_sym(4, group);
    s.pow2 = true;
    const QuantizedMatrix w = quantize_matrix(x.data(), rows, cols, s, "w");
    const QuantizedMatrix f = widen_pow2_to_fp8(w);
    EXPECT_EQ(f.scheme, QuantScheme::fp8());
    const Tensor dw = dequantize(w), df = dequantize(f);
    for (int64_t i = 0; i < rows * cols; ++i)
      ASSERT_EQ(dw.data<float>()[i], df.data<float>()[i]) << "group " << group << " element " << i;
  }
  std::vector<float> x(size_t(cols), 1.0f);
  for (int64_t c = 0; c < 32; ++c) x[size_t(c)] = 0.75f * std::ldexp(1.0f, -12);  // a tiny group
  QuantScheme s = QuantScheme::int_sym(4, 32);
  s.pow2 = true;
  const QuantizedMatrix w = quantize_matrix(x.data(), 1, cols, s, "w");
  const Tensor dw = dequantize(w), df = dequantize(widen_pow2_to_fp8(w));
  for (int64_t c = 32; c < cols; ++c) EXPECT_EQ(dw.data<float>()[c], df.data<float>()[c]);
  // E4M3's finest step (2^-9) at the row's scale (2^-2), halved: 2^-12.
  for (int64_t c = 0; c < 32; ++c)
    EXPECT_NEAR(df.data<float>()[c], dw.data<float>()[c], std::ldexp(1.0f, -12));
  EXPECT_NE(error_of([] {
              widen_pow2_to_fp8(quantize_matrix(std::vector<float>(8, 1.0f).data(), 1, 8,
                                                QuantScheme::int_sym(4), "w"));
            }).find("power-of-two"),
            std::string::npos);
}

TEST(QuantErrors, ShapesAndNonFiniteNameTheTensorAndRow) {
  std::vector<float> x(3 * 7, 0.5f);
  std::string msg =
      error_of([&] { quantize_matrix(x.data(), 3, 7, QuantScheme::int_sym(4), "enc.w"); });
  EXPECT_NE(msg.find("enc.w"), std::string::npos) << msg;
  EXPECT_NE(msg.find("even"), std::string::npos) << msg;
  msg = error_of([&] { quantize_matrix(x.data(), 3, 7, QuantScheme::int_sym(8, 2), "enc.w"); });
  EXPECT_NE(msg.find("group size 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not divide"), std::string::npos) << msg;
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    for (const char* s : {"int8", "uint8", "fp8", "int8_g7", "int8_c1"}) {
      std::vector<float> y(4 * 7, 0.25f);
      y[2 * 7 + 5] = bad;
      msg = error_of([&] { quantize_matrix(y.data(), 4, 7, QuantScheme::parse(s), "layer3.ffn"); });
      EXPECT_NE(msg.find("layer3.ffn: row 2"), std::string::npos) << msg;
      EXPECT_NE(msg.find("column 5"), std::string::npos) << msg;
    }
  }
  // The lowest bad row is reported, also when rows are quantized in parallel.
  std::vector<float> big(512 * 256, 1.0f);
  big[300 * 256 + 3] = NAN;
  big[200 * 256 + 9] = INFINITY;
  msg = error_of([&] { quantize_matrix(big.data(), 512, 256, QuantScheme::int_sym(8), "act"); });
  EXPECT_NE(msg.find("act: row 200"), std::string::npos) << msg;
  float huge[] = {3e38f, -3e38f};
  msg = error_of([&] { quantize_matrix(huge, 1, 2, QuantScheme::int_asym(8), "h"); });
  EXPECT_NE(msg.find("overflows float32"), std::string::npos) << msg;
  EXPECT_NO_THROW(quantize_matrix(huge, 1, 2, QuantScheme::int_sym(8), "h"));
}

TEST(QuantErrors, MatmulOperandsMustPair) {
  std::vector<float> a(4 * 8, 0.5f), b(3 * 6, 0.5f), y(16);
  const QuantizedMatrix x8 = quantize_matrix(a.data(), 4, 8, QuantScheme::int_sym(8), "x");
  const QuantizedMatrix w6 = quantize_matrix(b.data(), 3, 6, QuantScheme::int_sym(8), "w");
  EXPECT_NE(error_of([&] { quantized_matmul(x8, w6, nullptr, y.data()); }).find("inner"),
            std::string::npos);
  const QuantizedMatrix wa = quantize_matrix(a.data(), 4, 8, QuantScheme::int_asym(8), "w");
  EXPECT_NE(error_of([&] { quantized_matmul(x8, wa, nullptr, y.data()); }).find("symmetric"),
            std::string::npos);
  const QuantizedMatrix wf = quantize_matrix(a.data(), 4, 8, QuantScheme::fp8(), "w");
  EXPECT_NE(error_of([&] { quantized_matmul(x8, wf, nullptr, y.data()); }).find("mixed"),
            std::string::npos);
  const QuantizedMatrix xg = quantize_matrix(a.data(), 4, 8, QuantScheme::int_sym(8, 4), "x");
  EXPECT_NE(error_of([&] { quantized_matmul(xg, x8, nullptr, y.data()); }).find("per token"),
            std::string::npos);
  QuantizedMatrix broken = x8;
  broken.scales.pop_back();
  EXPECT_NE(
      error_of([&] { quantized_matmul(broken, x8, nullptr, y.data()); }).find("scales holds 3"),
      std::string::npos);
  const std::vector<uint8_t> odd(10);
  EXPECT_NE(error_of([&] {
              cpu::int_gemm({PackedLayout::Int4, odd.data(), 1},
                            {PackedLayout::Int4, odd.data(), 1}, 5, 0, nullptr);
            }).find("even"),
            std::string::npos);
}

TEST(Quantized, TensorApiAndCodeSums) {
  Tensor t = Tensor::empty({2, 8});
  for (int i = 0; i < 16; ++i) t.data<float>()[i] = float(i) - 7.5f;
  const QuantizedMatrix q = quantize_matrix(t, QuantScheme::parse("int4_g4"), "t");
  EXPECT_EQ(q.groups(), 2);
  EXPECT_EQ(q.row_bytes(), 4);
  ASSERT_EQ(q.code_sums.size(), 4u);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t g = 0; g < 2; ++g) {
      int32_t s = 0;
      for (int64_t c = 4 * g; c < 4 * g + 4; ++c) s += q.code(r, c);
      EXPECT_EQ(q.code_sums[r * 2 + g], s);
    }
  const Tensor back = dequantize(q);
  EXPECT_EQ(back.shape(), (std::vector<int64_t>{2, 8}));
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(back.data<float>()[i], t.data<float>()[i], 0.6);
  EXPECT_THROW(quantize_matrix(Tensor::empty({4}), QuantScheme::int_sym(8), "v"), Error);
}

// Timing of the CPU engine's GEMMs (not a pass/fail test): run with
// --gtest_also_run_disabled_tests --gtest_filter='*Timing*'.
TEST(IntGemm, DISABLED_Timing) {
  std::mt19937 rng(1);
  const int64_t m = 1000, n = 1536, k = 384;
  for (const LayoutPair& p : kPairs) {
    const Operand a = random_operand(p.a, m, k, rng), w = random_operand(p.w, n, k, rng);
    std::vector<int32_t> acc(m * n);
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      cpu::int_gemm(a.view(), w.view(), k, 0, acc.data());
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("int_gemm %s x %s  M=%lld N=%lld K=%lld: %.1f ms (%.1f GOP/s)\n", layout_name(p.a),
                layout_name(p.w), (long long)m, (long long)n, (long long)k, best * 1e3,
                2.0 * m * n * k / best * 1e-9);
  }
  std::vector<uint8_t> a(m * k, 0x38), w(n * k, 0x30);
  std::vector<float> sa(m, 1.0f), sw(n, 1.0f), y(m * n);
  double best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    cpu::fp8_gemm(a.data(), w.data(), m, n, k, sa.data(), sw.data(), nullptr, y.data());
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("fp8_gemm M=%lld N=%lld K=%lld: %.1f ms\n", (long long)m, (long long)n, (long long)k,
              best * 1e3);
}

}  // namespace
}  // namespace lowbit
