#include "ops/op.h"

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

void add_layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                    const Tensor& beta, double eps, Tensor& out) {
  expect_f32(x, "layer_norm", "x");
  if (x.rank() != 2) fail("layer_norm: x must be 2-D, got ", x.describe());
  const int64_t rows = x.dim(0), n = x.dim(1);
  if (residual.defined()) expect_shape(residual, x.shape(), "layer_norm", "residual");
  expect_shape(gamma, {n}, "layer_norm", "gamma");
  expect_shape(beta, {n}, "layer_norm", "beta");
  expect_shape(out, x.shape(), "layer_norm", "out");
  cpu::add_layer_norm_f32(x.data<float>(), residual.defined() ? residual.data<float>() : nullptr,
                          gamma.data<float>(), beta.data<float>(), out.data<float>(), rows, n, eps);
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

void embed_sum(const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
               const std::vector<int32_t>& type_ids, const Tensor& word, const Tensor& pos,
               const Tensor& type, Tensor& out) {
  const int64_t tokens = int64_t(ids.size());
  if (positions.size() != ids.size() || type_ids.size() != ids.size())
    fail("embed: ids, positions and type ids differ in length");
  expect_f32(word, "embed", "word embeddings");
  const int64_t n = word.dim(1);
  expect_shape(pos, {pos.dim(0), n}, "embed", "position embeddings");
  if (type.defined()) expect_shape(type, {type.dim(0), n}, "embed", "token type embeddings");
  expect_shape(out, {tokens, n}, "embed", "out");
  for (int64_t t = 0; t < tokens; ++t) {
    if (ids[t] < 0 || ids[t] >= word.dim(0))
      fail("embed: token id ", ids[t], " outside the vocabulary of ", word.dim(0));
    if (positions[t] < 0 || positions[t] >= pos.dim(0))
      fail("embed: position ", positions[t], " beyond max_position_embeddings ", pos.dim(0));
    if (type.defined() && (type_ids[t] < 0 || type_ids[t] >= type.dim(0)))
      fail("embed: token type ", type_ids[t], " outside type_vocab_size ", type.dim(0));
  }
  cpu::embed_sum_f32(ids.data(), positions.data(), type_ids.data(), word.data<float>(),
                     pos.data<float>(), type.defined() ? type.data<float>() : nullptr,
                     out.data<float>(), tokens, n);
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
