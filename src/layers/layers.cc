#include "layers/layers.h"

#include <cmath>
#include <algorithm>
#include <cstring>

#include "backends/cpu/int_gemm.h"
#include "backends/cuda/gemm/wgmma_layout.h"

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
  if (q.weight.pow2) {
    for (float s : m.scales)
      if (int e = 0; std::frexp(s, &e) != 0.5f)
        fail(src.path(), ": tensor ", stored, ".wscale has a scale ", s,
             " that is not a power of two (scheme ", q.weight.str(), ")");
  }
  if (q.mode == GemmMode::W4A8Fp8) l.qweight_fp8 = widen_pow2_to_fp8(m);
  return l;
}

void Linear::set_quant(const GemmQuant& q) {
  LOWBIT_CHECK(weight.defined(), "set_quant needs the FP32 weights of ", name);
  quant = q;
  if (q.mode == GemmMode::Fp16) {
    cpu::round_to_half_f32(weight.data<float>(), weight.numel());
  } else if (is_quantized(q.mode)) {
    qweight = quantize_matrix(weight, q.weight, name + ".weight");
    if (q.mode == GemmMode::W4A8Fp8) qweight_fp8 = widen_pow2_to_fp8(qweight);
    weight = Tensor();
  }
}

int64_t DeviceGemm::bytes() const {
  int64_t n = 0;
  for (const Tensor* t : {&w, &sw, &zcorr, &bias})
    if (t->defined()) n += int64_t(t->nbytes());
  return n;
}

std::vector<GemmMode> Linear::device_modes() const {
  using M = GemmMode;
  switch (quant.mode) {
    case M::Fp32:
    case M::Fp16:
      return {M::Fp16};
    case M::W8A8:
      return {M::W8A8, M::Fp16};
    case M::Fp8:
      return {M::Fp8, M::Fp16};
    case M::W4A8:
      return {M::W4A8, M::W8A8, M::Fp16};
    case M::W4A4:
      return {M::W4A4, M::W4A8, M::W8A8, M::Fp16};
    case M::W4A8Fp8:
      return {M::Fp8, M::Fp16};
  }
  return {M::Fp16};
}

namespace {
// The 8-bit counterpart of an integer activation scheme (same symmetry and clip).
QuantScheme act8(QuantScheme a) {
  a.bits = 8;
  return a;
}

// `l` prepared for `mode` (one of l.device_modes()) in host memory.
DeviceGemm prepare(const Linear& l, GemmMode mode) {
  DeviceGemm g;
  g.mode = mode;
  if (l.bias.defined()) g.bias = l.bias;
  if (mode == GemmMode::Fp16) {
    // f16 operands, f32 accumulation: FP32 and FP16 weights rounded to half, quantized ones
    // dequantized first.
    const bool q = is_quantized(l.quant.mode);
    const Tensor w = q ? dequantize(l.qweight) : Tensor();
    const float* src = q ? w.data<float>() : l.weight.data<float>();
    g.w = Tensor::empty({l.out, l.in}, DType::F16);
    uint16_t* h = g.w.data<uint16_t>();
    for (int64_t i = 0; i < l.in * l.out; ++i) h[i] = float_to_half(src[i]);
    return g;
  }
  const QuantizedMatrix& q = l.gemm_weights();
  // w4a8-fp8 runs as fp8 with its own (FP8) activations; other modes may widen theirs to 8 bits.
  g.act =
      mode == l.quant.mode || l.quant.mode == GemmMode::W4A8Fp8 ? l.quant.act : act8(l.quant.act);
  g.a_layout = g.act.layout();
  g.b_layout = q.scheme.layout();
  g.group_size = q.scheme.group_size;
  if (mode == GemmMode::W8A8 && g.b_layout == PackedLayout::Int4) {
    // int4 weights widened to int8 bytes: the same codes through the W8A8 kernels.
    g.w = Tensor::empty({q.rows, q.cols}, DType::U8);
    uint8_t* w = g.w.data<uint8_t>();
    for (int64_t r = 0; r < q.rows; ++r)
      for (int64_t c = 0; c < q.cols; ++c) w[r * q.cols + c] = uint8_t(int8_t(q.code(r, c)));
    g.b_layout = PackedLayout::Int8;
  } else {
    g.w = Tensor::empty({q.rows, q.row_bytes()}, DType::U8);
    if (g.b_layout == PackedLayout::Int4 && (g.group_size == 0 || g.group_size == l.in)) {
      // The Hopper kernels read int4 weights in their own order (wgmma_layout.h).
      cuda::repack_int4_sm90(q.codes.data(), q.row_bytes(), g.w.data<uint8_t>(), q.rows, q.cols);
      g.b_sm90 = true;
    } else {
      std::memcpy(g.w.data<uint8_t>(), q.codes.data(), q.codes.size());
    }
  }
  g.sw = Tensor::empty({q.rows, q.groups()});
  std::memcpy(g.sw.data<float>(), q.scales.data(), q.scales.size() * 4);
  if (!g.act.symmetric) {
    g.zcorr = Tensor::empty({q.rows});
    cpu::zero_point_correction(q.scales.data(), q.code_sums.data(), q.rows, q.groups(),
                               g.zcorr.data<float>());
  }
  return g;
}
}  // namespace

Linear Linear::to(Device device, const std::vector<GemmMode>& modes) const {
  Linear l;
  l.quant = quant;
  l.in = in;
  l.out = out;
  l.role = role;
  l.name = name;
  const std::vector<GemmMode> ok = device_modes();
  for (GemmMode m : modes) {
    if (std::find(ok.begin(), ok.end(), m) == ok.end())
      fail(name, " is stored as ", gemm_mode_name(quant.mode), " and cannot run in ",
           gemm_mode_name(m));
    DeviceGemm g = prepare(*this, m);
    for (Tensor* t : {&g.w, &g.sw, &g.zcorr, &g.bias})
      if (t->defined()) *t = t->to(device);
    l.variants.push_back(std::move(g));
  }
  return l;
}

const DeviceGemm& Linear::variant(const Exec& ex) const {
  LOWBIT_CHECK(!variants.empty(), name, " has no weights on ", ex.device.str());
  if (!ex.mix || role < 0) return variants.front();
  const GemmMode m = (*ex.mix)[size_t(role)];
  for (const DeviceGemm& g : variants)
    if (g.mode == m) return g;
  fail(name, " has no ", gemm_mode_name(m), " weights uploaded");
}

bool Linear::quantized_in(const Exec& ex) const {
  return ex.on_cpu() ? is_quantized(quant.mode) : variant(ex).quantized();
}

void Linear::emit_input(GemmInput& in, Exec& ex) const {
  if (ex.on_cpu()) {
    in.q = is_quantized(quant.mode) ? quantize_matrix(in.x, quant.act, name + " input")
                                    : QuantizedMatrix();
    return;
  }
  const DeviceGemm& g = variant(ex);
  in.qd = QuantRows();
  if (!g.quantized()) return;
  in.qd.scheme = g.act;
  ops::quantize_rows(in.x, in.qd, "the input of " + name, ex, in.row_amax);
}

void Linear::forward(const GemmInput& x, Tensor& y, const LinearEpilogue& ep, Exec& ex) const {
  if (y.shape() != std::vector<int64_t>{x.x.dim(0), out})
    fail(name, ": output is ", y.describe(), ", expected [", x.x.dim(0), ", ", out, "]");
  if (ep.residual.defined() && ep.residual.shape() != y.shape())
    fail(name, ": residual ", ep.residual.describe(), " does not match the output ", y.describe());
  if (!ex.on_cpu()) return ops::gemm(x, variant(ex), y, ep, ex);
  if (!is_quantized(quant.mode)) {
    if (quant.mode == GemmMode::Fp16) {  // FP16 operands, FP32 accumulation, FP16 output
      Tensor xh = Tensor::empty(x.x.shape());
      std::memcpy(xh.data<float>(), x.x.data<float>(), x.x.nbytes());
      cpu::round_to_half_f32(xh.data<float>(), xh.numel());
      ops::linear(xh, weight, bias, y, ep.act);
    } else {
      ops::linear(x.x, weight, bias, y, ep.act);
    }
  } else {
    LOWBIT_CHECK(x.q.rows == x.x.dim(0) && x.q.scheme == quant.act, "input of ", name,
                 " was not quantized by its producer with scheme ", quant.act.str());
    quantized_matmul(x.q, gemm_weights(), bias.defined() ? bias.data<float>() : nullptr,
                     y.data<float>());
    cpu::bias_act_f32(y.data<float>(), nullptr, y.dim(0), out, ep.act);
  }
  if (ep.residual.defined()) {  // the residual add of the GPU's epilogue, in float32
    float* o = y.data<float>();
    const float* r = ep.residual.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) o[i] += r[i];
  }
  if (quant.mode == GemmMode::Fp16) cpu::round_to_half_f32(y.data<float>(), y.numel());
}

LayerNorm LayerNorm::load(const WeightSource& src, const std::string& name, int64_t n, double eps) {
  LayerNorm ln;
  ln.gamma = src.load(name + ".weight", {n});
  ln.beta = src.load(name + ".bias", {n});
  ln.eps = eps;
  return ln;
}

void LayerNorm::forward(const Tensor& x, const Tensor& residual, GemmInput& out,
                        const Linear* next, Exec& ex) const {
  if (ex.on_cpu()) {
    ops::layer_norm(x, residual, gamma, beta, eps, out.x, nullptr, "", ex);
    if (next) next->emit_input(out, ex);
    return;
  }
  out.qd = QuantRows();
  if (next && next->quantized_in(ex)) {  // LayerNorm + quantize in one pass
    out.qd.scheme = next->variant(ex).act;
    ops::layer_norm(x, residual, gamma, beta, eps, out.x, &out.qd, "the input of " + next->name,
                    ex);
    return;
  }
  ops::layer_norm(x, residual, gamma, beta, eps, out.x, nullptr, "", ex);
}

}  // namespace lowbit
