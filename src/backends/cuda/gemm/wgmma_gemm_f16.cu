// The F16 kernels of the Hopper GEMM: the encoder's FP16 mode (f16 operands, f32 accumulation,
// the same fused epilogue with unit scales). One family per file; sm_90a only.
#include "backends/cuda/gemm/wgmma_gemm_kernel.cuh"

namespace lowbit::cuda::gemm::sm90 {
LOWBIT_WGMMA_GEMM_INSTANTIATE_FLOAT(Fam::F16)
}  // namespace lowbit::cuda::gemm::sm90
