#include "ops/op_cuda.h"

#include <cuda_runtime.h>

#include "backends/cuda/attention/flash_attention.h"
#include "backends/cuda/encoder/encoder_kernels.h"
#include "backends/cuda/encoder/layernorm_quantize.h"
#include "backends/cuda/gemm/mma_int_gemm.h"
#include "backends/cuda/quant/quantize_rows.h"

namespace lowbit::ops::cuda_impl {

namespace {
cudaStream_t stream_of(const Exec& ex) { return static_cast<cudaStream_t>(ex.stream); }
cuda::RowInput row_type(const Tensor& t) {
  return t.dtype() == DType::F32 ? cuda::RowInput::F32 : cuda::RowInput::F16;
}
// `shape` of `dtype` at the start of the pass's buffer `buf` (from the arena; grown when short).
Tensor shared(Tensor& buf, std::vector<int64_t> shape, DType dtype, Exec& ex) {
  const int64_t bytes = shape_numel(shape) * int64_t(dtype_size(dtype));
  if (!buf.defined() || int64_t(buf.nbytes()) < bytes) buf = ex.empty({bytes}, DType::U8);
  return Tensor::view(buf.data<void>(), std::move(shape), dtype, ex.device);
}

// Codes, scales (and zeros) for `rows` rows of `cols` in q.scheme: one set of buffers per pass,
// reused by every quantization point (the old pipeline's single codes / scales / zeros buffers:
// fresh memory per point measurably cost L2 traffic at small batches).
void take_rows(QuantRows& q, int64_t rows, int64_t cols, Exec& ex) {
  q.codes = shared(ex.quant_codes, {rows, packed_row_bytes_unchecked(q.scheme.layout(), cols)},
                   DType::U8, ex);
  q.scales = shared(ex.quant_scales, {rows}, DType::F32, ex);
  q.zeros = q.scheme.symmetric ? Tensor() : shared(ex.quant_zeros, {rows}, DType::F32, ex);
}
}  // namespace

void embed(const BatchInputs& b, const Tensor& word, const Tensor& pos, const Tensor& type,
           Tensor& out, Exec& ex) {
  // A model without token types adds nothing: the kernel reads a zero row (x + 0.0f is x).
  LOWBIT_CHECK(type.defined(), "embed on a GPU needs a token type table (Encoder::to uploads one)");
  cuda::embed_sum_cuda(b.ids.data<int32_t>(), b.positions.data<int32_t>(),
                       b.type_ids.data<int32_t>(), word.data<float>(), pos.data<float>(),
                       type.data<float>(), out.data<float>(), b.tokens, word.dim(1),
                       stream_of(ex));
}

void layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
                double eps, Tensor& out, QuantRows* q, const std::string& point, Exec& ex) {
  cuda::LayerNormQuantParams p;
  p.in_type = row_type(x);
  p.x = x.data<void>();
  p.residual = residual.defined() ? residual.data<void>() : nullptr;
  p.rows = x.dim(0);
  p.n = x.dim(1);
  p.gamma = gamma.data<float>();
  p.beta = beta.data<float>();
  p.eps = float(eps);
  p.out_type = cuda::RowInput::F16;
  p.out = out.data<void>();
  if (q) {
    take_rows(*q, p.rows, p.n, ex);
    p.scheme = q->scheme;
    p.codes = q->codes.data<uint8_t>();
    p.scales = q->scales.data<float>();
    p.zeros = q->zeros.defined() ? q->zeros.data<float>() : nullptr;
    p.status = ex.status_slot(point, q->scheme);
    p.status_preset = true;  // the Session resets every status word of a pass at once
  }
  p.stream = stream_of(ex);
  cuda::layernorm_quantize_cuda(p);
}

void quantize_rows(const Tensor& x, QuantRows& q, const std::string& point, Exec& ex,
                   const Tensor& row_amax) {
  take_rows(q, x.dim(0), x.dim(1), ex);
  cuda::QuantizeRowsParams p;
  p.scheme = q.scheme;
  p.in_type = row_type(x);
  p.x = x.data<void>();
  p.rows = x.dim(0);
  p.cols = x.dim(1);
  p.codes = q.codes.data<uint8_t>();
  p.scales = q.scales.data<float>();
  p.zeros = q.zeros.defined() ? q.zeros.data<float>() : nullptr;
  p.status = ex.status_slot(point, q.scheme);
  p.status_preset = true;
  p.stream = stream_of(ex);
  if (row_amax.defined()) {
    p.row_amax = reinterpret_cast<const uint32_t*>(row_amax.data<int32_t>());
    p.amax_blocks = row_amax.dim(1);
  }
  cuda::quantize_rows_cuda(p);
}

void gemm(const GemmInput& x, const DeviceGemm& w, Tensor& y, const LinearEpilogue& ep,
          Exec& ex) {
  cuda::IntGemmParams p;
  p.a_layout = w.a_layout;
  p.b_layout = w.b_layout;
  p.b_sm90 = w.b_sm90;
  p.b = w.w.data<void>();
  p.m = y.dim(0);
  p.n = y.dim(1);
  p.k = x.x.dim(1);
  p.group_size = w.group_size;
  if (w.quantized()) {
    LOWBIT_CHECK(x.qd.defined() && x.qd.scheme == w.act, "the GEMM input was not quantized by its ",
                 "producer in scheme ", w.act.str());
    p.a = x.qd.codes.data<void>();
    p.sx = x.qd.scales.data<float>();
    p.sw = w.sw.data<float>();
    if (!w.act.symmetric) {
      p.zx = x.qd.zeros.data<float>();
      p.zcorr = w.zcorr.data<float>();
    }
  } else {
    p.a = x.x.data<void>();
  }
  p.bias = w.bias.defined() ? w.bias.data<float>() : nullptr;
  if (ep.act != cpu::Epilogue::None && ep.act != cpu::Epilogue::GeluErf)
    fail("gemm: the GPU epilogue has GELU (erf) only");
  p.gelu = ep.act == cpu::Epilogue::GeluErf;
  p.residual = ep.residual.defined() ? ep.residual.data<void>() : nullptr;
  p.out_type = cuda::GemmOut::F16;
  p.out = y.data<void>();
  p.stream = stream_of(ex);
  if (ep.row_amax && ep.row_amax->defined()) {
    p.row_amax = reinterpret_cast<uint32_t*>(ep.row_amax->data<int32_t>());
    p.ld_amax = ep.row_amax->dim(1);
    if (!cuda::int_gemm_writes_row_amax(p)) {  // this shape's kernel cannot: the quantizer reduces
      p.row_amax = nullptr;
      p.ld_amax = 0;
      *ep.row_amax = Tensor();
    }
  }
  // Split-K scratch from the pass's arena (the same address on every replay of a graph), one
  // buffer for all the pass's GEMMs, grown when a GEMM needs more.
  const size_t ws = cuda::int_gemm_workspace_bytes(p);
  if (ws) {
    if (!ex.gemm_workspace.defined() || ex.gemm_workspace.nbytes() < ws)
      ex.gemm_workspace = ex.empty({int64_t(ws)}, DType::U8);
    p.workspace = ex.gemm_workspace.data<void>();
    p.workspace_bytes = ex.gemm_workspace.nbytes();
  }
  cuda::int_gemm(p);
}

void attention(const Tensor& qkv, const BatchInputs& b, int64_t heads, const Tensor& rel_bias,
               Tensor& out, Exec& ex) {
  cuda::FlashAttentionParams fa;
  fa.qkv = qkv.data<void>();
  fa.cu_seqlens = b.cu_seqlens.data<int32_t>();
  fa.batch = b.batch;
  fa.max_seqlen = b.max_len;
  fa.heads = heads;
  fa.head_dim = qkv.dim(1) / 3 / heads;
  fa.out = out.data<void>();
  if (rel_bias.defined()) {
    fa.rel_bias = rel_bias.data<float>();
    fa.rel_span = (rel_bias.dim(1) + 1) / 2;
  }
  fa.stream = stream_of(ex);
  cuda::flash_attention(fa);
}

void pool(const Tensor& x, const BatchInputs& b, bool mean, bool normalize, Tensor& out,
          Exec& ex) {
  cuda::pool_cuda(x.data<void>(), b.cu_seqlens.data<int32_t>(), b.batch, x.dim(1), mean,
                  normalize, out.data<float>(), stream_of(ex));
}

void classify_head(const Tensor& x, const BatchInputs& b, const Tensor& dense_w,
                   const Tensor& dense_b, Activation act, const Tensor& out_w, const Tensor& out_b,
                   Tensor& logits, Exec& ex) {
  Tensor pooled = ex.empty({b.batch, x.dim(1)}, DType::F32);
  const cuda::HeadAct a = act == Activation::Tanh   ? cuda::HeadAct::Tanh
                          : act == Activation::Relu ? cuda::HeadAct::Relu
                                                    : cuda::HeadAct::GeluErf;
  cuda::classify_head_cuda(x.data<void>(), b.cu_seqlens.data<int32_t>(), b.batch, x.dim(1),
                           dense_w.data<float>(), dense_b.data<float>(), out_w.data<float>(),
                           out_b.data<float>(), out_w.dim(0), pooled.data<float>(),
                           logits.data<float>(), a, stream_of(ex));
}

}  // namespace lowbit::ops::cuda_impl
