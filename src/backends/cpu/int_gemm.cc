// Compiled with -ffp-contract=off (src/CMakeLists.txt) so that the float epilogue is the
// documented sequence of float32 operations.
#include "backends/cpu/int_gemm.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "quant/fp8.h"

namespace lowbit::cpu {

namespace {

// Tile sizes: a tile's weight rows (kNb rows of K int16) stay in L2 while kMb activation rows
// stream past them; each thread owns whole tiles.
constexpr int64_t kMb = 16;
constexpr int64_t kNb = 64;

// Every integer layout is widened to int16 once per call, so one dot-product kernel serves all
// layout pairs (int16 × int16 -> int32 is what SSE2/AVX2 pmaddwd does natively).
std::vector<int16_t> widen(const GemmOperand& op, int64_t k) {
  std::vector<int16_t> out(size_t(op.rows * k));
  const int64_t row_bytes = packed_row_bytes_unchecked(op.layout, k);
#pragma omp parallel for schedule(static) if (op.rows * k > (1 << 16))
  for (int64_t r = 0; r < op.rows; ++r)
    unpack_row(op.layout, op.data + r * row_bytes, k, out.data() + r * k);
  return out;
}

// Four dot products sharing the activation row: each loaded a[i] feeds four multiply-adds.
// The bound check in check_int_gemm keeps every partial sum inside int32.
inline void dot4(const int16_t* a, const int16_t* w0, const int16_t* w1, const int16_t* w2,
                 const int16_t* w3, int64_t n, int32_t* out, int64_t stride) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t av = a[i];
    s0 += av * w0[i];
    s1 += av * w1[i];
    s2 += av * w2[i];
    s3 += av * w3[i];
  }
  out[0] = s0;
  out[stride] = s1;
  out[2 * stride] = s2;
  out[3 * stride] = s3;
}

inline int32_t dot1(const int16_t* a, const int16_t* w, int64_t n) {
  int32_t s = 0;
  for (int64_t i = 0; i < n; ++i) s += int32_t(a[i]) * w[i];
  return s;
}

struct Tile {
  int64_t m0, m1, n0, n1;
};

// out[(m - m0) * ld + (n - n0) * groups + g] = acc[m, n, g] for the tile.
void dot_tile(const int16_t* a, const int16_t* w, int64_t k, int64_t groups, const Tile& t,
              int32_t* out, int64_t ld) {
  const int64_t gl = k / groups;
  for (int64_t m = t.m0; m < t.m1; ++m) {
    const int16_t* ar = a + m * k;
    int32_t* orow = out + (m - t.m0) * ld;
    int64_t n = t.n0;
    for (; n + 4 <= t.n1; n += 4) {
      const int16_t* wr = w + n * k;
      for (int64_t g = 0; g < groups; ++g)
        dot4(ar + g * gl, wr + g * gl, wr + k + g * gl, wr + 2 * k + g * gl, wr + 3 * k + g * gl,
             gl, orow + (n - t.n0) * groups + g, groups);
    }
    for (; n < t.n1; ++n)
      for (int64_t g = 0; g < groups; ++g)
        orow[(n - t.n0) * groups + g] = dot1(ar + g * gl, w + n * k + g * gl, gl);
  }
}

// The documented epilogue for one tile: acc rows of stride ld, y [M, n_total].
void epilogue_tile(const int32_t* acc, int64_t ld, int64_t groups, const Tile& t,
                   const GemmScales& s, float* y, int64_t n_total) {
  for (int64_t m = t.m0; m < t.m1; ++m) {
    const int32_t* arow = acc + (m - t.m0) * ld;
    float* yrow = y + m * n_total;
    for (int64_t n = t.n0; n < t.n1; ++n) {
      const int32_t* an = arow + (n - t.n0) * groups;
      const float* sw = s.sw + n * groups;
      float sum = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        const float term = sw[g] * float(an[g]);
        sum = sum + term;
      }
      float v = s.sx[m] * sum;
      if (s.zx) {
        const float zterm = s.zx[m] * s.zcorr[n];
        v = v + zterm;
      }
      if (s.bias) v = v + s.bias[n];
      yrow[n] = v;
    }
  }
}

void check_int_gemm(const GemmOperand& a, const GemmOperand& w, int64_t k, int64_t group_size) {
  if (!is_integer_layout(a.layout) || !is_integer_layout(w.layout))
    fail("int_gemm: operands must be integer layouts, got ", layout_name(a.layout), " x ",
         layout_name(w.layout));
  if (a.rows < 0 || w.rows < 0 || k <= 0)
    fail("int_gemm: bad shape M=", a.rows, " N=", w.rows, " K=", k);
  packed_row_bytes(a.layout, k, "int_gemm activations");
  packed_row_bytes(w.layout, k, "int_gemm weights");
  const int64_t gl = group_size ? group_size : k;
  if (gl <= 0 || k % gl != 0) fail("int_gemm: group size ", group_size, " does not divide K=", k);
  const int64_t max_gl = int_gemm_max_group(a.layout, w.layout);
  if (gl > max_gl)
    fail("int_gemm: ", gl, " products of ", layout_name(a.layout), " x ", layout_name(w.layout),
         " per group can overflow int32 (at most ", max_gl, ")");
}

int64_t num_groups(int64_t k, int64_t group_size) { return group_size ? k / group_size : 1; }

// Runs fn(tile) for every (mb x nb) tile of [M, N], in parallel when the problem is worth it:
// `work` (about M·N·K) below a few hundred thousand operations costs less than waking the
// thread team, and small GEMMs (one token) are latency-bound.
template <typename Fn>
void for_each_tile(int64_t m, int64_t n, int64_t mb, int64_t nb, int64_t work, Fn&& fn) {
  const int64_t tm = (m + mb - 1) / mb, tn = (n + nb - 1) / nb;
#pragma omp parallel for schedule(dynamic) collapse(2) if (work > (int64_t(1) << 18))
  for (int64_t i = 0; i < tm; ++i)
    for (int64_t j = 0; j < tn; ++j)
      fn(Tile{i * mb, std::min(m, (i + 1) * mb), j * nb, std::min(n, (j + 1) * nb)});
}

}  // namespace

int64_t int_gemm_max_group(PackedLayout a, PackedLayout w) {
  const int64_t prod = int64_t(layout_max_abs(a)) * layout_max_abs(w);
  return std::numeric_limits<int32_t>::max() / prod;
}

void int_gemm(const GemmOperand& a, const GemmOperand& w, int64_t k, int64_t group_size,
              int32_t* acc) {
  check_int_gemm(a, w, k, group_size);
  const int64_t groups = num_groups(k, group_size);
  const std::vector<int16_t> a16 = widen(a, k), w16 = widen(w, k);
  const int64_t ld = w.rows * groups;
  for_each_tile(a.rows, w.rows, kMb, kNb, a.rows * w.rows * k, [&](const Tile& t) {
    dot_tile(a16.data(), w16.data(), k, groups, t, acc + t.m0 * ld + t.n0 * groups, ld);
  });
}

void zero_point_correction(const float* sw, const int32_t* qw_sums, int64_t n, int64_t groups,
                           float* zcorr) {
  for (int64_t j = 0; j < n; ++j) {
    float sum = 0.0f;
    for (int64_t g = 0; g < groups; ++g) {
      const float term = sw[j * groups + g] * float(qw_sums[j * groups + g]);
      sum = sum + term;
    }
    zcorr[j] = sum;
  }
}

void int_gemm_epilogue(const int32_t* acc, int64_t m, int64_t n, int64_t groups,
                       const GemmScales& s, float* y) {
  if (s.zx && !s.zcorr) fail("int_gemm_epilogue: zero points need the zero-point correction");
  for_each_tile(m, n, kMb, kNb, m * n * groups, [&](const Tile& t) {
    epilogue_tile(acc + t.m0 * n * groups + t.n0 * groups, n * groups, groups, t, s, y, n);
  });
}

void int_linear(const GemmOperand& a, const GemmOperand& w, int64_t k, int64_t group_size,
                const GemmScales& s, float* y) {
  check_int_gemm(a, w, k, group_size);
  if (s.zx && !s.zcorr) fail("int_linear: zero points need the zero-point correction");
  const int64_t groups = num_groups(k, group_size);
  const std::vector<int16_t> a16 = widen(a, k), w16 = widen(w, k);
  for_each_tile(a.rows, w.rows, kMb, kNb, a.rows * w.rows * k, [&](const Tile& t) {
    thread_local std::vector<int32_t> tile;
    const int64_t ld = (t.n1 - t.n0) * groups;
    tile.resize(size_t((t.m1 - t.m0) * ld));
    dot_tile(a16.data(), w16.data(), k, groups, t, tile.data(), ld);
    epilogue_tile(tile.data(), ld, groups, t, s, y, w.rows);
  });
}

void fp8_gemm(const uint8_t* a, const uint8_t* w, int64_t m, int64_t n, int64_t k, const float* sa,
              const float* sw, const float* bias, float* y) {
  if (m < 0 || n < 0 || k <= 0) fail("fp8_gemm: bad shape M=", m, " N=", n, " K=", k);
  const float* table = e4m3_table();
  // a decoded as is; w decoded transposed to [K, N] so that the k-ordered sums of a row of
  // outputs run side by side (vectorised over n, never reassociated over k).
  std::vector<float> af(size_t(m * k)), wt(size_t(k * n));
#pragma omp parallel for schedule(static) if (m * k > (1 << 16))
  for (int64_t i = 0; i < m * k; ++i) af[i] = table[a[i]];
#pragma omp parallel for schedule(static) if (n * k > (1 << 16))
  for (int64_t j = 0; j < n; ++j)
    for (int64_t kk = 0; kk < k; ++kk) wt[kk * n + j] = table[w[j * k + kk]];
  constexpr int64_t kFb = 256;
  for_each_tile(m, n, kMb, kFb, m * n * k, [&](const Tile& t) {
    float acc[kMb][kFb];
    const int64_t nb = t.n1 - t.n0;
    for (int64_t i = 0; i < t.m1 - t.m0; ++i) std::fill(acc[i], acc[i] + nb, 0.0f);
    for (int64_t kk = 0; kk < k; ++kk) {
      const float* wr = wt.data() + kk * n + t.n0;
      for (int64_t i = 0; i < t.m1 - t.m0; ++i) {
        const float av = af[(t.m0 + i) * k + kk];
        float* ar = acc[i];
        for (int64_t j = 0; j < nb; ++j) {
          const float p = av * wr[j];  // exact: E4M3 significands have 4 bits
          ar[j] = ar[j] + p;
        }
      }
    }
    for (int64_t i = 0; i < t.m1 - t.m0; ++i) {
      const int64_t row = t.m0 + i;
      for (int64_t j = 0; j < nb; ++j) {
        const float scaled = sw[t.n0 + j] * acc[i][j];
        float v = sa[row] * scaled;
        if (bias) v = v + bias[t.n0 + j];
        y[row * n + t.n0 + j] = v;
      }
    }
  });
}

}  // namespace lowbit::cpu
