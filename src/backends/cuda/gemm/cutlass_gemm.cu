// Host side of the CUTLASS engine (cutlass_gemm.h): validation, the configuration, dispatch to
// cutlass_gemm_{w8a8,fp8}.cu (which exist only when LOWBIT_WITH_CUTLASS is defined).
#include "backends/cuda/gemm/cutlass_gemm.h"

#include <cuda_runtime.h>

#include <sstream>

#include "backends/cuda/check.h"
#include "backends/cuda/gemm/gemm_checks.h"
#include "core/error.h"

namespace lowbit::cuda::cutlass90 {

namespace {

bool aligned16(const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; }

bool is_fp8(const IntGemmParams& p) { return p.a_layout == PackedLayout::Fp8E4M3; }

}  // namespace

const char* config_name(Config c) {
  switch (c) {
    case Config::PingPong128x128:
      return "pingpong 128x128";
    case Config::Coop128x256:
      return "cooperative 128x256 cluster 2";
    case Config::Count:
      break;
  }
  return "?";
}

bool built() {
#ifdef LOWBIT_WITH_CUTLASS
  return true;
#else
  return false;
#endif
}

std::string can_implement(const IntGemmParams& p) {
  std::ostringstream e;
  if (!built()) return "the CUTLASS GEMMs are not built (no CUTLASS headers at configure time)";
  const bool w8a8 = p.a_layout == PackedLayout::Int8 && p.b_layout == PackedLayout::Int8;
  const bool fp8 = p.a_layout == PackedLayout::Fp8E4M3 && p.b_layout == PackedLayout::Fp8E4M3;
  if (!w8a8 && !fp8)
    return "the CUTLASS GEMMs take int8 x int8 (symmetric activations) or e4m3 x e4m3 only";
  const char* fam = w8a8 ? "W8A8 (cutlass)" : "FP8 (cutlass)";
  if (std::string s = gemm::check_operands(p, fam, 128); !s.empty()) return s;
  if (p.zx) {
    e << fam << ": asymmetric activations (zx) are not supported";
    return e.str();
  }
  if (p.group_size != 0 && p.group_size != p.k) {
    e << fam << ": weight groups along K are not supported";
    return e.str();
  }
  if (p.out_type != GemmOut::F16) {
    e << fam << ": F16 output only";
    return e.str();
  }
  if (p.row_amax) {
    e << fam << ": row_amax is written by the wgmma engine only";
    return e.str();
  }
  if (p.b_sm90 || p.split_k > 1) {
    e << fam << ": no b_sm90 weights or split-K";
    return e.str();
  }
  if (!p.sx || !p.sw) {
    e << fam << ": sx and sw are required";
    return e.str();
  }
  const int64_t ldo = p.ldo ? p.ldo : p.n, ldr = p.ldr ? p.ldr : p.n;
  const int64_t lda = p.lda ? p.lda : p.k, ldb = p.ldb ? p.ldb : p.k;
  if (p.n % 8 != 0 || ldo % 8 != 0 || (p.residual && ldr % 8 != 0) || lda % 16 != 0 ||
      ldb % 16 != 0 || !aligned16(p.a) || !aligned16(p.b) || !aligned16(p.out) ||
      !aligned16(p.residual)) {
    e << fam << ": needs 16-byte aligned operands and rows (N, ldo, ldr multiples of 8)";
    return e.str();
  }
  if (p.m > (int64_t(1) << 31) - 1 || p.n > (int64_t(1) << 31) - 1) {
    e << fam << ": M and N must fit in int";
    return e.str();
  }
  return gemm::check_epilogue(p, fam);
}

Config config_of(const IntGemmParams& p) {
  if (p.schedule == GemmSchedule::Cooperative) return Config::Coop128x256;
  if (p.schedule == GemmSchedule::PingPong) return Config::PingPong128x128;
  // By shape (tune-gemm on the H200): with GELU, the cooperative 128 x 256 tile where there are
  // enough of them to fill the GPU; with a light epilogue, the ping-pong 128 x 128 tile (1.07-1.12x
  // the wgmma engine at K >= 3072, where the cooperative tile was 0.82-1.01x).
  const int64_t tiles = ((p.m + 127) / 128) * ((p.n + 255) / 256);
  return p.gelu && tiles >= 4 * 132 ? Config::Coop128x256 : Config::PingPong128x128;
}

IntGemmPlan plan(const IntGemmParams& p) {
  IntGemmPlan r;
  r.engine = GemmEngine::Cutlass;
  const Config c = config_of(p);
  r.bm = 128;
  r.bn = c == Config::PingPong128x128 ? 128 : 256;
  r.bk = 128;
  r.split_k = 1;
  r.schedule = c == Config::PingPong128x128 ? GemmSchedule::PingPong : GemmSchedule::Cooperative;
  return r;
}

size_t workspace_bytes([[maybe_unused]] const IntGemmParams& p) {
#ifdef LOWBIT_WITH_CUTLASS
  if (p.m == 0) return 0;
  return is_fp8(p) ? fp8_workspace(p, config_of(p), gemm::sm_count())
                   : w8a8_workspace(p, config_of(p), gemm::sm_count());
#else
  return 0;
#endif
}

void run(const IntGemmParams& p) {
  if (std::string m = cutlass90::can_implement(p); !m.empty()) fail("int_gemm: ", m);
  if (p.m == 0) return;
#ifdef LOWBIT_WITH_CUTLASS
  if (is_fp8(p))
    fp8_run(p, config_of(p), gemm::sm_count());
  else
    w8a8_run(p, config_of(p), gemm::sm_count());
#endif
}

}  // namespace lowbit::cuda::cutlass90
