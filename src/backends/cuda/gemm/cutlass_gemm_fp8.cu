// The CUTLASS FP8 kernels (e4m3 activations x e4m3 weights, float accumulators; sm_90a only).
#include "backends/cuda/gemm/cutlass_gemm_kernel.cuh"

namespace lowbit::cuda::cutlass90 {

namespace {
template <Config C, bool R>
using K = Kernel<Cfg<cutlass::float_e4m3_t, cutlass::float_e4m3_t, float, 128, C == Config::PingPong128x128 ? 128 : 256,
                     C == Config::PingPong128x128 ? 1 : 2, C == Config::PingPong128x128, R>>;

template <class F>
auto dispatch(const IntGemmParams& p, Config c, F&& f) {
  const bool r = p.residual != nullptr;
  if (c == Config::PingPong128x128)
    return r ? f(K<Config::PingPong128x128, true>{}) : f(K<Config::PingPong128x128, false>{});
  return r ? f(K<Config::Coop128x256, true>{}) : f(K<Config::Coop128x256, false>{});
}
}  // namespace

size_t fp8_workspace(const IntGemmParams& p, Config c, int sms) {
  return dispatch(p, c, [&](auto k) { return decltype(k)::workspace(p, sms); });
}

void fp8_run(const IntGemmParams& p, Config c, int sms) {
  dispatch(p, c, [&](auto k) { decltype(k)::run(p, sms); });
}

}  // namespace lowbit::cuda::cutlass90
