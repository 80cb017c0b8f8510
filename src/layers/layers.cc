#include "layers/layers.h"

#include <cmath>
#include <cstring>

namespace lowbit {

namespace {
void convert_to_f32(const TensorView& v, float* dst) {
  const int64_t n = v.numel();
  const std::byte* src = v.bytes.data();
  switch (v.dtype) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
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

template <typename T>
std::vector<T> copy_bytes(const TensorView& v) {
  std::vector<T> out(size_t(v.numel()));
  std::memcpy(out.data(), v.bytes.data(), v.bytes.size());
  return out;
}
}  // namespace

Tensor WeightSource::load(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorView& v = file_.at(prefix_ + name);
  if (v.shape != shape)
    fail(file_.path(), ": tensor ", v.name, " has shape ", shape_str(v.shape),
         " but config.json implies ", shape_str(shape));
  Tensor t = Tensor::empty(shape);
  convert_to_f32(v, t.data<float>());
  return t;
}

Tensor WeightSource::load_stacked(const std::vector<std::string>& names,
                                  std::vector<int64_t> each) const {
  std::vector<int64_t> shape = each;
  shape[0] *= int64_t(names.size());
  Tensor t = Tensor::empty(shape);
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor part = load(names[i], each);
    std::memcpy(t.data<float>() + int64_t(i) * part.numel(), part.data<float>(), part.nbytes());
  }
  return t;
}

const TensorView& WeightSource::raw(const std::string& name, DType dtype,
                                    const std::vector<int64_t>& shape) const {
  const TensorView& v = file_.at(prefix_ + name);
  if (v.dtype != dtype || v.shape != shape)
    fail(file_.path(), ": tensor ", v.name, " is ", shape_str(v.shape), " ", dtype_name(v.dtype),
         " but recipe.json implies ", shape_str(shape), " ", dtype_name(dtype));
  return v;
}

Linear Linear::load(const WeightSource& src, const std::string& name, int64_t in, int64_t out) {
  Linear l;
  l.in = in;
  l.out = out;
  l.name = name;
  l.weight = src.load(name + ".weight", {out, in});
  if (src.has(name + ".bias")) l.bias = src.load(name + ".bias", {out});
  return l;
}

Linear Linear::load_qkv(const WeightSource& src, const std::string& prefix,
                        const std::array<std::string, 3>& names, int64_t hidden) {
  Linear l;
  l.in = hidden;
  l.out = 3 * hidden;
  l.name = prefix + "qkv";
  std::vector<std::string> w, b;
  for (const auto& p : names) {
    w.push_back(prefix + p + ".weight");
    b.push_back(prefix + p + ".bias");
  }
  l.weight = src.load_stacked(w, {hidden, hidden});
  l.bias = src.load_stacked(b, {hidden});
  return l;
}

Linear Linear::load_lowbit(const WeightSource& src, const std::string& stored, const GemmQuant& q,
                           int64_t in, int64_t out) {
  Linear l;
  l.in = in;
  l.out = out;
  l.name = stored;
  l.quant = q;
  if (src.has(stored + ".bias")) l.bias = src.load(stored + ".bias", {out});
  if (!is_quantized(q.mode)) {
    if (q.mode == GemmMode::Fp16) src.raw(stored + ".weight", DType::F16, {out, in});
    l.weight = src.load(stored + ".weight", {out, in});
    return l;
  }
  QuantizedMatrix& m = l.qweight;
  m.scheme = q.weight;
  m.rows = out;
  m.cols = in;
  const int64_t groups = q.weight.groups_per_row(in, stored + ".qweight");
  m.codes = copy_bytes<uint8_t>(src.raw(stored + ".qweight", DType::U8, {out, m.row_bytes()}));
  m.scales = copy_bytes<float>(src.raw(stored + ".wscale", DType::F32, {out, groups}));
  if (q.weight.is_int()) {
    m.code_sums = copy_bytes<int32_t>(src.raw(stored + ".wsum", DType::I32, {out, groups}));
    // The sums feed the asymmetric epilogue: they must be the sums of these very codes.
    const int64_t g_len = in / groups;
    for (int64_t r = 0; r < out; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        int32_t s = 0;
        for (int64_t k = g * g_len; k < (g + 1) * g_len; ++k) s += m.code(r, k);
        if (s != m.code_sums[size_t(r * groups + g)])
          fail(src.path(), ": tensor ", stored, ".wsum row ", r, " group ", g,
               " does not match the sum of ", stored, ".qweight's codes");
      }
  }
  for (float s : m.scales)
    if (!(std::isfinite(s) && s > 0))
      fail(src.path(), ": tensor ", stored, ".wscale has a scale ", s,
           " that is not finite and positive");
  return l;
}

void Linear::set_quant(const GemmQuant& q) {
  LOWBIT_CHECK(weight.defined(), "set_quant needs the FP32 weights of ", name);
  quant = q;
  if (q.mode == GemmMode::Fp16) {
    cpu::round_to_half_f32(weight.data<float>(), weight.numel());
  } else if (is_quantized(q.mode)) {
    qweight = quantize_matrix(weight, q.weight, name + ".weight");
    weight = Tensor();
  }
}

void Linear::emit_input(GemmInput& in) const {
  if (!is_quantized(quant.mode)) {
    in.q = QuantizedMatrix();
    return;
  }
  in.q = quantize_matrix(in.x, quant.act, name + " input");
}

void Linear::forward(const GemmInput& x, Tensor& y, ops::Epilogue ep) const {
  if (!is_quantized(quant.mode)) {
    if (quant.mode == GemmMode::Fp16) {  // FP16 operands, FP32 accumulation, FP16 output
      Tensor xh = Tensor::empty(x.x.shape());
      std::memcpy(xh.data<float>(), x.x.data<float>(), x.x.nbytes());
      cpu::round_to_half_f32(xh.data<float>(), xh.numel());
      ops::linear(xh, weight, bias, y, ep);
      cpu::round_to_half_f32(y.data<float>(), y.numel());
      return;
    }
    ops::linear(x.x, weight, bias, y, ep);
    return;
  }
  LOWBIT_CHECK(x.q.rows == x.x.dim(0) && x.q.scheme == quant.act, "input of ", name,
               " was not quantized by its producer with scheme ", quant.act.str());
  if (y.shape() != std::vector<int64_t>{x.x.dim(0), out})
    fail(name, ": output is ", y.describe(), ", expected [", x.x.dim(0), ", ", out, "]");
  quantized_matmul(x.q, qweight, bias.defined() ? bias.data<float>() : nullptr, y.data<float>());
  cpu::bias_act_f32(y.data<float>(), nullptr, y.dim(0), out, ep);
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

void LayerNorm::forward(const Tensor& x, const Tensor& residual, GemmInput& out,
                        const Linear& next) const {
  forward(x, residual, out.x);
  next.emit_input(out);
}

}  // namespace lowbit
