#include "layers/layers.h"

#include <cstring>

namespace lowbit {

namespace {
void convert_to_f32(const TensorView& v, float* dst) {
  const int64_t n = v.numel();
  const std::byte* src = v.bytes.data();
  switch (v.dtype) {
    case DType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = v.dtype == DType::F16 ? half_to_float(h) : bf16_to_float(h);
      }
      return;
    default:
      fail("tensor ", v.name, " has dtype ", dtype_name(v.dtype),
           "; weights must be F32, F16 or BF16");
  }
}
}  // namespace

Tensor WeightSource::load(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorView& v = file_.at(prefix_ + name);
  if (v.shape != shape)
    fail(file_.path(), ": tensor ", v.name, " has shape ", shape_str(v.shape), " but config.json implies ",
         shape_str(shape));
  Tensor t = Tensor::empty(shape);
  convert_to_f32(v, t.data<float>());
  return t;
}

Tensor WeightSource::load_stacked(const std::vector<std::string>& names, int64_t rows_each,
                                  int64_t cols) const {
  Tensor t = Tensor::empty({int64_t(names.size()) * rows_each, cols});
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor part = load(names[i], cols == 1 ? std::vector<int64_t>{rows_each}
                                                 : std::vector<int64_t>{rows_each, cols});
    std::memcpy(t.data<float>() + i * rows_each * cols, part.data<float>(), part.nbytes());
  }
  return t;
}

Linear Linear::load(const WeightSource& src, const std::string& name, int64_t in, int64_t out) {
  Linear l;
  l.in = in;
  l.out = out;
  l.weight = src.load(name + ".weight", {out, in});
  if (src.has(name + ".bias")) l.bias = src.load(name + ".bias", {out});
  return l;
}

Linear Linear::load_qkv(const WeightSource& src, const std::string& prefix, int64_t hidden) {
  Linear l;
  l.in = hidden;
  l.out = 3 * hidden;
  const std::vector<std::string> parts{prefix + "query", prefix + "key", prefix + "value"};
  std::vector<std::string> w, b;
  for (const auto& p : parts) {
    w.push_back(p + ".weight");
    b.push_back(p + ".bias");
  }
  l.weight = src.load_stacked(w, hidden, hidden);
  l.bias = src.load_stacked(b, hidden, 1).reshape({3 * hidden});
  return l;
}

void Linear::forward(const Tensor& x, Tensor& y, ops::Epilogue ep) const {
  ops::linear(x, weight, bias, y, ep);
}

LayerNorm LayerNorm::load(const WeightSource& src, const std::string& name, int64_t n, double eps) {
  LayerNorm ln;
  ln.gamma = src.load(name + ".weight", {n});
  ln.beta = src.load(name + ".bias", {n});
  ln.eps = eps;
  return ln;
}

void LayerNorm::forward(const Tensor& x, const Tensor& residual, Tensor& out) const {
  ops::add_layer_norm(x, residual, gamma, beta, eps, out);
}

}  // namespace lowbit
