// The CUTLASS W8A8 kernels (int8 activations, symmetric, x int8 weights; sm_90a only).
#include "backends/cuda/gemm/cutlass_gemm_kernel.cuh"

namespace lowbit::cuda::cutlass90 {

namespace {
template <Config C, bool R>
using K = Kernel<Cfg<int8_t, int8_t, int32_t, 128, C == Config::PingPong128x128 ? 128 : 256,
                     C == Config::PingPong128x128 ? 1 : 2, C == Config::PingPong128x128, R>>;

template <class F>
auto dispatch(const IntGemmParams& p, Config c, F&& f) {
  const bool r = p.residual != nullptr;
  if (c == Config::PingPong128x128)
    return r ? f(K<Config::PingPong128x128, true>{}) : f(K<Config::PingPong128x128, false>{});
  return r ? f(K<Config::Coop128x256, true>{}) : f(K<Config::Coop128x256, false>{});
}
}  // namespace

size_t w8a8_workspace(const IntGemmParams& p, Config c, int sms) {
  return dispatch(p, c, [&](auto k) { return decltype(k)::workspace(p, sms); });
}

void w8a8_run(const IntGemmParams& p, Config c, int sms) {
  dispatch(p, c, [&](auto k) { decltype(k)::run(p, sms); });
}

}  // namespace lowbit::cuda::cutlass90
