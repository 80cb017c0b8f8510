// Every op (src/ops/op.h) on every compiled backend against the CPU (llama.cpp's
// test-backend-ops is the model): the same inputs, each op run through its dispatch on the CPU
// (FP32 activations) and on the GPU (FP16 activations, the inputs rounded to FP16 first so that
// both see the same numbers), with a stated error budget per op:
//   embed, quantize_rows                  bit-exact (float adds in the same order; the contract)
//   gemm, integer modes                   exact int32 sums; |Δ| <= 2^-10 |ref| + 2^-14 (FP16 out)
//   gemm, fp16 / fp8 modes                float sums in another order: |Δ| <= 2^-9 |ref| + 1e-3 · ‖row‖∞
//   layer_norm (+ quantize)               |Δ| <= 2^-10 |ref| + 1e-4; codes within 1, ≤ 1 % off
//   attention (+ relative bias)           |Δ| <= 2e-3 + 2^-9 |ref| (P and O rounded to FP16)
//   pool, classify_head                   |Δ| <= 1e-3 (FP16 input rounding already shared)
// Label gpu (run on the H200; CI builds it).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/arena.h"
#include "core/device_memory.h"
#include "layers/layers.h"
#include "ops/op.h"
#include "runtime/session.h"

namespace lowbit {
namespace {

const Device kGpu = Device::cuda(0);

// A GPU Exec with its own arena and status words (reset to all ones).
struct GpuExec {
  Arena arena{kGpu};
  Tensor status = Tensor::empty({64}, DType::I64, kGpu);
  Exec ex{kGpu};
  GpuExec() {
    ex.arena = &arena;
    ex.status = reinterpret_cast<unsigned long long*>(status.data<int64_t>());
    ex.status_capacity = status.numel();
    fill_memory(status.data<void>(), kGpu, 0xFF, status.nbytes());
  }
  // Waits for the launches and fails the test on a CUDA error.
  void sync() { ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess); }
};

Tensor random_f32(std::vector<int64_t> shape, float sd, std::mt19937& rng, float mean = 0) {
  Tensor t = Tensor::empty(std::move(shape));
  std::normal_distribution<float> nd(mean, sd);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
  return t;
}
// Rounded to FP16 in place: the values both backends see.
Tensor halfed(Tensor t) {
  cpu::round_to_half_f32(t.data<float>(), t.numel());
  return t;
}
// F32 host values -> F16 on the GPU.
Tensor to_gpu_half(const Tensor& t) {
  Tensor h = Tensor::empty(t.shape(), DType::F16);
  for (int64_t i = 0; i < t.numel(); ++i) h.data<uint16_t>()[i] = float_to_half(t.data<float>()[i]);
  return h.to(kGpu);
}
// Any GPU tensor (F16 or F32) -> F32 on the host.
Tensor to_host_f32(const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  if (h.dtype() == DType::F32) return h;
  Tensor f = Tensor::empty(h.shape());
  for (int64_t i = 0; i < h.numel(); ++i) f.data<float>()[i] = half_to_float(h.data<uint16_t>()[i]);
  return f;
}
Tensor host_i32(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::I32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}

struct Batch {
  std::vector<int32_t> cu{0}, ids, pos, types;
  int64_t max_len = 0;
  int64_t b() const { return int64_t(cu.size()) - 1; }
  ops::BatchInputs on(Device d, std::vector<Tensor>& keep) const {
    ops::BatchInputs b;
    for (const auto* v : {&ids, &pos, &types, &cu}) keep.push_back(host_i32(*v).to(d));
    const size_t k = keep.size();
    b.ids = keep[k - 4];
    b.positions = keep[k - 3];
    b.type_ids = keep[k - 2];
    b.cu_seqlens = keep[k - 1];
    b.cu_host = cu.data();
    b.tokens = cu.back();
    b.batch = int64_t(cu.size()) - 1;
    b.max_len = max_len;
    return b;
  }
};
Batch make_batch(const std::vector<int>& lens, int64_t vocab, std::mt19937& rng) {
  Batch b;
  for (int l : lens) {
    for (int i = 0; i < l; ++i) {
      b.ids.push_back(int32_t(rng() % uint32_t(vocab)));
      b.pos.push_back(i);
      b.types.push_back(i % 2);
    }
    b.cu.push_back(b.cu.back() + l);
    b.max_len = std::max<int64_t>(b.max_len, l);
  }
  return b;
}

// Largest |got - ref| / (abs_tol + rel_tol |ref|): <= 1 is within budget.
double budget_ratio(const Tensor& got, const Tensor& ref, double abs_tol, double rel_tol) {
  EXPECT_EQ(got.shape(), ref.shape());
  double worst = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double g = got.data<float>()[i], r = ref.data<float>()[i];
    const double d = std::fabs(g - r);
    const double q = d == 0 ? 0.0 : d / (abs_tol + rel_tol * std::fabs(r));
    worst = std::max(worst, std::isfinite(q) ? q : 1e30);
  }
  return worst;
}

class Ops : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!cuda_available(&why)) GTEST_FAIL() << why;
  }
};

TEST_F(Ops, EmbedIsBitExact) {
  std::mt19937 rng(1);
  const int64_t h = 256, vocab = 300;
  const Tensor word = random_f32({vocab, h}, 1, rng), pos = random_f32({64, h}, 1, rng),
               type = random_f32({2, h}, 1, rng);
  const Batch bt = make_batch({1, 7, 64, 33}, vocab, rng);
  std::vector<Tensor> keep;
  Exec cpu;
  Tensor ref = Tensor::empty({bt.cu.back(), h});
  ops::embed(bt.on(Device::cpu(), keep), word, pos, type, ref, cpu);
  GpuExec g;
  Tensor out = g.ex.empty({bt.cu.back(), h}, DType::F32);
  ops::embed(bt.on(kGpu, keep), word.to(kGpu), pos.to(kGpu), type.to(kGpu), out, g.ex);
  g.sync();
  EXPECT_EQ(budget_ratio(to_host_f32(out), ref, 0, 0), 0.0);
}

TEST_F(Ops, QuantizeRowsIsBitExact) {
  std::mt19937 rng(2);
  for (const QuantScheme& s : {QuantScheme::int_sym(8), QuantScheme::int_asym(8),
                               QuantScheme::int_sym(4), QuantScheme::int_asym(4),
                               QuantScheme::fp8()}) {
    const Tensor x = halfed(random_f32({37, 768}, 2, rng, 0.3f));
    const QuantizedMatrix ref = quantize_matrix(x, s, "x");
    GpuExec g;
    QuantRows q;
    q.scheme = s;
    ops::quantize_rows(to_gpu_half(x), q, "x", g.ex);
    g.sync();
    const Tensor codes = q.codes.to(Device::cpu()), scales = q.scales.to(Device::cpu());
    EXPECT_TRUE(std::equal(ref.codes.begin(), ref.codes.end(), codes.data<uint8_t>())) << s.str();
    EXPECT_TRUE(std::equal(ref.scales.begin(), ref.scales.end(), scales.data<float>())) << s.str();
  }
}

TEST_F(Ops, LayerNormWithQuantizedCopy) {
  std::mt19937 rng(3);
  const int64_t rows = 50, n = 768;
  const Tensor x = random_f32({rows, n}, 3, rng), gamma = random_f32({n}, 0.2f, rng, 1),
               beta = random_f32({n}, 0.1f, rng);
  Exec cpu;
  Tensor ref = Tensor::empty({rows, n});
  ops::layer_norm(x, Tensor(), gamma, beta, 1e-12, ref, nullptr, "", cpu);
  for (const QuantScheme& s : {QuantScheme::int_sym(8), QuantScheme::int_asym(4)}) {
    GpuExec g;
    Tensor out = g.ex.empty({rows, n}, DType::F16);
    QuantRows q;
    q.scheme = s;
    ops::layer_norm(x.to(kGpu), Tensor(), gamma.to(kGpu), beta.to(kGpu), 1e-12, out, &q, "x",
                    g.ex);
    g.sync();
    const double r = budget_ratio(to_host_f32(out), ref, 1e-4, 0x1p-10);
    // The codes against the CPU quantizing its own FP32 result: values on a rounding boundary may
    // land one code apart.
    const QuantizedMatrix want = quantize_matrix(ref, s, "ref");
    const Tensor codes = q.codes.to(Device::cpu());
    int64_t off = 0, far = 0;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < n; ++c) {
        const int d = std::abs(load_code(s.layout(), codes.data<uint8_t>() + i * want.row_bytes(), c) -
                               want.code(i, c));
        off += d > 0;
        far += d > 1;
      }
    std::printf("layer_norm + %s: worst %.3f of the budget, %lld of %lld codes one apart\n",
                s.str().c_str(), r, (long long)off, (long long)(rows * n));
    EXPECT_LE(r, 1.0);
    EXPECT_EQ(far, 0);
    EXPECT_LE(off, rows * n / 100);
  }
}

struct GemmCase {
  GemmMode mode;
  bool asym, gelu, residual;
};

TEST_F(Ops, GemmEveryModeWithItsEpilogue) {
  std::mt19937 rng(4);
  const int64_t m = 77, k = 768, n = 384;
  const GemmCase cases[] = {{GemmMode::W8A8, false, false, true}, {GemmMode::W8A8, true, true, false},
                            {GemmMode::W4A8, false, true, true},  {GemmMode::W4A4, false, false, false},
                            {GemmMode::W4A4, true, false, true},  {GemmMode::Fp8, false, false, true},
                            {GemmMode::Fp16, false, true, true}};
  for (const GemmCase& c : cases) {
    Linear lin;
    lin.in = k;
    lin.out = n;
    lin.name = "test.gemm";
    lin.weight = random_f32({n, k}, 1.0f / std::sqrt(float(k)), rng);
    lin.bias = random_f32({n}, 0.1f, rng);
    lin.set_quant(GemmQuant::make(c.mode, c.asym));
    const Tensor x = halfed(random_f32({m, k}, 1, rng, 0.2f));
    const Tensor res = halfed(random_f32({m, n}, 1, rng));
    const ops::Epilogue act = c.gelu ? ops::Epilogue::GeluErf : ops::Epilogue::None;
    // CPU
    Exec cpu;
    GemmInput xi;
    xi.x = x;
    lin.emit_input(xi, cpu);
    Tensor ref = Tensor::empty({m, n});
    lin.forward(xi, ref, {act, c.residual ? res : Tensor()}, cpu);
    // GPU
    const Linear dev = lin.to(kGpu, {c.mode});
    GpuExec g;
    GemmInput xg;
    xg.x = to_gpu_half(x);
    dev.emit_input(xg, g.ex);
    Tensor y = g.ex.empty({m, n}, DType::F16);
    dev.forward(xg, y, {act, c.residual ? to_gpu_half(res) : Tensor()}, g.ex);
    g.sync();
    const bool exact = c.mode != GemmMode::Fp16 && c.mode != GemmMode::Fp8;
    double amax = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) amax = std::max(amax, double(std::fabs(ref.data<float>()[i])));
    const double r = exact ? budget_ratio(to_host_f32(y), ref, 0x1p-14, 0x1p-10)
                           : budget_ratio(to_host_f32(y), ref, 1e-3 * amax, 0x1p-9);
    std::printf("gemm %s%s%s%s: worst %.3f of the budget\n", gemm_mode_name(c.mode),
                c.asym ? " asym" : "", c.gelu ? " +gelu" : "", c.residual ? " +residual" : "", r);
    EXPECT_LE(r, 1.0) << gemm_mode_name(c.mode);
  }
}

TEST_F(Ops, AttentionWithAndWithoutRelativeBias) {
  std::mt19937 rng(5);
  const int64_t heads = 4, d = 64, hidden = heads * d;
  const Batch bt = make_batch({1, 9, 64, 65, 130, 200}, 10, rng);
  const int64_t t = bt.cu.back();
  const Tensor qkv = halfed(random_f32({t, 3 * hidden}, 1, rng));
  const Tensor bias = random_f32({heads, 2 * 256 - 1}, 1, rng);
  for (bool with_bias : {false, true}) {
    std::vector<Tensor> keep;
    Exec cpu;
    Tensor ref = Tensor::empty({t, hidden});
    ops::attention(qkv, bt.on(Device::cpu(), keep), heads, with_bias ? bias : Tensor(), ref, cpu);
    GpuExec g;
    Tensor out = g.ex.empty({t, hidden}, DType::F16);
    ops::attention(to_gpu_half(qkv), bt.on(kGpu, keep), heads,
                   with_bias ? bias.to(kGpu) : Tensor(), out, g.ex);
    g.sync();
    const double r = budget_ratio(to_host_f32(out), ref, 2e-3, 0x1p-9);
    std::printf("attention%s: worst %.3f of the budget\n", with_bias ? " + relative bias" : "", r);
    EXPECT_LE(r, 1.0);
  }
}

TEST_F(Ops, PoolAndClassifierHead) {
  std::mt19937 rng(6);
  const int64_t h = 256, labels = 3;
  const Batch bt = make_batch({1, 17, 64, 100}, 10, rng);
  const int64_t t = bt.cu.back();
  const Tensor x = halfed(random_f32({t, h}, 1, rng));
  for (bool mean : {false, true})
    for (bool norm : {false, true}) {
      std::vector<Tensor> keep;
      Exec cpu;
      Tensor ref = Tensor::empty({bt.b(), h});
      ops::pool(x, bt.on(Device::cpu(), keep), mean, norm, ref, cpu);
      GpuExec g;
      Tensor out = g.ex.empty({bt.b(), h}, DType::F32);
      ops::pool(to_gpu_half(x), bt.on(kGpu, keep), mean, norm, out, g.ex);
      g.sync();
      EXPECT_LE(budget_ratio(to_host_f32(out), ref, 1e-5, 1e-5), 1.0) << mean << norm;
    }
  const Tensor dw = random_f32({h, h}, 0.06f, rng), db = random_f32({h}, 0.1f, rng),
               ow = random_f32({labels, h}, 0.1f, rng), ob = random_f32({labels}, 0.1f, rng);
  // Every head activation: BERT / RoBERTa tanh, DistilBERT relu, ELECTRA gelu.
  for (Activation act : {Activation::Tanh, Activation::Relu, Activation::GeluErf}) {
    std::vector<Tensor> keep;
    Exec cpu;
    Tensor ref = Tensor::empty({bt.b(), labels});
    ops::classify_head(x, bt.on(Device::cpu(), keep), dw, db, act, ow, ob, ref, cpu);
    GpuExec g;
    Tensor out = g.ex.empty({bt.b(), labels}, DType::F32);
    ops::classify_head(to_gpu_half(x), bt.on(kGpu, keep), dw.to(kGpu), db.to(kGpu), act,
                       ow.to(kGpu), ob.to(kGpu), out, g.ex);
    g.sync();
    EXPECT_LE(budget_ratio(to_host_f32(out), ref, 1e-4, 1e-4), 1.0) << activation_name(act);
  }
}

TEST_F(Ops, RejectTensorsOnTheWrongDevice) {
  std::mt19937 rng(7);
  const Batch bt = make_batch({3}, 10, rng);
  std::vector<Tensor> keep;
  GpuExec g;
  const Tensor x = random_f32({3, 64}, 1, rng);  // host memory, GPU exec
  Tensor out = g.ex.empty({1, 64}, DType::F32);
  try {
    ops::pool(x, bt.on(kGpu, keep), true, false, out, g.ex);
    ADD_FAILURE() << "a host tensor was accepted by a GPU op";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not on cuda:0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit
