// The W8A8 kernels of the mma.sync integer GEMM (one family per file: they compile in parallel).
#include "backends/cuda/gemm/mma_int_gemm_kernel.cuh"

namespace lowbit::cuda::gemm {
LOWBIT_MMA_GEMM_INSTANTIATE(Family::W8A8)
}  // namespace lowbit::cuda::gemm
