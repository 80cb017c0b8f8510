#include "backends/cpu/cpu_ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"

namespace lowbit::cpu {

namespace {
inline float apply(float v, Epilogue ep) {
  switch (ep) {
    case Epilogue::None:
      return v;
    case Epilogue::GeluErf:
      return 0.5f * v * (1.0f + std::erf(v * float(M_SQRT1_2)));
    case Epilogue::GeluTanh: {
      const float c = 0.7978845608028654f;  // sqrt(2/pi)
      return 0.5f * v * (1.0f + std::tanh(c * (v + 0.044715f * v * v * v)));
    }
    case Epilogue::Relu:
      return v > 0 ? v : 0.0f;
  }
  return v;
}
}  // namespace

void linear_f32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
                int64_t k, Epilogue ep) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(k), 1.0f, x, int(k), w,
              int(k), 0.0f, y, int(n));
  bias_act_f32(y, bias, m, n, ep);
}

void bias_act_f32(float* y, const float* bias, int64_t m, int64_t n, Epilogue ep) {
  if (!bias && ep == Epilogue::None) return;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* row = y + i * n;
    for (int64_t j = 0; j < n; ++j) row[j] = apply(row[j] + (bias ? bias[j] : 0.0f), ep);
  }
}

void round_to_half_f32(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = half_to_float(float_to_half(x[i]));
}

void add_layer_norm_f32(const float* x, const float* residual, const float* gamma,
                        const float* beta, float* out, int64_t rows, int64_t n, double eps) {
#pragma omp parallel
  {
    std::vector<float> tmp(static_cast<size_t>(n));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* a = x + r * n;
      const float* b = residual ? residual + r * n : nullptr;
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        tmp[j] = b ? a[j] + b[j] : a[j];
        sum += tmp[j];
      }
      const double mean = sum / double(n);
      double var = 0;
      for (int64_t j = 0; j < n; ++j) var += (tmp[j] - mean) * (tmp[j] - mean);
      const double inv = 1.0 / std::sqrt(var / double(n) + eps);
      float* o = out + r * n;
      for (int64_t j = 0; j < n; ++j) o[j] = float((tmp[j] - mean) * inv) * gamma[j] + beta[j];
    }
  }
}

void attention_f32(const float* qkv, const int32_t* cu_seqlens, int64_t batch, int64_t heads,
                   int64_t head_dim, float* out) {
  const int64_t hidden = heads * head_dim;
  const int64_t stride = 3 * hidden;
  const float scale = 1.0f / std::sqrt(float(head_dim));
#pragma omp parallel
  {
    std::vector<float> p;
#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t begin = cu_seqlens[b], len = cu_seqlens[b + 1] - cu_seqlens[b];
        p.resize(size_t(len));
        for (int64_t i = 0; i < len; ++i) {
          const float* q = qkv + (begin + i) * stride + h * head_dim;
          float mx = -INFINITY;
          for (int64_t j = 0; j < len; ++j) {
            const float* kr = qkv + (begin + j) * stride + hidden + h * head_dim;
            float s = 0;
            for (int64_t d = 0; d < head_dim; ++d) s += q[d] * kr[d];
            p[j] = s * scale;
            mx = std::max(mx, p[j]);
          }
          float denom = 0;
          for (int64_t j = 0; j < len; ++j) denom += (p[j] = std::exp(p[j] - mx));
          float* o = out + (begin + i) * hidden + h * head_dim;
          std::fill(o, o + head_dim, 0.0f);
          for (int64_t j = 0; j < len; ++j) {
            const float* v = qkv + (begin + j) * stride + 2 * hidden + h * head_dim;
            const float pj = p[j] / denom;
            for (int64_t d = 0; d < head_dim; ++d) o[d] += pj * v[d];
          }
        }
      }
    }
  }
}

void embed_sum_f32(const int32_t* ids, const int32_t* positions, const int32_t* type_ids,
                   const float* word, const float* pos, const float* type, float* out,
                   int64_t tokens, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tokens; ++t) {
    const float* a = word + int64_t(ids[t]) * n;
    const float* b = pos + int64_t(positions[t]) * n;
    const float* c = type + int64_t(type_ids[t]) * n;
    float* o = out + t * n;
    for (int64_t j = 0; j < n; ++j) o[j] = a[j] + b[j] + c[j];
  }
}

void pool_f32(const float* x, const int32_t* cu_seqlens, int64_t batch, int64_t n, bool mean,
              float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t begin = cu_seqlens[b], len = cu_seqlens[b + 1] - cu_seqlens[b];
    float* o = out + b * n;
    if (!mean) {
      std::copy(x + begin * n, x + begin * n + n, o);
      continue;
    }
    std::vector<double> acc(size_t(n), 0.0);
    for (int64_t t = 0; t < len; ++t)
      for (int64_t j = 0; j < n; ++j) acc[j] += x[(begin + t) * n + j];
    for (int64_t j = 0; j < n; ++j) o[j] = float(acc[j] / double(std::max<int64_t>(len, 1)));
  }
}

void l2_normalize_f32(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    double ss = 0;
    for (int64_t j = 0; j < n; ++j) ss += double(row[j]) * row[j];
    const float inv = float(1.0 / std::max(std::sqrt(ss), 1e-12));
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  }
}

}  // namespace lowbit::cpu
