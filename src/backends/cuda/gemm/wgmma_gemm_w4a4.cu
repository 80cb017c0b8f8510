// The W4A4 kernels of the Hopper GEMM (one family per file: they compile in parallel; sm_90a only).
#include "backends/cuda/gemm/wgmma_gemm_kernel.cuh"

namespace lowbit::cuda::gemm::sm90 {
// Token tiles of 64 and 128 only: at 256 the widening buffers leave 2 pipeline stages and the
// kernel spills registers.
LOWBIT_WGMMA_GEMM_INSTANTIATE_64_128(Fam::W4A4, false)
LOWBIT_WGMMA_GEMM_INSTANTIATE_64_128(Fam::W4A4, true)
}  // namespace lowbit::cuda::gemm::sm90
