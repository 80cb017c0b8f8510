// Host side of the Hopper GEMMs: validation, the launch plan (token tile, split-K, persistent
// grid), the TMA tensor maps, and dispatch to the instantiations of wgmma_gemm_{fam}.cu.
#include "backends/cuda/gemm/wgmma_gemm.h"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <sstream>

#include "backends/cuda/check.h"
#include "backends/cuda/gemm/gemm_checks.h"
#include "backends/cuda/gemm/wgmma_gemm_config.h"
#include "core/error.h"

namespace lowbit::cuda::sm90 {

namespace {

using gemm::sm90::Fam;
using gemm::sm90::kBK;
using gemm::sm90::kWRows;
using gemm::sm90::kWRowsPP;

bool fam_of(const IntGemmParams& p, Fam* f, bool* xu) {
  const PackedLayout a = p.a_layout, b = p.b_layout;
  const bool a8 = a == PackedLayout::Int8 || a == PackedLayout::UInt8;
  const bool a4 = a == PackedLayout::Int4 || a == PackedLayout::UInt4;
  *xu = a == PackedLayout::UInt8 || a == PackedLayout::UInt4;
  if (a8 && b == PackedLayout::Int8)
    *f = Fam::W8A8;
  else if (a8 && b == PackedLayout::Int4)
    *f = Fam::W4A8;
  else if (a4 && b == PackedLayout::Int4)
    *f = Fam::W4A4;
  else if (a == PackedLayout::Fp8E4M3 && b == PackedLayout::Fp8E4M3)
    *f = Fam::FP8;
  else if (a == PackedLayout::F16 && b == PackedLayout::F16)
    *f = Fam::F16;
  else
    return false;
  return true;
}

const char* fam_name(Fam f) {
  switch (f) {
    case Fam::W8A8:
      return "W8A8 (wgmma)";
    case Fam::W4A8:
      return "W4A8 (wgmma)";
    case Fam::W4A4:
      return "W4A4 (wgmma)";
    case Fam::FP8:
      return "FP8 (wgmma)";
    case Fam::F16:
      return "F16 (wgmma)";
  }
  return "?";
}

template <Fam F>
int stages_of_fam(int bt, bool pp) {
  using namespace gemm::sm90;
  if constexpr (F != Fam::W4A4) {
    if (pp) return bt == 128 ? Config<F, 128, true>::kStages : Config<F, 256, true>::kStages;
    if (bt == 256) return Config<F, 256>::kStages;
  }
  return bt == 64 ? Config<F, 64>::kStages : Config<F, 128>::kStages;
}

int stages_of(Fam f, int bt, bool pp) {
  switch (f) {
    case Fam::W8A8:
      return stages_of_fam<Fam::W8A8>(bt, pp);
    case Fam::W4A8:
      return stages_of_fam<Fam::W4A8>(bt, pp);
    case Fam::W4A4:
      return stages_of_fam<Fam::W4A4>(bt, pp);
    case Fam::FP8:
      return stages_of_fam<Fam::FP8>(bt, pp);
    case Fam::F16:
      return stages_of_fam<Fam::F16>(bt, pp);
  }
  return 0;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// K elements per pipeline stage: 128 (128 bytes of int8 / e4m3, 64 of int4), F16 64.
int bk_of(Fam f) { return f == Fam::F16 ? kBK / 2 : kBK; }

// The largest token tile a family has (W4A4: 128, see wgmma_gemm_w4a4.cu).
int max_bt(Fam f) { return f == Fam::W4A4 ? 128 : 256; }

struct Plan {
  Fam fam = Fam::W8A8;
  bool xu = false;
  bool pp = false;    // ping-pong schedule
  int unit_rows = 0;  // weight rows per work unit: 128 (cooperative) or 64 (ping-pong)
  int bt = 256;
  int k_blocks = 0, w_tiles = 0, x_tiles = 0;
  int splits = 1, blocks_per_split = 0;
  int grid = 0;
  size_t counters_bytes = 0, workspace_bytes = 0;
};

// LOWBIT_GEMM_SCHEDULE=cooperative|pingpong: what GemmSchedule::Auto means in this process (for
// side-by-side runs of the two schedules end to end); unset or "auto": by shape.
GemmSchedule env_schedule() {
  static const GemmSchedule s = [] {
    const char* v = std::getenv("LOWBIT_GEMM_SCHEDULE");
    const std::string e = v ? v : "";
    if (e == "cooperative") return GemmSchedule::Cooperative;
    if (e == "pingpong") return GemmSchedule::PingPong;
    if (!e.empty() && e != "auto")
      fail("LOWBIT_GEMM_SCHEDULE=", e, ": expected auto, cooperative or pingpong");
    return GemmSchedule::Auto;
  }();
  return s;
}

Plan make_plan(const IntGemmParams& p_in, bool allow_split) {
  IntGemmParams p = p_in;
  if (p.schedule == GemmSchedule::Auto) p.schedule = env_schedule();
  Plan pl;
  fam_of(p, &pl.fam, &pl.xu);
  const int sms = gemm::sm_count();
  pl.k_blocks = int(p.k / bk_of(pl.fam));
  // Ping-pong needs token tiles of 128 or 256 and no W4A4 (whose consumers widen the tokens
  // together). Automatic, from the side-by-side run on the H200 (bench/results/
  // gemm-schedules-h200.md): ping-pong wins where the epilogue is a large part of a unit, K <=
  // 1024 (W8A8: 1.08-1.28x for N >= 2048 from M = 512, 1.01-1.12x at M >= 16384 for any N;
  // W4A8: 1.02-1.09x at M >= 16384), and loses where the main loop dominates (K >= 3072:
  // 0.65-0.78x; its 64-weight units move 1.7x the L2 bytes per MAC of a cooperative 128 x 256
  // unit). FP8 gains at most 1.06x anywhere: cooperative. F16 was not measured alone: cooperative.
  if (p.schedule == GemmSchedule::PingPong) {
    pl.pp = true;
  } else if (p.schedule == GemmSchedule::Auto && p.split_k <= 1 && p.k <= 1024 &&
             p.tokens_tile != 64) {
    if (pl.fam == Fam::W8A8)
      pl.pp = (p.n >= 2048 && p.m >= 512) || p.m >= 16384;
    else if (pl.fam == Fam::W4A8)
      pl.pp = p.m >= 16384;
  }
  if (pl.fam == Fam::W4A4) pl.pp = false;
  if (p.tokens_tile) {
    pl.bt = p.tokens_tile;
  } else {
    // From `lowbit tune-gemm` on the H100 (bench/results/gemm-plan-h100.json): 64-token tiles
    // up to M = 512 (more CTAs stream the weights), 128 up to 4096, and 256 beyond when that
    // still gives every SM two tiles; ping-pong takes 128 or 256.
    const int64_t m1 = std::max<int64_t>(p.m, 1);
    if (m1 <= 512)
      pl.bt = 64;
    else if (m1 <= 4096 || ceil_div(m1, 256) * ceil_div(p.n, kWRows) < 2 * int64_t(sms))
      pl.bt = 128;
    else
      pl.bt = std::min(max_bt(pl.fam), 256);
    if (pl.pp) pl.bt = std::max(pl.bt, 128);
  }
  if (pl.bt < 128) pl.pp = false;
  pl.x_tiles = int(ceil_div(std::max<int64_t>(p.m, 1), pl.bt));
  pl.unit_rows = pl.pp ? kWRowsPP : kWRows;
  pl.w_tiles = int(ceil_div(p.n, pl.unit_rows));
  const int64_t tiles = int64_t(pl.w_tiles) * pl.x_tiles;
  int splits = 1;
  if (p.split_k >= 1) {
    splits = std::min(p.split_k, pl.k_blocks);
  } else if (allow_split && tiles * 4 <= sms && pl.k_blocks >= 32) {
    // Measured on the H100: a work unit costs ~4 us of serial latency on top of its k blocks
    // (TMA, epilogue, and for split-K the partial round trip through L2), so splitting pays
    // only for long K; `lowbit tune-gemm` finds the rest.
    splits = int(std::min<int64_t>({ceil_div(sms, tiles), int64_t(pl.k_blocks / 16), 16}));
  }
  pl.blocks_per_split = int(ceil_div(pl.k_blocks, std::max(1, splits)));
  pl.splits = int(ceil_div(pl.k_blocks, pl.blocks_per_split));  // no empty split
  pl.grid = int(std::min<int64_t>(tiles * pl.splits, sms));
  if (pl.splits > 1) {
    // One counter per 64-weight half tile; each split's accumulators of every half tile, as the
    // kernel's warpgroups hold them.
    const int64_t halves = tiles * (pl.unit_rows / 64);
    pl.counters_bytes = size_t(ceil_div(halves * int64_t(sizeof(int)), 256) * 256);
    pl.workspace_bytes =
        pl.counters_bytes + size_t(pl.splits) * size_t(halves) * size_t(64) * size_t(pl.bt) * 4;
  }
  return pl;
}

PFN_cuTensorMapEncodeTiled_v12000 encode_fn() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    LOWBIT_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000,
                                                       cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || !f)
      fail("wgmma GEMM: the driver has no cuTensorMapEncodeTiled (needs CUDA 12 or newer)");
    fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  });
  return fn;
}

// A 2-D map of rows of `cols` elements (uint8, or fp16 when `half`), `ld` bytes apart; boxes
// of box_cols x box_rows (loads zero-fill past the edges, stores are clipped there).
CUtensorMap make_map(const void* ptr, int64_t cols, int64_t rows, int64_t ld, int box_cols,
                     int box_rows, bool swizzle128, bool half = false) {
  CUtensorMap map;
  const cuuint64_t dims[2] = {cuuint64_t(cols), cuuint64_t(rows)};
  const cuuint64_t strides[1] = {cuuint64_t(ld)};
  const cuuint32_t box[2] = {cuuint32_t(box_cols), cuuint32_t(box_rows)};
  const cuuint32_t estr[2] = {1, 1};
  const CUresult r =
      encode_fn()(&map, half ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_UINT8, 2,
                  const_cast<void*>(ptr), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                  swizzle128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_NONE,
                  CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    fail("wgmma GEMM: cuTensorMapEncodeTiled failed (", int(r), ") for ", rows, " rows of ", cols,
         half ? " halves" : " bytes", ", ld ", ld, ", box ", box_rows, " x ", box_cols);
  return map;
}

template <Fam F, bool XU, bool SK>
void dispatch_bt_sk(const Plan& pl, const gemm::sm90::KernelParams& kp, cudaStream_t s) {
  if constexpr (F != Fam::W4A4) {
    if (pl.pp) {
      if (pl.bt == 128)
        gemm::sm90::launch<F, XU, 128, true, SK>(kp, pl.grid, s);
      else
        gemm::sm90::launch<F, XU, 256, true, SK>(kp, pl.grid, s);
      return;
    }
  }
  if (pl.bt == 64)
    gemm::sm90::launch<F, XU, 64, false, SK>(kp, pl.grid, s);
  else if (pl.bt == 128 || F == Fam::W4A4)
    gemm::sm90::launch<F, XU, 128, false, SK>(kp, pl.grid, s);
  else if constexpr (F != Fam::W4A4)
    gemm::sm90::launch<F, XU, 256, false, SK>(kp, pl.grid, s);
}

// The float families have kernels without split-K (wgmma_gemm_kernel.cuh, SK), taken when the
// plan does not split.
template <Fam F, bool XU>
void dispatch_bt(const Plan& pl, const gemm::sm90::KernelParams& kp, cudaStream_t s) {
  if constexpr (F == Fam::FP8 || F == Fam::F16) {
    if (pl.splits == 1) return dispatch_bt_sk<F, XU, false>(pl, kp, s);
  }
  dispatch_bt_sk<F, XU, true>(pl, kp, s);
}

}  // namespace

bool device_supported() {
  int dev = 0, major = 0;
  LOWBIT_CUDA_CHECK(cudaGetDevice(&dev));
  LOWBIT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  return major == 9;
}

std::string can_implement(const IntGemmParams& p) {
  std::ostringstream e;
  Fam f{};
  bool xu = false;
  if (!fam_of(p, &f, &xu)) {
    e << "no wgmma GEMM kernel for " << layout_name(p.a_layout) << " activations x "
      << layout_name(p.b_layout)
      << " weights (supported: int8/uint8 x int8, int8/uint8 x int4, int4/uint4 x int4, fp8 x fp8,"
         " f16 x f16)";
    return e.str();
  }
  const char* fam = fam_name(f);
  if (std::string s = gemm::check_operands(p, fam, bk_of(f)); !s.empty()) return s;
  if (p.group_size != 0 && p.group_size != p.k) {
    e << fam << ": weight groups along K (group_size=" << p.group_size
      << ") are not supported by the wgmma kernels; use the mma.sync engine";
    return e.str();
  }
  if (p.b_layout == PackedLayout::Int4 && !p.b_sm90) {
    e << fam << ": int4 weights must be in the Hopper order (repack_int4_sm90, b_sm90 = true)";
    return e.str();
  }
  if (p.tokens_tile != 0 && p.tokens_tile != 64 && p.tokens_tile != 128 && p.tokens_tile != 256) {
    e << fam << ": tokens_tile=" << p.tokens_tile << " must be 0, 64, 128 or 256";
    return e.str();
  }
  if (p.tokens_tile > max_bt(f)) {
    e << fam << ": tokens_tile=" << p.tokens_tile << " is more than this kernel's largest ("
      << max_bt(f) << ")";
    return e.str();
  }
  if (p.schedule == GemmSchedule::PingPong && (f == Fam::W4A4 || p.tokens_tile == 64)) {
    e << fam << ": the ping-pong schedule takes token tiles of 128 or 256 and no W4A4 (tokens_tile="
      << p.tokens_tile << ")";
    return e.str();
  }
  if (p.row_amax &&
      (p.out_type != GemmOut::F16 || (p.ld_amax != 0 && p.ld_amax < ceil_div(p.n, 64)))) {
    e << fam << ": row_amax needs F16 output and ld_amax >= ceil(N / 64) (ld_amax=" << p.ld_amax
      << ")";
    return e.str();
  }
  if ((f == Fam::FP8 || f == Fam::F16) && p.zx) {
    e << fam << ": FP8 and F16 activations are symmetric (zx must be null)";
    return e.str();
  }
  if (f == Fam::F16) return gemm::check_epilogue(p, fam);  // no scales (checked there)
  if (p.out_type != GemmOut::I32 && reinterpret_cast<uintptr_t>(p.sw) % 16 != 0) {
    e << fam << ": sw must be 16-byte aligned";
    return e.str();
  }
  return gemm::check_epilogue(p, fam);
}

IntGemmPlan plan(const IntGemmParams& p, bool allow_split) {
  const Plan pl = make_plan(p, allow_split);
  IntGemmPlan r;
  r.engine = GemmEngine::Wgmma;
  r.split_k = pl.splits;
  r.bm = pl.bt;
  r.bn = pl.unit_rows;
  r.bk = bk_of(pl.fam);
  r.stages = stages_of(pl.fam, pl.bt, pl.pp);
  r.schedule = pl.pp ? GemmSchedule::PingPong : GemmSchedule::Cooperative;
  return r;
}

size_t workspace_bytes(const IntGemmParams& p) { return make_plan(p, true).workspace_bytes; }

namespace {
// The F16 register epilogue with its TMA store (KernelParams::tma_out): no split-K, rows of a
// multiple of 8 halves, 16-byte aligned output (and residual).
bool register_epilogue(const IntGemmParams& p, const Plan& pl) {
  const int64_t ldo = p.ldo ? p.ldo : p.n, ldr = p.ldr ? p.ldr : p.n;
  auto al16 = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  return p.out_type == GemmOut::F16 && pl.splits == 1 && ldo % 8 == 0 && al16(p.out) &&
         (!p.residual || (ldr % 8 == 0 && al16(p.residual)));
}
// row_amax: that epilogue, and N a multiple of 64 (a tile past N holds values of no output,
// which would join the maxima).
bool amax_ok(const IntGemmParams& p, const Plan& pl) {
  return register_epilogue(p, pl) && p.n % 64 == 0;
}
}  // namespace

bool writes_row_amax(const IntGemmParams& p) {
  return amax_ok(p, make_plan(p, p.workspace != nullptr));
}

void run(const IntGemmParams& p) {
  if (p.m == 0) return;
  const Plan pl = make_plan(p, p.workspace != nullptr);
  if (pl.workspace_bytes > 0 && (!p.workspace || p.workspace_bytes < pl.workspace_bytes))
    fail("int_gemm: split-K ", pl.splits, " over M=", p.m, " N=", p.n, " needs a workspace of ",
         pl.workspace_bytes, " bytes (int_gemm_workspace_bytes), got ", p.workspace_bytes);
  if (pl.workspace_bytes > 0 && reinterpret_cast<uintptr_t>(p.workspace) % 256 != 0)
    fail("int_gemm: the workspace must be 256-byte aligned");
  using gemm::sm90::Traits;
  int wbytes = 0, xbytes = 0;
  switch (pl.fam) {
    case Fam::W8A8:
      wbytes = Traits<Fam::W8A8>::kWBytes, xbytes = Traits<Fam::W8A8>::kXBytes;
      break;
    case Fam::W4A8:
      wbytes = Traits<Fam::W4A8>::kWBytes, xbytes = Traits<Fam::W4A8>::kXBytes;
      break;
    case Fam::W4A4:
      wbytes = Traits<Fam::W4A4>::kWBytes, xbytes = Traits<Fam::W4A4>::kXBytes;
      break;
    case Fam::FP8:
      wbytes = Traits<Fam::FP8>::kWBytes, xbytes = Traits<Fam::FP8>::kXBytes;
      break;
    case Fam::F16:
      wbytes = Traits<Fam::F16>::kWBytes, xbytes = Traits<Fam::F16>::kXBytes;
      break;
  }
  const int64_t w_row = packed_row_bytes_unchecked(p.b_layout, p.k);
  const int64_t x_row = packed_row_bytes_unchecked(p.a_layout, p.k);
  gemm::sm90::KernelParams kp{};
  kp.tw = make_map(p.b, w_row, p.n, p.ldb ? p.ldb : w_row, wbytes, pl.unit_rows, wbytes == 128);
  kp.tx = make_map(p.a, x_row, p.m, p.lda ? p.lda : x_row, xbytes, pl.bt, xbytes == 128);
  const int64_t ldo = p.ldo ? p.ldo : p.n, ldr = p.ldr ? p.ldr : p.n;
  kp.tma_out = register_epilogue(p, pl);
  if (p.row_amax && !amax_ok(p, pl))
    fail(
        "int_gemm: row_amax needs the register epilogue (F16 output, no split-K, 16-byte aligned "
        "rows) and N a multiple of 64 (N=",
        p.n, "); check int_gemm_writes_row_amax first");
  kp.row_amax = p.row_amax;
  kp.ld_amax = p.ld_amax ? p.ld_amax : ceil_div(p.n, 64);
  if (kp.tma_out) {
    kp.tout = make_map(p.out, p.n, p.m, ldo * 2, 64, pl.bt, true, true);
    if (p.residual) kp.tres = make_map(p.residual, p.n, p.m, ldr * 2, 64, pl.bt, true, true);
  }
  kp.m = int(p.m);
  kp.n = int(p.n);
  kp.k_blocks = pl.k_blocks;
  kp.w_tiles = pl.w_tiles;
  kp.x_tiles = pl.x_tiles;
  kp.splits = pl.splits;
  kp.blocks_per_split = pl.blocks_per_split;
  static_cast<gemm::EpilogueArgs&>(kp) = gemm::epilogue_args(p);
  if (pl.workspace_bytes > 0) {
    kp.counters = static_cast<int*>(p.workspace);
    kp.partials = static_cast<uint8_t*>(p.workspace) + pl.counters_bytes;
    LOWBIT_CUDA_CHECK(cudaMemsetAsync(kp.counters, 0, pl.counters_bytes, p.stream));
  }
  switch (pl.fam) {
    case Fam::W8A8:
      pl.xu ? dispatch_bt<Fam::W8A8, true>(pl, kp, p.stream)
            : dispatch_bt<Fam::W8A8, false>(pl, kp, p.stream);
      break;
    case Fam::W4A8:
      pl.xu ? dispatch_bt<Fam::W4A8, true>(pl, kp, p.stream)
            : dispatch_bt<Fam::W4A8, false>(pl, kp, p.stream);
      break;
    case Fam::W4A4:
      pl.xu ? dispatch_bt<Fam::W4A4, true>(pl, kp, p.stream)
            : dispatch_bt<Fam::W4A4, false>(pl, kp, p.stream);
      break;
    case Fam::FP8:
      dispatch_bt<Fam::FP8, false>(pl, kp, p.stream);
      break;
    case Fam::F16:
      dispatch_bt<Fam::F16, false>(pl, kp, p.stream);
      break;
  }
}

}  // namespace lowbit::cuda::sm90
