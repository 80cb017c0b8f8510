#include "quant/quantized.h"

#include <algorithm>
#include <string>
#include <vector>

#include "backends/cpu/int_gemm.h"
#include "core/error.h"
#include "quant/fp8.h"

namespace lowbit {

QuantizedMatrix quantize_matrix(const float* x, int64_t rows, int64_t cols,
                                const QuantScheme& scheme, std::string_view name) {
  if (rows < 0) fail(name, ": negative row count ", rows);
  QuantizedMatrix q;
  q.scheme = scheme;
  q.rows = rows;
  q.cols = cols;
  const int64_t groups = scheme.groups_per_row(cols, name);
  q.codes.resize(size_t(rows * q.row_bytes()));
  q.scales.resize(size_t(rows * groups));
  if (!scheme.symmetric) q.zeros.resize(size_t(rows * groups));
  quantize_rows(scheme, x, rows, cols, q.codes.data(), q.scales.data(),
                scheme.symmetric ? nullptr : q.zeros.data(), name);
  if (scheme.is_int()) {
    q.code_sums.assign(size_t(rows * groups), 0);
    const int64_t g_len = cols / groups;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) q.code_sums[r * groups + c / g_len] += q.code(r, c);
  }
  return q;
}

QuantizedMatrix quantize_matrix(const Tensor& x, const QuantScheme& scheme, std::string_view name) {
  if (!x.defined() || x.dtype() != DType::F32 || x.rank() != 2)
    fail(name, ": quantize needs a 2-D F32 tensor, got ",
         x.defined() ? x.describe() : std::string("an undefined tensor"));
  return quantize_matrix(x.data<float>(), x.dim(0), x.dim(1), scheme, name);
}

namespace {
// A QuantizedMatrix may come from a model file: its buffers must match its shape and scheme
// before any kernel reads them.
void check_consistent(const QuantizedMatrix& q, const char* what) {
  const int64_t groups = q.scheme.groups_per_row(q.cols, what);
  const auto want = [&](size_t have, int64_t expected, const char* field) {
    if (int64_t(have) != expected)
      fail(what, " (", q.scheme.str(), " [", q.rows, ", ", q.cols, "]): ", field, " holds ", have,
           " values, expected ", expected);
  };
  if (q.rows < 0) fail(what, ": negative row count ", q.rows);
  want(q.codes.size(), q.rows * q.row_bytes(), "codes");
  want(q.scales.size(), q.rows * groups, "scales");
  want(q.zeros.size(), q.scheme.symmetric ? 0 : q.rows * groups, "zeros");
  if (q.scheme.is_int()) want(q.code_sums.size(), q.rows * groups, "code_sums");
}
}  // namespace

void dequantize(const QuantizedMatrix& q, float* out) {
  check_consistent(q, "dequantize");
  dequantize_rows(q.scheme, q.codes.data(), q.scales.data(),
                  q.zeros.empty() ? nullptr : q.zeros.data(), q.rows, q.cols, out);
}

Tensor dequantize(const QuantizedMatrix& q) {
  Tensor t = Tensor::empty({q.rows, q.cols});
  dequantize(q, t.data<float>());
  return t;
}

QuantizedMatrix widen_pow2_to_fp8(const QuantizedMatrix& w) {
  check_consistent(w, "widen_pow2_to_fp8");
  if (!(w.scheme.is_int() && w.scheme.symmetric && w.scheme.pow2 && w.scheme.bits <= 4))
    fail("widen_pow2_to_fp8: weights must be symmetric int2..4 with power-of-two scales, got ",
         w.scheme.str());
  QuantizedMatrix f;
  f.scheme = QuantScheme::fp8();
  f.rows = w.rows;
  f.cols = w.cols;
  f.codes.resize(size_t(w.rows * w.cols));
  f.scales.resize(size_t(w.rows));
  const int64_t groups = w.groups(), g_len = w.cols / groups;
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* sc = w.scales.data() + r * groups;
    float top = sc[0];
    for (int64_t g = 1; g < groups; ++g) top = std::max(top, sc[g]);
    f.scales[size_t(r)] = top;
    for (int64_t c = 0; c < w.cols; ++c) {
      // q · (s_g / s_max): a power-of-two ratio <= 1, so the product is exact in float32.
      const float v = float(w.code(r, c)) * (sc[c / g_len] / top);
      f.codes[size_t(r * w.cols + c)] = e4m3_encode(v);
    }
  }
  return f;
}

void quantized_matmul(const QuantizedMatrix& x, const QuantizedMatrix& w, const float* bias,
                      float* y) {
  const std::string desc = "quantized_matmul(x " + x.scheme.str() + " [" + std::to_string(x.rows) +
                           ", " + std::to_string(x.cols) + "], w " + w.scheme.str() + " [" +
                           std::to_string(w.rows) + ", " + std::to_string(w.cols) + "])";
  check_consistent(x, "quantized_matmul activations");
  check_consistent(w, "quantized_matmul weights");
  if (x.cols != w.cols) fail(desc, ": inner dimensions differ");
  if (x.groups() != 1) fail(desc, ": activations are quantized per token (one group per row)");
  if (!w.scheme.symmetric) fail(desc, ": weights must be symmetric");
  if (x.scheme.is_int() != w.scheme.is_int())
    fail(desc, ": integer and FP8 operands cannot be mixed");
  if (!x.scheme.is_int()) {
    if (w.groups() != 1) fail(desc, ": FP8 weights take one scale per output channel");
    cpu::fp8_gemm(x.codes.data(), w.codes.data(), x.rows, w.rows, x.cols, x.scales.data(),
                  w.scales.data(), bias, y);
    return;
  }
  std::vector<float> zcorr;
  cpu::GemmScales s;
  s.sx = x.scales.data();
  s.sw = w.scales.data();
  s.bias = bias;
  if (!x.scheme.symmetric) {
    zcorr.resize(size_t(w.rows));
    cpu::zero_point_correction(w.scales.data(), w.code_sums.data(), w.rows, w.groups(),
                               zcorr.data());
    s.zx = x.zeros.data();
    s.zcorr = zcorr.data();
  }
  cpu::int_linear({x.scheme.layout(), x.codes.data(), x.rows},
                  {w.scheme.layout(), w.codes.data(), w.rows}, x.cols, w.scheme.group_size, s, y);
}

}  // namespace lowbit
