#include "backends/cuda/encoder/encoder_kernels.h"

#include <cuda_fp16.h>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"

namespace lowbit::cuda {

namespace {

__global__ void embed_sum_kernel(const int32_t* __restrict__ ids,
                                 const int32_t* __restrict__ positions,
                                 const int32_t* __restrict__ type_ids,
                                 const float* __restrict__ word, const float* __restrict__ pos,
                                 const float* __restrict__ type, float* __restrict__ out, int n) {
  const int64_t t = blockIdx.x;
  const float4* a = reinterpret_cast<const float4*>(word + int64_t(ids[t]) * n);
  const float4* b = reinterpret_cast<const float4*>(pos + int64_t(positions[t]) * n);
  const float4* c = reinterpret_cast<const float4*>(type + int64_t(type_ids[t]) * n);
  float4* o = reinterpret_cast<float4*>(out + t * n);
  for (int j = threadIdx.x; j < n / 4; j += blockDim.x) {
    const float4 x = __ldg(a + j), y = __ldg(b + j), z = __ldg(c + j);
    o[j] = make_float4(__fadd_rn(__fadd_rn(x.x, y.x), z.x), __fadd_rn(__fadd_rn(x.y, y.y), z.y),
                       __fadd_rn(__fadd_rn(x.z, y.z), z.z), __fadd_rn(__fadd_rn(x.w, y.w), z.w));
  }
}

constexpr int kPoolThreads = 256;

__global__ void pool_kernel(const __half* __restrict__ x, const int32_t* __restrict__ cu_seqlens,
                            int n, bool mean, bool normalize, float* __restrict__ out) {
  const int b = blockIdx.x;
  const int begin = cu_seqlens[b], len = cu_seqlens[b + 1] - begin;
  float* o = out + int64_t(b) * n;
  double ss = 0;
  for (int j = threadIdx.x; j < n; j += kPoolThreads) {
    float v;
    if (mean) {
      double acc = 0;
      for (int t = 0; t < len; ++t) acc += double(__half2float(x[int64_t(begin + t) * n + j]));
      v = float(acc / len);
    } else {
      v = __half2float(x[int64_t(begin) * n + j]);
    }
    o[j] = v;
    ss += double(v) * v;
  }
  if (!normalize) return;
  __shared__ double part[kPoolThreads / 32];
  for (int off = 16; off > 0; off /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = ss;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < kPoolThreads / 32; ++w) total += part[w];
  const float inv = float(1.0 / fmax(sqrt(total), 1e-12));
  for (int j = threadIdx.x; j < n; j += kPoolThreads) o[j] *= inv;
}

__global__ void half_to_float_kernel(const __half* __restrict__ x, float* __restrict__ y,
                                     int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = __half2float(x[i]);
}

}  // namespace

void embed_sum_cuda(const int32_t* ids, const int32_t* positions, const int32_t* type_ids,
                    const float* word, const float* pos, const float* type, float* out,
                    int64_t tokens, int64_t n, cudaStream_t stream) {
  if (n % 4 != 0) fail("embed_sum_cuda: width ", n, " must be a multiple of 4");
  if (tokens == 0) return;
  embed_sum_kernel<<<unsigned(tokens), 128, 0, stream>>>(ids, positions, type_ids, word, pos, type,
                                                         out, int(n));
  LOWBIT_CUDA_LAUNCHED("embed_sum_kernel");
}

// out[b, j] = act(Σ_k in(b, k) · w[j, k] + bias[j]), one warp per (j, b). `in` reads row
// cu_seqlens[b] of half x (the pooler) or row b of float y (the classifier).
template <bool FIRST>
__global__ void head_dense_kernel(const void* __restrict__ in, const int32_t* __restrict__ cu,
                                  int batch, int n_in, int n_out, const float* __restrict__ w,
                                  const float* __restrict__ bias, float* __restrict__ out,
                                  HeadAct act) {
  const int lane = int(threadIdx.x % 32);
  const int64_t item = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (item >= int64_t(batch) * n_out) return;
  const int j = int(item % n_out), b = int(item / n_out);
  const float* wr = w + int64_t(j) * n_in;
  float s = 0.0f;
  if constexpr (FIRST) {
    const __half* x = static_cast<const __half*>(in) + int64_t(cu[b]) * n_in;
    for (int k = lane; k < n_in; k += 32) s = fmaf(__half2float(x[k]), wr[k], s);
  } else {
    const float* x = static_cast<const float*>(in) + int64_t(b) * n_in;
    for (int k = lane; k < n_in; k += 32) s = fmaf(x[k], wr[k], s);
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
  if (lane == 0) {
    const float v = s + bias[j];
    float r = v;
    switch (act) {
      case HeadAct::Tanh:
        r = tanhf(v);
        break;
      case HeadAct::Relu:
        r = v > 0.0f ? v : 0.0f;
        break;
      case HeadAct::GeluErf:
        r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        break;
      case HeadAct::None:
        break;
    }
    out[int64_t(b) * n_out + j] = r;
  }
}

void classify_head_cuda(const void* x_half, const int32_t* cu_seqlens, int64_t batch, int64_t n,
                        const float* pool_w, const float* pool_b, const float* cls_w,
                        const float* cls_b, int64_t labels, float* pooled, float* logits,
                        HeadAct act, cudaStream_t stream) {
  if (batch <= 0) return;
  constexpr int kThreads = 256;
  auto grid = [&](int64_t items) { return unsigned((items + kThreads / 32 - 1) / (kThreads / 32)); };
  head_dense_kernel<true><<<grid(batch * n), kThreads, 0, stream>>>(
      x_half, cu_seqlens, int(batch), int(n), int(n), pool_w, pool_b, pooled, act);
  LOWBIT_CUDA_LAUNCHED("head_dense_kernel (pooler)");
  head_dense_kernel<false><<<grid(batch * labels), kThreads, 0, stream>>>(
      pooled, nullptr, int(batch), int(n), int(labels), cls_w, cls_b, logits, HeadAct::None);
  LOWBIT_CUDA_LAUNCHED("head_dense_kernel (classifier)");
}

void pool_cuda(const void* x_half, const int32_t* cu_seqlens, int64_t batch, int64_t n, bool mean,
               bool normalize, float* out, cudaStream_t stream) {
  if (batch == 0) return;
  pool_kernel<<<unsigned(batch), kPoolThreads, 0, stream>>>(
      static_cast<const __half*>(x_half), cu_seqlens, int(n), mean, normalize, out);
  LOWBIT_CUDA_LAUNCHED("pool_kernel");
}

void half_to_float_cuda(const void* x_half, float* y, int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  const int64_t blocks = std::min<int64_t>((count + 255) / 256, 4096);
  half_to_float_kernel<<<unsigned(blocks), 256, 0, stream>>>(static_cast<const __half*>(x_half), y,
                                                             count);
  LOWBIT_CUDA_LAUNCHED("half_to_float_kernel");
}

}  // namespace lowbit::cuda
