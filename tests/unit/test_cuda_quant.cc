// GPU row quantization (src/backends/cuda/quant/quantize_rows.h) and the fused LayerNorm +
// quantize producer (src/backends/cuda/encoder/layernorm_quantize.h) against the CPU reference
// lowbit::quantize_rows, bit for bit: codes, scales and zero points, for int2..int8 and
// uint2..uint8 (8-bit and 4-bit packed layouts), FP8 E4M3, groups, clip, float32 and float16 input,
// and rows that stress the contract (all zero, constant, tiny ranges with subnormal scales, huge
// values, exact ties); non-finite input and range overflow reported with the row and column, as the
// CPU does. Label gpu.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/encoder/layernorm_quantize.h"
#include "backends/cuda/quant/quantize_rows.h"
#include "core/error.h"
#include "quant/packing.h"
#include "quant/scheme.h"

namespace lowbit {
namespace {

template <typename T>
T* dev_copy(const std::vector<T>& v) {
  T* d = nullptr;
  LOWBIT_CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(v.size(), 1) * sizeof(T)));
  LOWBIT_CUDA_CHECK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <typename T>
std::vector<T> host_copy(const T* d, size_t n) {
  std::vector<T> v(n);
  LOWBIT_CUDA_CHECK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Mismatches between the GPU's quantized copy (device codes / scales / zeros) and
// lowbit::quantize_rows of y (the kernel's own float values), reported once.
size_t count_quant_mismatches(const QuantScheme& s, const std::vector<float>& y, int64_t rows,
                              int64_t n, const uint8_t* dcodes, const float* dscales,
                              const float* dzeros, const std::string& what) {
  const int64_t rb = packed_row_bytes(s.layout(), n);
  std::vector<uint8_t> codes(size_t(rows * rb));
  std::vector<float> scales(static_cast<size_t>(rows)), zeros(static_cast<size_t>(rows));
  quantize_rows(s, y.data(), rows, n, codes.data(), scales.data(), zeros.data(), "y");
  const auto gc = host_copy(dcodes, codes.size());
  const auto gs = host_copy(dscales, scales.size());
  const auto gz = host_copy(dzeros, zeros.size());
  size_t bad = 0;
  for (size_t i = 0; i < codes.size(); ++i)
    if (gc[i] != codes[i] && bad++ == 0)
      ADD_FAILURE() << what << ": code byte " << i << " got " << int(gc[i]) << ", want "
                    << int(codes[i]);
  for (size_t i = 0; i < scales.size(); ++i)
    if ((bits_of(gs[i]) != bits_of(scales[i]) ||
         (!s.symmetric && bits_of(gz[i]) != bits_of(zeros[i]))) &&
        bad++ == 0)
      ADD_FAILURE() << what << ": scale/zero of row " << i << " differ";
  return bad;
}

// Rows of several kinds, `cols` wide.
std::vector<float> make_rows(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::vector<float> x(size_t(rows * cols));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x.data() + r * cols;
    const int kind = int(r % 8);
    for (int64_t c = 0; c < cols; ++c) {
      float v = nd(rng);
      switch (kind) {
        case 0:
          break;  // normal
        case 1:
          v = std::fabs(v) * 3.0f + 0.5f;
          break;  // positive (asymmetric range)
        case 2:
          v = 0.0f;
          break;  // all zero
        case 3:
          v = 1.25f;
          break;  // constant
        case 4:
          v *= 0x1p-140f;
          break;  // subnormal scales
        case 5:
          v *= 1e30f;
          break;  // huge
        case 6:
          v = float(int(v * 4.0f)) * 0.5f;
          break;  // many exact ties
        default:
          v = (c % 17 == 0) ? v * 50.0f : v;  // outliers (LayerNorm-like)
      }
      row[c] = v;
    }
  }
  return x;
}

class CudaQuant : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::devices().empty()) GTEST_SKIP() << "no CUDA device";
  }
};

// Per row, the max |x| of each `block` columns as float bits (what a GEMM's row_amax holds).
std::vector<uint32_t> block_amax(const std::vector<__half>& x, int64_t rows, int64_t cols,
                                 int64_t block) {
  const int64_t blocks = (cols + block - 1) / block;
  std::vector<uint32_t> a(size_t(rows * blocks), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t& m = a[size_t(r * blocks + c / block)];
      m = std::max(m, bits_of(std::fabs(__half2float(x[size_t(r * cols + c)]))));
    }
  return a;
}

// amax_block > 0: the quantizer is given the rows' block maxima (QuantizeRowsParams::row_amax).
void expect_matches_cpu(const QuantScheme& s, const std::vector<float>& x, int64_t rows,
                        int64_t cols, bool half_input, int64_t amax_block = 0) {
  std::vector<float> xin = x;
  std::vector<__half> xh;
  if (half_input) {
    xh.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      xh[i] = __float2half_rn(std::fmax(std::fmin(x[i], 60000.0f), -60000.0f));  // finite in half
      xin[i] = __half2float(xh[i]);  // the CPU quantizes what the GPU reads
    }
  }
  const int64_t groups = s.groups_per_row(cols, "x");
  const int64_t rb = packed_row_bytes(s.layout(), cols);
  std::vector<uint8_t> codes(size_t(rows * rb));
  std::vector<float> scales(size_t(rows * groups)), zeros(size_t(rows * groups));
  quantize_rows(s, xin.data(), rows, cols, codes.data(), scales.data(), zeros.data(), "x");

  void* dx = half_input ? static_cast<void*>(dev_copy(xh)) : static_cast<void*>(dev_copy(x));
  uint8_t* dcodes = dev_copy(std::vector<uint8_t>(codes.size(), 0xA5));
  float* dscales = dev_copy(std::vector<float>(scales.size(), -7.0f));
  float* dzeros = dev_copy(std::vector<float>(zeros.size(), -7.0f));
  unsigned long long* dstatus = dev_copy(std::vector<unsigned long long>(1, 0));
  cuda::QuantizeRowsParams p;
  p.scheme = s;
  p.in_type = half_input ? cuda::RowInput::F16 : cuda::RowInput::F32;
  p.x = dx;
  p.rows = rows;
  p.cols = cols;
  p.codes = dcodes;
  p.scales = dscales;
  p.zeros = s.symmetric ? nullptr : dzeros;
  p.status = dstatus;
  uint32_t* damax = nullptr;
  if (amax_block > 0) {
    const std::vector<uint32_t> a = block_amax(xh, rows, cols, amax_block);
    damax = dev_copy(a);
    p.row_amax = damax;
    p.amax_blocks = (cols + amax_block - 1) / amax_block;
  }
  cuda::quantize_rows_cuda(p);
  LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
  const std::string what = s.str() + (half_input ? " f16" : " f32") +
                           (amax_block ? " row_amax/" + std::to_string(amax_block) : "");
  EXPECT_EQ(host_copy(dstatus, 1)[0], ~0ull) << what;
  const auto gc = host_copy(dcodes, codes.size());
  const auto gs = host_copy(dscales, scales.size());
  const auto gz = host_copy(dzeros, zeros.size());
  size_t bad = 0;
  for (size_t i = 0; i < codes.size(); ++i)
    if (gc[i] != codes[i] && bad++ == 0)
      ADD_FAILURE() << what << ": code byte " << i << " (row " << int64_t(i) / rb << ") got "
                    << int(gc[i]) << ", want " << int(codes[i]);
  for (size_t i = 0; i < scales.size(); ++i) {
    if (bits_of(gs[i]) != bits_of(scales[i]) && bad++ == 0)
      ADD_FAILURE() << what << ": scale " << i << " got " << gs[i] << ", want " << scales[i];
    if (!s.symmetric && bits_of(gz[i]) != bits_of(zeros[i]) && bad++ == 0)
      ADD_FAILURE() << what << ": zero " << i << " got " << gz[i] << ", want " << zeros[i];
  }
  EXPECT_EQ(bad, 0u) << what;
  cudaFree(damax);
  cudaFree(dx);
  cudaFree(dcodes);
  cudaFree(dscales);
  cudaFree(dzeros);
  cudaFree(dstatus);
}

// 67 rows take the CTA-per-row kernel, 1100 the warp-per-row kernels: F16 rows the 16-byte one
// (768 and 3072 wide), F32 rows the pair-wise ones (768 held in registers, 3072 in two passes).
TEST_F(CudaQuant, BitExactWithCpuEveryScheme) {
  std::mt19937 rng(42);
  for (const auto& [rows, cols] :
       {std::pair<int64_t, int64_t>{67, 768}, {1100, 768}, {1030, 3072}}) {
    const std::vector<float> x = make_rows(rows, cols, rng);
    for (const char* name :
         {"int8", "uint8", "int4", "uint4", "int2", "uint3", "int6", "uint7", "fp8", "int4_g128",
          "uint8_g64", "fp8_g256", "int8_c3.5", "uint4_c2", "fp8_c100"})
      for (const bool half : {false, true})
        expect_matches_cpu(QuantScheme::parse(name), x, rows, cols, half);
  }
}

// With the producer's row maxima (a GEMM's row_amax): one streaming pass, the same codes and
// scales as the reduction, for every symmetric scheme, blocks of 64 columns and others.
TEST_F(CudaQuant, RowAmaxStreamingPathBitExact) {
  std::mt19937 rng(43);
  for (const auto& [rows, cols] :
       {std::pair<int64_t, int64_t>{67, 768}, {1100, 4096}, {1030, 1032}})
    for (const int64_t block : {64, 8, 1032}) {
      if (block > cols) continue;
      const std::vector<float> x = make_rows(rows, cols, rng);
      for (const char* name : {"int8", "int4", "int6", "fp8", "int8_c3.5", "fp8_c100"})
        expect_matches_cpu(QuantScheme::parse(name), x, rows, cols, true, block);
    }
  // Non-finite values: the same status word as the reduction kernels.
  const int64_t rows = 40, cols = 4096;
  std::vector<__half> x(size_t(rows * cols), __float2half_rn(0.25f));
  x[size_t(33 * cols + 2000)] = __float2half_rn(INFINITY);
  x[size_t(33 * cols + 1999)] = __float2half_rn(NAN);
  const std::vector<uint32_t> a = block_amax(x, rows, cols, 64);
  __half* dx = dev_copy(x);
  uint32_t* damax = dev_copy(a);
  uint8_t* dcodes = dev_copy(std::vector<uint8_t>(size_t(rows * cols)));
  float* dscales = dev_copy(std::vector<float>(size_t(rows)));
  unsigned long long* dstatus = dev_copy(std::vector<unsigned long long>(1, 0));
  cuda::QuantizeRowsParams p;
  p.scheme = QuantScheme::parse("int8");
  p.in_type = cuda::RowInput::F16;
  p.x = dx;
  p.rows = rows;
  p.cols = cols;
  p.codes = dcodes;
  p.scales = dscales;
  p.status = dstatus;
  p.row_amax = damax;
  p.amax_blocks = cols / 64;
  cuda::quantize_rows_cuda(p);
  LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
  try {
    cuda::check_quantize_status(host_copy(dstatus, 1)[0], p.scheme, "q4 input");
    ADD_FAILURE() << "no error for NaN / Inf";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 33 has a non-finite value at column 1999 "),
              std::string::npos)
        << e.what();
  }
  for (void* d : {static_cast<void*>(dx), static_cast<void*>(damax), static_cast<void*>(dcodes),
                  static_cast<void*>(dscales), static_cast<void*>(dstatus)})
    cudaFree(d);
  // Asymmetric schemes need the signed range: refused by name.
  p.scheme = QuantScheme::parse("uint8");
  p.zeros = dscales;
  EXPECT_NE(cuda::can_quantize_rows(p).find("row_amax"), std::string::npos);
}

TEST_F(CudaQuant, BitExactOddSizes) {
  std::mt19937 rng(7);
  for (const int64_t cols : {2, 30, 130, 4098}) {
    const std::vector<float> x = make_rows(9, cols, rng);
    for (const char* name : {"int8", "uint4", "fp8"})
      expect_matches_cpu(QuantScheme::parse(name), x, 9, cols, false);
  }
}

TEST_F(CudaQuant, NonFiniteAndOverflowNameTheRow) {
  const int64_t rows = 12, cols = 256;
  std::vector<float> x(size_t(rows * cols), 0.5f);
  x[size_t(9 * cols + 3)] = std::numeric_limits<float>::infinity();
  x[size_t(5 * cols + 17)] = std::nanf("");
  x[size_t(5 * cols + 200)] = std::numeric_limits<float>::infinity();
  float* dx = dev_copy(x);
  std::vector<uint8_t> zeros8(size_t(rows * cols));
  uint8_t* dcodes = dev_copy(zeros8);
  float* dscales = dev_copy(std::vector<float>(size_t(rows)));
  float* dzeros = dev_copy(std::vector<float>(size_t(rows)));
  unsigned long long* dstatus = dev_copy(std::vector<unsigned long long>(1, 0));
  auto run = [&](const std::vector<float>& in, const QuantScheme& s) {
    LOWBIT_CUDA_CHECK(cudaMemcpy(dx, in.data(), in.size() * 4, cudaMemcpyHostToDevice));
    cuda::QuantizeRowsParams p;
    p.scheme = s;
    p.x = dx;
    p.rows = rows;
    p.cols = cols;
    p.codes = dcodes;
    p.scales = dscales;
    p.zeros = dzeros;
    p.status = dstatus;
    cuda::quantize_rows_cuda(p);
    LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
    return host_copy(dstatus, 1)[0];
  };
  const QuantScheme u8 = QuantScheme::parse("uint8");
  try {
    cuda::check_quantize_status(run(x, u8), u8, "layer 3 q1 input");
    ADD_FAILURE() << "no error for NaN / Inf";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("layer 3 q1 input: row 5 has a non-finite value at column 17"),
              std::string::npos)
        << m;
  }
  // max - min overflows: +3e38 and -3e38 in one row.
  std::vector<float> y(size_t(rows * cols), 1.0f);
  y[size_t(4 * cols + 1)] = 3e38f;
  y[size_t(4 * cols + 2)] = -3e38f;
  try {
    cuda::check_quantize_status(run(y, u8), u8, "x");
    ADD_FAILURE() << "no error for a range overflow";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("overflows float32"), std::string::npos) << e.what();
  }
  // The same row is fine symmetric (max |x| does not overflow), and with a clip.
  cuda::check_quantize_status(run(y, QuantScheme::parse("int8")), QuantScheme::parse("int8"), "x");
  cuda::check_quantize_status(run(y, QuantScheme::parse("uint8_c10")),
                              QuantScheme::parse("uint8_c10"), "x");
  cudaFree(dx);
  cudaFree(dcodes);
  cudaFree(dscales);
  cudaFree(dzeros);
  cudaFree(dstatus);
}

// The same reports from the 16-byte warp kernel (F16 rows, >= 1024 of them): the first failing
// row, and in it the first non-finite column, although a later column sits in an earlier lane's
// first word and the lanes report in parallel.
TEST_F(CudaQuant, NonFiniteNamesTheFirstColumnOnTheVectorPath) {
  const int64_t rows = 1030;
  for (const int64_t cols : {768, 3072}) {
    std::vector<__half> x(size_t(rows * cols), __float2half_rn(0.25f));
    auto at = [&](int64_t r, int64_t c) -> __half& { return x[size_t(r * cols + c)]; };
    at(700, 300) = __float2half_rn(-INFINITY);  // lane 5, first word
    at(700, 9) = __float2half_rn(NAN);          // lane 1, first word: the one to report
    at(700, cols - 1) = __float2half_rn(INFINITY);
    at(1020, 2) = __float2half_rn(INFINITY);  // a later row
    __half* dx = dev_copy(x);
    uint8_t* dcodes = dev_copy(std::vector<uint8_t>(size_t(rows * cols)));
    float* dscales = dev_copy(std::vector<float>(size_t(rows)));
    float* dzeros = dev_copy(std::vector<float>(size_t(rows)));
    unsigned long long* dstatus = dev_copy(std::vector<unsigned long long>(1, 0));
    for (const char* name : {"int8", "uint4", "fp8"}) {
      const QuantScheme s = QuantScheme::parse(name);
      cuda::QuantizeRowsParams p;
      p.scheme = s;
      p.in_type = cuda::RowInput::F16;
      p.x = dx;
      p.rows = rows;
      p.cols = cols;
      p.codes = dcodes;
      p.scales = dscales;
      p.zeros = dzeros;
      p.status = dstatus;
      cuda::quantize_rows_cuda(p);
      LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
      try {
        cuda::check_quantize_status(host_copy(dstatus, 1)[0], s, "q4 input");
        ADD_FAILURE() << name << ": no error for NaN / Inf";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("q4 input: row 700 has a non-finite value at column 9 "),
                  std::string::npos)
            << name << " cols=" << cols << ": " << e.what();
      }
    }
    for (void* d : {static_cast<void*>(dx), static_cast<void*>(dcodes),
                    static_cast<void*>(dscales), static_cast<void*>(dzeros),
                    static_cast<void*>(dstatus)})
      cudaFree(d);
  }
}

// LayerNorm(x + residual) with the quantized copy fused in: the float output within a budget of
// cpu::add_layer_norm_f32 (the same double sums; the CPU may contract its last multiply-add), the
// codes / scales / zeros bit-exact with lowbit::quantize_rows of the kernel's own float output, and
// the F16 output equal to that float rounded to half.
TEST_F(CudaQuant, LayerNormQuantizeFused) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  // 37 rows: the CTA-per-row kernel; 1030: warp per row.
  for (const int64_t rows : {37, 1030})
    for (const int64_t n : {384, 768, 1024, 4096})
      for (const char* scheme : {"uint8", "int8", "uint4", "fp8", "int8_c4"}) {
        std::vector<__half> xh(size_t(rows * n)), rh(xh.size());
        std::vector<float> xf(xh.size()), rf(xh.size()), gamma(static_cast<size_t>(n)),
            beta(static_cast<size_t>(n));
        for (size_t i = 0; i < xh.size(); ++i) {
          xh[i] = __float2half_rn(nd(rng) * (i % 97 == 0 ? 20.0f : 1.0f) + 0.3f);
          rh[i] = __float2half_rn(nd(rng));
          xf[i] = __half2float(xh[i]);
          rf[i] = __half2float(rh[i]);
        }
        for (int64_t j = 0; j < n; ++j) {
          gamma[size_t(j)] = 1.0f + 0.1f * nd(rng);
          beta[size_t(j)] = 0.1f * nd(rng);
        }
        std::vector<float> ref(xf.size());
        cpu::add_layer_norm_f32(xf.data(), rf.data(), gamma.data(), beta.data(), ref.data(), rows,
                                n, 1e-12);
        const QuantScheme s = QuantScheme::parse(scheme);
        const int64_t rb = packed_row_bytes(s.layout(), n);
        __half* dx = dev_copy(xh);
        __half* dr = dev_copy(rh);
        float* dg = dev_copy(gamma);
        float* db = dev_copy(beta);
        float* dout = dev_copy(std::vector<float>(xf.size(), -9.0f));
        __half* douth = dev_copy(std::vector<__half>(xf.size(), __float2half_rn(-9.0f)));
        uint8_t* dcodes = dev_copy(std::vector<uint8_t>(size_t(rows * rb), 0xA5));
        float* dscales = dev_copy(std::vector<float>(size_t(rows), -7.0f));
        float* dzeros = dev_copy(std::vector<float>(size_t(rows), -7.0f));
        unsigned long long* dstatus = dev_copy(std::vector<unsigned long long>(1, 0));
        cuda::LayerNormQuantParams p;
        p.in_type = cuda::RowInput::F16;
        p.x = dx;
        p.residual = dr;
        p.rows = rows;
        p.n = n;
        p.gamma = dg;
        p.beta = db;
        p.eps = 1e-12f;
        p.out_type = cuda::RowInput::F32;
        p.out = dout;
        p.scheme = s;
        p.codes = dcodes;
        p.scales = dscales;
        p.zeros = s.symmetric ? nullptr : dzeros;
        p.status = dstatus;
        cuda::layernorm_quantize_cuda(p);
        p.out_type = cuda::RowInput::F16;
        p.out = douth;
        p.codes = nullptr;  // LayerNorm alone, F16 out
        cuda::layernorm_quantize_cuda(p);
        LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
        const std::string what = "n=" + std::to_string(n) + " " + scheme;
        EXPECT_EQ(host_copy(dstatus, 1)[0], ~0ull) << what;
        const auto y = host_copy(dout, xf.size());
        const auto yh = host_copy(douth, xf.size());
        size_t bad = 0;
        for (size_t i = 0; i < y.size(); ++i) {
          const double tol =
              4e-7 * (std::fabs(double(ref[i])) + std::fabs(double(beta[i % n]))) + 1e-7;
          if (!(std::fabs(double(y[i]) - ref[i]) <= tol) && bad++ == 0)
            ADD_FAILURE() << what << ": y[" << i << "] = " << y[i] << ", CPU " << ref[i];
          if (bits_of(__half2float(yh[i])) != bits_of(__half2float(__float2half_rn(y[i]))) &&
              bad++ == 0)
            ADD_FAILURE() << what << ": f16 out[" << i << "] is not the float output rounded";
        }
        bad += count_quant_mismatches(s, y, rows, n, dcodes, dscales, dzeros, what);
        EXPECT_EQ(bad, 0u) << what;
        for (void* d : {static_cast<void*>(dx), static_cast<void*>(dr), static_cast<void*>(dg),
                        static_cast<void*>(db), static_cast<void*>(dout), static_cast<void*>(douth),
                        static_cast<void*>(dcodes), static_cast<void*>(dscales),
                        static_cast<void*>(dzeros), static_cast<void*>(dstatus)})
          cudaFree(d);
        if (HasFailure()) return;
      }
}

// The bias + GELU pre-op fused into the quantizer: the values within a budget of
// cpu::bias_act_f32 (CUDA's erff is not the CPU's erf: 1e-6 of the pre-activation, as in the GEMM
// tests), the codes bit-exact with
// lowbit::quantize_rows of the kernel's own values (written to out_f32).
TEST_F(CudaQuant, BiasGeluQuantizeFused) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.0f, 1.5f);
  for (const int64_t rows : {29, 1030}) {
    const int64_t n = 3072;
    std::vector<__half> xh(size_t(rows * n));
    std::vector<float> xf(xh.size()), bias(static_cast<size_t>(n));
    for (size_t i = 0; i < xh.size(); ++i) {
      xh[i] = __float2half_rn(nd(rng));
      xf[i] = __half2float(xh[i]);
    }
    for (auto& b : bias) b = 0.2f * nd(rng);
    std::vector<float> ref = xf;
    cpu::bias_act_f32(ref.data(), bias.data(), rows, n, cpu::Epilogue::GeluErf);
    for (const char* scheme : {"uint8", "int8", "uint4", "fp8"}) {
      const QuantScheme s = QuantScheme::parse(scheme);
      const int64_t rb = packed_row_bytes(s.layout(), n);
      __half* dx = dev_copy(xh);
      float* dbias = dev_copy(bias);
      float* dout = dev_copy(std::vector<float>(xf.size(), -9.0f));
      uint8_t* dcodes = dev_copy(std::vector<uint8_t>(size_t(rows * rb), 0xA5));
      float* dscales = dev_copy(std::vector<float>(static_cast<size_t>(rows), -7.0f));
      float* dzeros = dev_copy(std::vector<float>(static_cast<size_t>(rows), -7.0f));
      unsigned long long* dstatus = dev_copy(std::vector<unsigned long long>(1, 0));
      cuda::QuantizeRowsParams p;
      p.scheme = s;
      p.in_type = cuda::RowInput::F16;
      p.x = dx;
      p.rows = rows;
      p.cols = n;
      p.codes = dcodes;
      p.scales = dscales;
      p.zeros = s.symmetric ? nullptr : dzeros;
      p.status = dstatus;
      p.bias = dbias;
      p.gelu = true;
      p.out_f32 = dout;
      cuda::quantize_rows_cuda(p);
      LOWBIT_CUDA_CHECK(cudaDeviceSynchronize());
      EXPECT_EQ(host_copy(dstatus, 1)[0], ~0ull) << scheme;
      const auto y = host_copy(dout, xf.size());
      size_t bad = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        // erf's absolute error (a few ulp of 1) times 0.5·|v|: relative to the pre-activation v,
        // since 1 + erf(v/√2) cancels in the negative tail.
        const double pre = double(xf[i]) + bias[i % size_t(n)];
        const double tol = 1e-6 * std::fabs(pre) + 1e-7;
        if (!(std::fabs(double(y[i]) - ref[i]) <= tol) && bad++ == 0)
          ADD_FAILURE() << scheme << ": gelu[" << i << "] = " << y[i] << ", CPU " << ref[i]
                        << " (budget " << tol << ")";
      }
      bad += count_quant_mismatches(s, y, rows, n, dcodes, dscales, dzeros, scheme);
      EXPECT_EQ(bad, 0u) << scheme;
      for (void* d : {static_cast<void*>(dx), static_cast<void*>(dbias), static_cast<void*>(dout),
                      static_cast<void*>(dcodes), static_cast<void*>(dscales),
                      static_cast<void*>(dzeros), static_cast<void*>(dstatus)})
        cudaFree(d);
    }
  }
}

TEST(CudaQuantRejects, BadParameters) {
  alignas(16) static unsigned char fake[64];
  cuda::QuantizeRowsParams p;
  p.scheme = QuantScheme::parse("int4");
  p.x = fake;
  p.codes = fake;
  p.scales = reinterpret_cast<float*>(fake);
  p.status = reinterpret_cast<unsigned long long*>(fake);
  p.rows = 4;
  p.cols = 7;
  EXPECT_NE(cuda::can_quantize_rows(p).find("even group length"), std::string::npos);
  p.cols = 8;
  EXPECT_EQ(cuda::can_quantize_rows(p), "");
  p.scheme = QuantScheme::parse("uint8");
  EXPECT_NE(cuda::can_quantize_rows(p).find("zeros when asymmetric"), std::string::npos);
  p.scheme = QuantScheme::parse("int8_g3");
  EXPECT_NE(cuda::can_quantize_rows(p).find("does not divide"), std::string::npos);

  cuda::LayerNormQuantParams l;
  l.x = fake;
  l.gamma = l.beta = reinterpret_cast<float*>(fake);
  l.out = fake;
  l.rows = 2;
  l.n = 4098;
  EXPECT_NE(cuda::can_layernorm_quantize(l).find("at most 4096"), std::string::npos);
  l.n = 767;
  EXPECT_NE(cuda::can_layernorm_quantize(l).find("must be even"), std::string::npos);
  l.n = 768;
  EXPECT_EQ(cuda::can_layernorm_quantize(l), "");
  l.codes = fake;
  l.scales = reinterpret_cast<float*>(fake);
  l.status = reinterpret_cast<unsigned long long*>(fake);
  l.scheme = QuantScheme::parse("int8_g128");
  EXPECT_NE(cuda::can_layernorm_quantize(l).find("token-wise"), std::string::npos);
}

}  // namespace
}  // namespace lowbit
