// Flash attention (src/backends/cuda/attention) against the CPU reference cpu::attention_f32 on
// the same FP16-rounded inputs: ragged batches with lengths around the 64-key tiles, head dims
// 32 / 64 / 128, and large scores (softmax stability). Budget per output: 2e-3 + 2^-9 |ref| (P
// and the output are rounded to FP16 once each; measured errors are printed).
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cuda/attention/flash_attention.h"
#include "backends/cuda/check.h"

namespace lowbit {
namespace {

struct Case {
  std::vector<int32_t> lens;
  int64_t heads, head_dim;
  float magnitude;    // q and k drawn from U(-magnitude, magnitude)
  int64_t span = 0;   // > 0: a random relative position bias [heads, 2 span - 1] (MPNet)
};

void run_case(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> cu{0};
  int64_t max_len = 0;
  for (int32_t l : c.lens) {
    cu.push_back(cu.back() + l);
    max_len = std::max<int64_t>(max_len, l);
  }
  const int64_t t = cu.back(), hidden = c.heads * c.head_dim;
  std::vector<__half> qkv_h(size_t(t * 3 * hidden));
  std::vector<float> qkv_f(qkv_h.size());
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t j = 0; j < 3 * hidden; ++j) {
      const float scale = j < 2 * hidden ? c.magnitude : 1.0f;  // q, k: magnitude; v: 1
      const size_t i = size_t(r * 3 * hidden + j);
      qkv_h[i] = __float2half_rn(u(rng) * scale);
      qkv_f[i] = __half2float(qkv_h[i]);
    }
  std::vector<float> bias;  // [heads, 2 span - 1]
  for (int64_t i = 0; i < (c.span ? c.heads * (2 * c.span - 1) : 0); ++i)
    bias.push_back(3.0f * u(rng));
  std::vector<float> ref(size_t(t * hidden));
  cpu::attention_f32(qkv_f.data(), cu.data(), int64_t(c.lens.size()), c.heads, c.head_dim,
                     ref.data(), c.span ? bias.data() : nullptr, c.span);

  void *d_qkv = nullptr, *d_out = nullptr, *d_cu = nullptr;
  LOWBIT_CUDA_CHECK(cudaMalloc(&d_qkv, qkv_h.size() * 2));
  LOWBIT_CUDA_CHECK(cudaMalloc(&d_out, ref.size() * 2 + 64));
  LOWBIT_CUDA_CHECK(cudaMalloc(&d_cu, cu.size() * 4));
  void* d_bias = nullptr;
  if (c.span) {
    LOWBIT_CUDA_CHECK(cudaMalloc(&d_bias, bias.size() * 4));
    LOWBIT_CUDA_CHECK(cudaMemcpy(d_bias, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice));
  }
  LOWBIT_CUDA_CHECK(cudaMemcpy(d_qkv, qkv_h.data(), qkv_h.size() * 2, cudaMemcpyHostToDevice));
  LOWBIT_CUDA_CHECK(cudaMemcpy(d_cu, cu.data(), cu.size() * 4, cudaMemcpyHostToDevice));
  LOWBIT_CUDA_CHECK(cudaMemset(d_out, 0xFF, ref.size() * 2 + 64));  // NaN poison + guard
  cuda::FlashAttentionParams p;
  p.qkv = d_qkv;
  p.cu_seqlens = static_cast<const int32_t*>(d_cu);
  p.batch = int64_t(c.lens.size());
  p.max_seqlen = max_len;
  p.heads = c.heads;
  p.head_dim = c.head_dim;
  p.out = d_out;
  p.rel_bias = static_cast<const float*>(d_bias);
  p.rel_span = c.span;
  cuda::flash_attention(p);
  LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<__half> got(ref.size() + 32);
  LOWBIT_CUDA_CHECK(cudaMemcpy(got.data(), d_out, got.size() * 2, cudaMemcpyDeviceToHost));
  cudaFree(d_qkv);
  cudaFree(d_out);
  cudaFree(d_cu);
  cudaFree(d_bias);

  size_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double g = double(__half2float(got[i])), r = double(ref[i]);
    const double tol = 2e-3 + 0x1p-9 * std::fabs(r);
    const double err = std::fabs(g - r);
    worst = std::max(worst, err / tol);
    if (!(err <= tol) && bad++ < 3)
      ADD_FAILURE() << "token " << i / size_t(hidden) << " col " << i % size_t(hidden) << ": got "
                    << g << ", want " << r;
  }
  for (size_t i = ref.size(); i < got.size(); ++i)
    EXPECT_EQ(reinterpret_cast<const uint16_t&>(got[i]), 0xFFFF) << "wrote past the output";
  EXPECT_EQ(bad, 0u);
  std::printf(
      "heads %lld x d %lld, %zu sequences, %lld tokens, |q|,|k| <= %.0f: worst %.3f of the "
      "budget\n",
      (long long)c.heads, (long long)c.head_dim, c.lens.size(), (long long)t, c.magnitude, worst);
}

TEST(CudaFlashAttention, RaggedBatchesEveryHeadDim) {
  const std::vector<int32_t> lens = {1, 5, 63, 64, 65, 128, 200, 384, 512, 17};
  for (const int64_t d : {32, 64, 128}) run_case({lens, 4, d, 1.0f}, 10 + uint32_t(d));
  run_case({{128, 128, 128, 128}, 12, 64, 1.0f}, 3);  // BERT-base heads
}

TEST(CudaFlashAttention, LargeScoresStayFinite) {
  run_case({{7, 70, 300}, 2, 64, 8.0f}, 4);  // scores up to ~±500 before the 1/8 scale
}

TEST(CudaFlashAttention, RelativePositionBias) {
  // MPNet-style: the bias differs for every relative position, lengths around the tiles.
  const std::vector<int32_t> lens = {1, 9, 64, 65, 130, 200, 514};
  for (const int64_t d : {32, 64}) run_case({lens, 3, d, 1.0f, 514}, 20 + uint32_t(d));
}

TEST(CudaFlashAttention, RejectsBadParameters) {
  cuda::FlashAttentionParams p;
  p.head_dim = 80;
  EXPECT_NE(cuda::can_flash_attention(p).find("head_dim=80"), std::string::npos);
  p.head_dim = 64;
  p.heads = 1;
  p.batch = 1;
  EXPECT_NE(cuda::can_flash_attention(p).find("must be set"), std::string::npos);
}

}  // namespace
}  // namespace lowbit
