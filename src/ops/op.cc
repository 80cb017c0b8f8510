#include "ops/op.h"

#include <cmath>

#include "ops/operands.h"

namespace lowbit::ops {

namespace {

void expect_f32(const Tensor& t, const char* op, const char* name) {
  if (!t.defined()) fail(op, ": ", name, " is undefined");
  if (t.dtype() != DType::F32) fail(op, ": ", name, " must be F32, got ", t.describe());
}

void expect_shape(const Tensor& t, const std::vector<int64_t>& shape, const char* op,
                  const char* name) {
  expect_f32(t, op, name);
  if (t.shape() != shape)
    fail(op, ": ", name, " has shape ", shape_str(t.shape()), ", expected ", shape_str(shape));
}

void check_cu_seqlens(const std::vector<int32_t>& cu, int64_t tokens, const char* op) {
  if (cu.empty() || cu.front() != 0 || cu.back() != tokens)
    fail(op, ": cu_seqlens must run from 0 to the token count ", tokens);
  for (size_t i = 1; i < cu.size(); ++i)
    if (cu[i] <= cu[i - 1])
      fail(op, ": cu_seqlens must be strictly increasing (empty sequence ", i - 1, ")");
}

}  // namespace

void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, Epilogue ep) {
  expect_f32(x, "linear", "x");
  expect_f32(w, "linear", "weight");
  if (x.rank() != 2 || w.rank() != 2 || x.dim(1) != w.dim(1))
    fail("linear: x ", x.describe(), " does not match weight ", w.describe());
  const int64_t m = x.dim(0), n = w.dim(0), k = w.dim(1);
  if (bias.defined()) expect_shape(bias, {n}, "linear", "bias");
  expect_shape(y, {m, n}, "linear", "y");
  cpu::linear_f32(x.data<float>(), w.data<float>(), bias.defined() ? bias.data<float>() : nullptr,
                  y.data<float>(), m, n, k, ep);
}

void attention(const Tensor& qkv, const std::vector<int32_t>& cu_seqlens, int64_t heads,
               Tensor& out, const Tensor& rel_bias) {
  expect_f32(qkv, "attention", "qkv");
  if (qkv.rank() != 2 || qkv.dim(1) % (3 * heads) != 0)
    fail("attention: qkv ", qkv.describe(), " is not [tokens, 3 * heads * head_dim]");
  const int64_t tokens = qkv.dim(0), hidden = qkv.dim(1) / 3;
  check_cu_seqlens(cu_seqlens, tokens, "attention");
  expect_shape(out, {tokens, hidden}, "attention", "out");
  int64_t span = 0;
  if (rel_bias.defined()) {
    expect_f32(rel_bias, "attention", "relative position bias");
    if (rel_bias.rank() != 2 || rel_bias.dim(0) != heads || rel_bias.dim(1) % 2 != 1)
      fail("attention: relative position bias ", rel_bias.describe(), " is not [", heads,
           ", 2 * span - 1]");
    span = (rel_bias.dim(1) + 1) / 2;
    for (size_t i = 1; i < cu_seqlens.size(); ++i)
      if (cu_seqlens[i] - cu_seqlens[i - 1] > span)
        fail("attention: sequence ", i - 1, " is longer than the relative position span ", span);
  }
  cpu::attention_f32(qkv.data<float>(), cu_seqlens.data(), int64_t(cu_seqlens.size()) - 1, heads,
                     hidden / heads, out.data<float>(),
                     rel_bias.defined() ? rel_bias.data<float>() : nullptr, span);
}

void pool(const Tensor& x, const std::vector<int32_t>& cu_seqlens, bool mean, Tensor& out) {
  expect_f32(x, "pool", "x");
  check_cu_seqlens(cu_seqlens, x.dim(0), "pool");
  const int64_t batch = int64_t(cu_seqlens.size()) - 1;
  expect_shape(out, {batch, x.dim(1)}, "pool", "out");
  cpu::pool_f32(x.data<float>(), cu_seqlens.data(), batch, x.dim(1), mean, out.data<float>());
}

void l2_normalize(Tensor& x) {
  expect_f32(x, "l2_normalize", "x");
  if (x.rank() != 2) fail("l2_normalize: x must be 2-D, got ", x.describe());
  cpu::l2_normalize_f32(x.data<float>(), x.dim(0), x.dim(1));
}

}  // namespace lowbit::ops

// ---- Any device ----

#ifdef LOWBIT_WITH_CUDA
#include "ops/op_cuda.h"
#define LOWBIT_CUDA_OP(call) \
  do {                       \
    return cuda_impl::call;  \
  } while (0)
#else
#define LOWBIT_CUDA_OP(call) fail("device ", ex.device.str(), ": this build of lowbit has no CUDA backend")
#endif

namespace lowbit::ops {

namespace {
void expect_on(const Tensor& t, const Exec& ex, const char* op, const char* name) {
  if (!t.defined()) fail(op, ": ", name, " is undefined");
  if (t.device() != ex.device)
    fail(op, ": ", name, " ", t.describe(), " is not on ", ex.device.str());
}
void expect_2d(const Tensor& t, int64_t rows, int64_t cols, const char* op, const char* name) {
  if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols)
    fail(op, ": ", name, " is ", t.describe(), ", expected [", rows, ", ", cols, "]");
}
void expect_act(const Tensor& t, const Exec& ex, const char* op, const char* name) {
  if (t.dtype() != ex.act_dtype())
    fail(op, ": ", name, " ", t.describe(), " must be ", dtype_name(ex.act_dtype()), " on ",
         ex.device.str());
}
void check_batch(const BatchInputs& b, const Exec& ex, const char* op) {
  expect_on(b.ids, ex, op, "ids");
  expect_on(b.cu_seqlens, ex, op, "cu_seqlens");
  if (b.ids.numel() != b.tokens || b.cu_seqlens.numel() != b.batch + 1 || !b.cu_host ||
      b.cu_host[0] != 0 || b.cu_host[b.batch] != b.tokens)
    fail(op, ": batch inputs disagree (", b.tokens, " tokens, ", b.batch, " sequences)");
}
float head_act(Activation a, float x) {
  switch (a) {
    case Activation::Tanh:
      return std::tanh(x);
    case Activation::Relu:
      return x > 0 ? x : 0.0f;
    case Activation::GeluErf:
      return float(0.5 * double(x) * (1.0 + std::erf(double(x) / std::sqrt(2.0))));
    case Activation::GeluTanh:
      break;
  }
  fail("classifier head: unsupported activation ", activation_name(a));
}

// Row maxima (GemmInput::row_amax) of the rows of `x`: I32 [rows, ceil(cols / 64)] on ex.device.
void expect_row_amax(const Tensor& a, const Tensor& x, const Exec& ex, const char* op) {
  expect_on(a, ex, op, "row_amax");
  if (a.dtype() != DType::I32 || a.rank() != 2 || a.dim(0) != x.dim(0) ||
      a.dim(1) != (x.dim(1) + 63) / 64)
    fail(op, ": row_amax is ", a.describe(), ", expected I32 [", x.dim(0), ", ",
         (x.dim(1) + 63) / 64, "] for ", x.describe());
}

}  // namespace

void embed(const BatchInputs& b, const Tensor& word, const Tensor& pos, const Tensor& type,
           Tensor& out, Exec& ex) {
  check_batch(b, ex, "embed");
  for (const Tensor* t : {&word, &pos, static_cast<const Tensor*>(&out)}) expect_on(*t, ex, "embed", "table or output");
  const int64_t n = word.dim(1);
  expect_2d(out, b.tokens, n, "embed", "out");
  if (out.dtype() != DType::F32 || word.dtype() != DType::F32 || pos.dtype() != DType::F32)
    fail("embed: tables and output must be F32");
  if (type.defined()) {
    expect_on(type, ex, "embed", "token type table");
    expect_2d(type, type.dim(0), n, "embed", "token type table");
  }
  expect_2d(pos, pos.dim(0), n, "embed", "position table");
  if (ex.on_cpu()) {
    const int32_t* ids = b.ids.data<int32_t>();
    const int32_t* p = b.positions.data<int32_t>();
    const int32_t* ty = b.type_ids.data<int32_t>();
    for (int64_t t = 0; t < b.tokens; ++t) {
      if (ids[t] < 0 || ids[t] >= word.dim(0))
        fail("embed: token id ", ids[t], " outside the vocabulary of ", word.dim(0));
      if (p[t] < 0 || p[t] >= pos.dim(0))
        fail("embed: position ", p[t], " beyond max_position_embeddings ", pos.dim(0));
      if (type.defined() && (ty[t] < 0 || ty[t] >= type.dim(0)))
        fail("embed: token type ", ty[t], " outside type_vocab_size ", type.dim(0));
    }
    cpu::embed_sum_f32(ids, p, ty, word.data<float>(), pos.data<float>(),
                       type.defined() ? type.data<float>() : nullptr, out.data<float>(), b.tokens,
                       n);
    return;
  }
  LOWBIT_CUDA_OP(embed(b, word, pos, type, out, ex));
}

void layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
                double eps, Tensor& out, QuantRows* q, const std::string& point, Exec& ex) {
  expect_on(x, ex, "layer_norm", "x");
  expect_on(out, ex, "layer_norm", "out");
  if (x.rank() != 2) fail("layer_norm: x must be 2-D, got ", x.describe());
  const int64_t rows = x.dim(0), n = x.dim(1);
  expect_2d(out, rows, n, "layer_norm", "out");
  expect_act(out, ex, "layer_norm", "out");
  if (x.dtype() != DType::F32) expect_act(x, ex, "layer_norm", "x");
  if (residual.defined()) {
    expect_on(residual, ex, "layer_norm", "residual");
    expect_2d(residual, rows, n, "layer_norm", "residual");
    if (residual.dtype() != x.dtype()) fail("layer_norm: residual and x differ in dtype");
  }
  for (const Tensor* t : {&gamma, &beta}) {
    expect_on(*t, ex, "layer_norm", "gamma / beta");
    if (t->numel() != n || t->dtype() != DType::F32)
      fail("layer_norm: gamma / beta ", t->describe(), " must be F32 [", n, "]");
  }
  if (ex.on_cpu()) {
    if (q) fail("layer_norm: the CPU quantizes in the layer (quantize_matrix), not here");
    cpu::add_layer_norm_f32(x.data<float>(),
                            residual.defined() ? residual.data<float>() : nullptr,
                            gamma.data<float>(), beta.data<float>(), out.data<float>(), rows, n,
                            eps);
    return;
  }
  LOWBIT_CUDA_OP(layer_norm(x, residual, gamma, beta, eps, out, q, point, ex));
}

void quantize_rows(const Tensor& x, QuantRows& q, const std::string& point, Exec& ex,
                   const Tensor& row_amax) {
  expect_on(x, ex, "quantize_rows", "x");
  expect_act(x, ex, "quantize_rows", "x");
  if (ex.on_cpu()) fail("quantize_rows: the CPU quantizes in the layer (quantize_matrix)");
  if (row_amax.defined()) expect_row_amax(row_amax, x, ex, "quantize_rows");
  LOWBIT_CUDA_OP(quantize_rows(x, q, point, ex, row_amax));
}

void gemm(const GemmInput& x, const DeviceGemm& w, Tensor& y, const LinearEpilogue& ep,
          Exec& ex) {
  expect_on(y, ex, "gemm", "y");
  expect_act(y, ex, "gemm", "y");
  if (ex.on_cpu()) fail("gemm: the CPU runs Linear's reference path");
  if (ep.row_amax && ep.row_amax->defined()) expect_row_amax(*ep.row_amax, y, ex, "gemm");
  LOWBIT_CUDA_OP(gemm(x, w, y, ep, ex));
}

void attention(const Tensor& qkv, const BatchInputs& b, int64_t heads, const Tensor& rel_bias,
               Tensor& out, Exec& ex) {
  check_batch(b, ex, "attention");
  expect_on(qkv, ex, "attention", "qkv");
  expect_on(out, ex, "attention", "out");
  expect_act(qkv, ex, "attention", "qkv");
  expect_act(out, ex, "attention", "out");
  if (qkv.rank() != 2 || qkv.dim(0) != b.tokens || qkv.dim(1) % (3 * heads) != 0)
    fail("attention: qkv ", qkv.describe(), " is not [", b.tokens, ", 3 * heads * head_dim]");
  const int64_t hidden = qkv.dim(1) / 3;
  expect_2d(out, b.tokens, hidden, "attention", "out");
  int64_t span = 0;
  if (rel_bias.defined()) {
    expect_on(rel_bias, ex, "attention", "relative position bias");
    if (rel_bias.rank() != 2 || rel_bias.dim(0) != heads || rel_bias.dim(1) % 2 != 1 ||
        rel_bias.dtype() != DType::F32)
      fail("attention: relative position bias ", rel_bias.describe(), " is not F32 [", heads,
           ", 2 * span - 1]");
    span = (rel_bias.dim(1) + 1) / 2;
    for (int64_t i = 0; i < b.batch; ++i)
      if (b.cu_host[i + 1] - b.cu_host[i] > span)
        fail("attention: sequence ", i, " is longer than the relative position span ", span);
  }
  if (ex.on_cpu()) {
    cpu::attention_f32(qkv.data<float>(), b.cu_host, b.batch, heads, hidden / heads,
                       out.data<float>(), rel_bias.defined() ? rel_bias.data<float>() : nullptr,
                       span);
    return;
  }
  LOWBIT_CUDA_OP(attention(qkv, b, heads, rel_bias, out, ex));
}

void pool(const Tensor& x, const BatchInputs& b, bool mean, bool normalize, Tensor& out,
          Exec& ex) {
  check_batch(b, ex, "pool");
  expect_on(x, ex, "pool", "x");
  expect_on(out, ex, "pool", "out");
  expect_act(x, ex, "pool", "x");
  if (x.rank() != 2 || x.dim(0) != b.tokens) fail("pool: x ", x.describe(), " is not [tokens, H]");
  expect_2d(out, b.batch, x.dim(1), "pool", "out");
  if (out.dtype() != DType::F32) fail("pool: out must be F32");
  if (ex.on_cpu()) {
    cpu::pool_f32(x.data<float>(), b.cu_host, b.batch, x.dim(1), mean, out.data<float>());
    if (normalize) cpu::l2_normalize_f32(out.data<float>(), b.batch, x.dim(1));
    return;
  }
  LOWBIT_CUDA_OP(pool(x, b, mean, normalize, out, ex));
}

void classify_head(const Tensor& x, const BatchInputs& b, const Tensor& dense_w,
                   const Tensor& dense_b, Activation act, const Tensor& out_w,
                   const Tensor& out_b, Tensor& logits, Exec& ex) {
  check_batch(b, ex, "classify_head");
  for (const Tensor* t : {&x, &dense_w, &dense_b, &out_w, &out_b, static_cast<const Tensor*>(&logits)})
    expect_on(*t, ex, "classify_head", "operand");
  expect_act(x, ex, "classify_head", "x");
  const int64_t h = x.dim(1), labels = out_w.dim(0);
  expect_2d(dense_w, h, h, "classify_head", "dense weight");
  expect_2d(out_w, labels, h, "classify_head", "output weight");
  expect_2d(logits, b.batch, labels, "classify_head", "logits");
  if (ex.on_cpu()) {
    std::vector<float> pooled(static_cast<size_t>(h));
    for (int64_t r = 0; r < b.batch; ++r) {
      const float* xr = x.data<float>() + int64_t(b.cu_host[r]) * h;
      for (int64_t j = 0; j < h; ++j) {
        const float* w = dense_w.data<float>() + j * h;
        double s = 0;
        for (int64_t k = 0; k < h; ++k) s += double(w[k]) * double(xr[k]);
        pooled[size_t(j)] = head_act(act, float(s + double(dense_b.data<float>()[j])));
      }
      for (int64_t l = 0; l < labels; ++l) {
        const float* w = out_w.data<float>() + l * h;
        double s = 0;
        for (int64_t k = 0; k < h; ++k) s += double(w[k]) * double(pooled[size_t(k)]);
        logits.data<float>()[r * labels + l] = float(s + double(out_b.data<float>()[l]));
      }
    }
    return;
  }
  if (act == Activation::GeluTanh)
    fail("classify_head: the GPU head has tanh, relu and gelu (erf); this model's uses ",
         activation_name(act));
  LOWBIT_CUDA_OP(classify_head(x, b, dense_w, dense_b, act, out_w, out_b, logits, ex));
}

}  // namespace lowbit::ops
