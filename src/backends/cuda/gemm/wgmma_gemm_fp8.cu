// The FP8 kernels of the Hopper GEMM (one family per file: they compile in parallel; sm_90a only).
#include "backends/cuda/gemm/wgmma_gemm_kernel.cuh"

namespace lowbit::cuda::gemm::sm90 {
LOWBIT_WGMMA_GEMM_INSTANTIATE_FLOAT(Fam::FP8)
}  // namespace lowbit::cuda::gemm::sm90
