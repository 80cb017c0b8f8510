// Host side of the mma.sync integer GEMMs: validation, the launch plan (tile, split-K), dispatch
// of runtime choices to the template instantiations of mma_int_gemm_{w8a8,w4a8,w4a4}.cu.
#include "backends/cuda/gemm/mma_int_gemm.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <tuple>

#include "backends/cuda/check.h"
#include "backends/cuda/gemm/cutlass_gemm.h"
#include "backends/cuda/gemm/gemm_checks.h"
#include "backends/cuda/gemm/gemm_tuner.h"
#include "backends/cuda/gemm/mma_int_gemm_config.h"
#include "backends/cuda/gemm/wgmma_gemm.h"
#include "core/error.h"

namespace lowbit::cuda {

namespace {

using gemm::Family;

struct Plan {
  Family family = Family::W8A8;
  bool a_unsigned = false;
  GemmTile tile = GemmTile::Large;
  int bm = 0, bn = 0, bk = 0;
  int64_t m_tiles = 0, n_tiles = 0;
  int k_tiles = 0, groups = 1, tiles_per_group = 0;
  int splits = 1, tiles_per_split = 0;
  size_t counters_bytes = 0, workspace_bytes = 0;  // workspace_bytes == 0: none needed
};

// The family for a pair of layouts; false when no kernel takes it.
bool family_of(PackedLayout a, PackedLayout b, Family* f, bool* a_unsigned) {
  const bool a8 = a == PackedLayout::Int8 || a == PackedLayout::UInt8;
  const bool a4 = a == PackedLayout::Int4 || a == PackedLayout::UInt4;
  *a_unsigned = a == PackedLayout::UInt8 || a == PackedLayout::UInt4;
  if (a8 && b == PackedLayout::Int8) {
    *f = Family::W8A8;
  } else if (a8 && b == PackedLayout::Int4) {
    *f = Family::W4A8;
  } else if (a4 && b == PackedLayout::Int4) {
    *f = Family::W4A4;
  } else {
    return false;
  }
  return true;
}

int bk_of(Family f) {
  switch (f) {
    case Family::W8A8:
      return gemm::kBK<Family::W8A8>;
    case Family::W4A8:
      return gemm::kBK<Family::W4A8>;
    case Family::W4A4:
      return gemm::kBK<Family::W4A4>;
  }
  return 0;
}

const char* family_name(Family f) {
  switch (f) {
    case Family::W8A8:
      return "W8A8";
    case Family::W4A8:
      return "W4A8";
    case Family::W4A4:
      return "W4A4";
  }
  return "?";
}

bool aligned(const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// `allow_split`: a workspace is (or will be) there. Assumes can_implement(p) is "".
Plan make_plan(const IntGemmParams& p, bool allow_split) {
  Plan pl;
  family_of(p.a_layout, p.b_layout, &pl.family, &pl.a_unsigned);
  pl.bk = bk_of(pl.family);
  pl.k_tiles = int(p.k / pl.bk);
  pl.groups = p.group_size ? int(p.k / p.group_size) : 1;
  pl.tiles_per_group = pl.k_tiles / pl.groups;
  const int sms = gemm::sm_count();
  const auto tiles = [&](GemmTile t) {
    return t == GemmTile::Large ? std::pair<int, int>{gemm::LargeTile::kBM, gemm::LargeTile::kBN}
                                : std::pair<int, int>{gemm::SmallTile::kBM, gemm::SmallTile::kBN};
  };
  pl.tile = p.tile;
  if (pl.tile == GemmTile::Auto) {
    // Large tiles when they fill the GPU at least once; otherwise 16x more, smaller CTAs.
    const auto [bm, bn] = tiles(GemmTile::Large);
    pl.tile = ceil_div(p.m, bm) * ceil_div(p.n, bn) >= sms ? GemmTile::Large : GemmTile::Small;
  }
  std::tie(pl.bm, pl.bn) = tiles(pl.tile);
  pl.m_tiles = ceil_div(p.m, pl.bm);
  pl.n_tiles = ceil_div(p.n, pl.bn);

  // Split-K in whole weight groups (grouped) or whole k tiles.
  const bool grouped = pl.groups > 1;
  const int units = grouped ? pl.groups : pl.k_tiles;
  const int unit_tiles = grouped ? pl.tiles_per_group : 1;
  int splits = 1;
  if (grouped && p.out_type == GemmOut::I32) {
    splits = units;  // the raw accumulators of grouped weights: one split per group
  } else if (p.split_k > 1) {
    splits = std::min(p.split_k, units);
  } else if (p.split_k == 0 && allow_split) {
    const int64_t ctas = pl.m_tiles * pl.n_tiles;
    const int64_t target = int64_t(sms) * (pl.tile == GemmTile::Small ? 2 : 1);
    if (ctas * 2 <= target) {
      const int64_t want = ceil_div(target, ctas);
      const int max_by_depth = std::max(1, pl.k_tiles / 2);  // at least 2 k tiles a split
      splits = int(std::min<int64_t>({want, int64_t(max_by_depth), int64_t(units), 16}));
    }
  }
  const int units_per_split = int(ceil_div(units, std::max(1, splits)));
  pl.splits = int(ceil_div(units, units_per_split));  // no empty split
  pl.tiles_per_split = units_per_split * unit_tiles;
  if (pl.splits > 1 && !(grouped && p.out_type == GemmOut::I32)) {
    pl.counters_bytes = size_t(ceil_div(pl.m_tiles * pl.n_tiles * int64_t(sizeof(int)), 256) * 256);
    pl.workspace_bytes = pl.counters_bytes + size_t(pl.splits) * size_t(p.m) * size_t(p.n) * 4;
  }
  return pl;
}

template <Family F, bool AU, GemmTile T>
void dispatch_grouped(const Plan& pl, const gemm::KernelParams& kp, dim3 grid, cudaStream_t s) {
  if (pl.groups > 1)
    gemm::launch<F, AU, T, true>(kp, grid, s);
  else
    gemm::launch<F, AU, T, false>(kp, grid, s);
}

template <Family F, bool AU>
void dispatch_tile(const Plan& pl, const gemm::KernelParams& kp, dim3 grid, cudaStream_t s) {
  if (pl.tile == GemmTile::Small)
    dispatch_grouped<F, AU, GemmTile::Small>(pl, kp, grid, s);
  else
    dispatch_grouped<F, AU, GemmTile::Large>(pl, kp, grid, s);
}

template <Family F>
void dispatch_sign(const Plan& pl, const gemm::KernelParams& kp, dim3 grid, cudaStream_t s) {
  if (pl.a_unsigned)
    dispatch_tile<F, true>(pl, kp, grid, s);
  else
    dispatch_tile<F, false>(pl, kp, grid, s);
}

}  // namespace

namespace gemm {

int sm_count() {
  static std::array<std::atomic<int>, 64> cache{};
  int dev = 0;
  LOWBIT_CUDA_CHECK(cudaGetDevice(&dev));
  std::atomic<int>& slot = cache[size_t(dev) & 63];
  int n = slot.load(std::memory_order_relaxed);
  if (n == 0) {
    LOWBIT_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    slot.store(n, std::memory_order_relaxed);
  }
  return n;
}

std::string check_operands(const IntGemmParams& p, const char* fam, int bk) {
  std::ostringstream e;
  if (p.m < 0 || p.n <= 0 || p.k <= 0) {
    e << fam << ": bad shape M=" << p.m << " N=" << p.n << " K=" << p.k;
    return e.str();
  }
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  if (p.m > kIntMax || p.n > kIntMax || p.k / bk > kIntMax) {
    e << fam << ": shape M=" << p.m << " N=" << p.n << " K=" << p.k << " too large";
    return e.str();
  }
  if (p.k % bk != 0) {
    e << fam << ": K=" << p.k << " must be a multiple of " << bk << " (the kernel's K tile)";
    return e.str();
  }
  if (p.n % 8 != 0) {
    e << fam << ": N=" << p.n << " must be a multiple of 8";
    return e.str();
  }
  const int64_t a_row = packed_row_bytes_unchecked(p.a_layout, p.k);
  const int64_t b_row = packed_row_bytes_unchecked(p.b_layout, p.k);
  const int64_t lda = p.lda ? p.lda : a_row, ldb = p.ldb ? p.ldb : b_row;
  if (lda < a_row || lda % 16 != 0) {
    e << fam << ": lda=" << lda << " bytes must be >= the packed row (" << a_row
      << " bytes) and a multiple of 16";
    return e.str();
  }
  if (ldb < b_row || ldb % 16 != 0) {
    e << fam << ": ldb=" << ldb << " bytes must be >= the packed row (" << b_row
      << " bytes) and a multiple of 16";
    return e.str();
  }
  if (!p.a || !p.b || !p.out) {
    e << fam << ": a, b and out must be set";
    return e.str();
  }
  if (!aligned(p.a, 16) || !aligned(p.b, 16)) {
    e << fam << ": a and b must be 16-byte aligned";
    return e.str();
  }
  if (!aligned(p.out, 16)) {
    e << fam << ": out must be 16-byte aligned";
    return e.str();
  }
  if (p.split_k < 0) {
    e << fam << ": split_k=" << p.split_k << " must be >= 0";
    return e.str();
  }
  if (is_integer_layout(p.a_layout)) {
    const int64_t gl = p.group_size > 0 ? p.group_size : p.k;
    const int64_t max_gl = std::numeric_limits<int32_t>::max() /
                           (int64_t(layout_max_abs(p.a_layout)) * layout_max_abs(p.b_layout));
    if (gl > max_gl) {
      e << fam << ": " << gl << " products of " << layout_name(p.a_layout) << " x "
        << layout_name(p.b_layout) << " per group can overflow int32 (at most " << max_gl << ")";
      return e.str();
    }
  }
  return "";
}

std::string check_epilogue(const IntGemmParams& p, const char* fam) {
  std::ostringstream e;
  if (p.a_layout == PackedLayout::F16) {
    // F16 operands are not quantized: y = acc (+ bias, GELU, residual), no scales (the epilogue
    // takes absent scales as 1), float output.
    if (p.sx || p.sw || p.out_type == GemmOut::I32) {
      e << fam << ": F16 operands take no scales (sx, sw null) and a float output";
      return e.str();
    }
  } else if (p.out_type == GemmOut::I32) {
    return "";
  } else if (!p.sx || !p.sw) {
    e << fam << ": the float epilogue needs sx and sw";
    return e.str();
  }
  if (p.zx && !p.zcorr) {
    e << fam << ": zero points (zx) need the zero-point correction zcorr";
    return e.str();
  }
  // The epilogue moves 4 outputs at a time.
  const size_t esize = p.out_type == GemmOut::F32 ? 4 : 2;
  const int64_t ldo = p.ldo ? p.ldo : p.n;
  if (ldo < p.n || ldo % 4 != 0) {
    e << fam << ": ldo=" << ldo << " must be a multiple of 4 and >= N";
    return e.str();
  }
  if (p.residual) {
    const int64_t ldr = p.ldr ? p.ldr : p.n;
    if (ldr < p.n || ldr % 4 != 0 || !aligned(p.residual, 4 * esize)) {
      e << fam << ": ldr=" << ldr << " must be a multiple of 4 and >= N, residual aligned to "
        << 4 * esize << " bytes";
      return e.str();
    }
  }
  return "";
}

}  // namespace gemm

const char* engine_name(GemmEngine e) {
  switch (e) {
    case GemmEngine::Auto:
      return "auto";
    case GemmEngine::MmaSync:
      return "mma.sync";
    case GemmEngine::Wgmma:
      return "wgmma";
    case GemmEngine::Cutlass:
      return "cutlass";
  }
  return "?";
}

const char* schedule_name(GemmSchedule s) {
  switch (s) {
    case GemmSchedule::Auto:
      return "auto";
    case GemmSchedule::Cooperative:
      return "cooperative";
    case GemmSchedule::PingPong:
      return "pingpong";
  }
  return "?";
}

namespace {

std::string mma_can_implement(const IntGemmParams& p) {
  std::ostringstream e;
  Family f{};
  bool au = false;
  if (!family_of(p.a_layout, p.b_layout, &f, &au)) {
    e << "no mma.sync integer GEMM kernel for " << layout_name(p.a_layout) << " activations x "
      << layout_name(p.b_layout)
      << " weights (supported: int8/uint8 x int8, int8/uint8 x int4, int4/uint4 x int4)";
    return e.str();
  }
  const char* fam = family_name(f);
  const int bk = bk_of(f);
  if (p.b_sm90) {
    e << fam << ": weights in the Hopper int4 order (b_sm90) are for the wgmma engine only";
    return e.str();
  }
  if (p.row_amax) {
    e << fam << ": row_amax is written by the wgmma engine only";
    return e.str();
  }
  if (std::string s = gemm::check_operands(p, fam, bk); !s.empty()) return s;
  const int64_t gl = p.group_size ? p.group_size : p.k;
  if (p.group_size < 0 || p.k % gl != 0 || gl % bk != 0) {
    e << fam << ": group_size=" << p.group_size << " must divide K=" << p.k
      << " and be a multiple of " << bk << " (the kernel's K tile)";
    return e.str();
  }
  return gemm::check_epilogue(p, fam);
}

// Under Auto, whether the CUTLASS engine runs `p` (ignoring row_amax: a caller that asks for it
// checks int_gemm_writes_row_amax() and quantizes with a pass of its own when told no). Measured
// on the H200 (bench/results/throughput-h200.md, third session): CUTLASS's overlapped epilogue
// wins where the epilogue is heavy (GELU: 1.05-1.15x at M >= 8192 on every FFN-in shape) and
// at K >= 3072 in its ping-pong tile, and loses elsewhere with a light epilogue (bias only:
// 0.72-0.93x at most shapes) and at small M (BERT 1x128 end to end: 0.74-0.81x). LOWBIT_GEMM_ENGINE=cutlass takes it wherever it applies,
// LOWBIT_GEMM_ENGINE=wgmma never (A/B runs); read once.
bool auto_takes_cutlass(const IntGemmParams& p) {
  static const int mode = [] {
    const char* v = std::getenv("LOWBIT_GEMM_ENGINE");
    const std::string s = v ? v : "";
    return s == "cutlass" ? 1 : s == "wgmma" ? 2 : 0;
  }();
  if (mode == 2) return false;
  // GELU at M >= 8192 on the FFN-in shapes (N >= 2048); and the W8A8 FFN-out shapes (K >= 3072,
  // bias only) at M >= 8192, where the CUTLASS ping-pong tile measured 1.07-1.31x (tune-gemm).
  const bool w8a8 = p.a_layout == PackedLayout::Int8 && p.b_layout == PackedLayout::Int8;
  const bool measured_faster =
      p.m >= 8192 && ((p.gelu && p.n >= 2048) || (w8a8 && !p.gelu && p.k >= 3072));
  if (mode == 0 && !measured_faster) return false;
  IntGemmParams q = p;
  q.row_amax = nullptr;
  return cutlass90::can_implement(q).empty();
}

// The engine int_gemm(p) runs, or an error message.
GemmEngine choose_engine(const IntGemmParams& p, std::string* err) {
  switch (p.engine) {
    case GemmEngine::MmaSync:
      *err = mma_can_implement(p);
      return GemmEngine::MmaSync;
    case GemmEngine::Wgmma:
      *err = sm90::can_implement(p);
      if (err->empty() && !sm90::device_supported())
        *err = "the wgmma GEMMs need an sm_90 (Hopper) GPU";
      return GemmEngine::Wgmma;
    case GemmEngine::Cutlass:
      *err = cutlass90::can_implement(p);
      if (err->empty() && !sm90::device_supported())
        *err = "the CUTLASS GEMMs need an sm_90 (Hopper) GPU";
      return GemmEngine::Cutlass;
    case GemmEngine::Auto:
      break;
  }
  if (sm90::device_supported()) {
    if (auto_takes_cutlass(p)) {
      err->clear();
      return GemmEngine::Cutlass;
    }
    std::string w = sm90::can_implement(p);
    if (w.empty()) {
      err->clear();
      return GemmEngine::Wgmma;
    }
    *err = mma_can_implement(p);
    if (!err->empty()) *err = w;  // neither: report the Hopper engine's reason
    return GemmEngine::MmaSync;
  }
  *err = mma_can_implement(p);
  return GemmEngine::MmaSync;
}

}  // namespace

std::string can_implement(const IntGemmParams& p) {
  std::string err;
  choose_engine(p, &err);
  return err;
}

namespace {

// The parameters with a tuned choice (gemm_tuner.h) applied, when everything is on automatic and
// the plan has an entry that the kernels take.
IntGemmParams resolve(const IntGemmParams& p) {
  if (p.engine != GemmEngine::Auto || p.tile != GemmTile::Auto || p.tokens_tile != 0 ||
      p.split_k != 0 || p.schedule != GemmSchedule::Auto)
    return p;
  const auto c = gemm_plan_find(p);
  if (!c) return p;
  IntGemmParams q = p;
  q.engine = c->engine;
  q.tile = c->tile;
  q.tokens_tile = c->tokens_tile;
  q.split_k = c->split_k;
  q.schedule = c->schedule;
  std::string err;
  choose_engine(q, &err);
  return err.empty() ? q : p;
}

}  // namespace

IntGemmPlan int_gemm_plan(const IntGemmParams& p_in) {
  const IntGemmParams p = resolve(p_in);
  std::string msg;
  const GemmEngine engine = choose_engine(p, &msg);
  if (!msg.empty()) fail("int_gemm: ", msg);
  if (engine == GemmEngine::Wgmma) return sm90::plan(p, p.workspace != nullptr);
  if (engine == GemmEngine::Cutlass) return cutlass90::plan(p);
  const Plan pl = make_plan(p, p.workspace != nullptr);
  IntGemmPlan r;
  r.engine = GemmEngine::MmaSync;
  r.tile = pl.tile;
  r.split_k = pl.splits;
  r.bm = pl.bm;
  r.bn = pl.bn;
  r.bk = pl.bk;
  return r;
}

bool int_gemm_writes_row_amax(const IntGemmParams& p_in) {
  const IntGemmParams p = resolve(p_in);
  std::string msg;
  const GemmEngine engine = choose_engine(p, &msg);
  return msg.empty() && engine == GemmEngine::Wgmma && sm90::writes_row_amax(p);
}

size_t int_gemm_workspace_bytes(const IntGemmParams& p_in) {
  const IntGemmParams p = resolve(p_in);
  std::string msg;
  const GemmEngine engine = choose_engine(p, &msg);
  if (!msg.empty()) fail("int_gemm: ", msg);
  if (engine == GemmEngine::Wgmma) return sm90::workspace_bytes(p);
  if (engine == GemmEngine::Cutlass) return cutlass90::workspace_bytes(p);
  return make_plan(p, true).workspace_bytes;
}

void int_gemm(const IntGemmParams& p_in) {
  const IntGemmParams p = resolve(p_in);
  std::string msg;
  const GemmEngine engine = choose_engine(p, &msg);
  if (!msg.empty()) fail("int_gemm: ", msg);
  if (engine == GemmEngine::Wgmma) return sm90::run(p);
  if (engine == GemmEngine::Cutlass) return cutlass90::run(p);
  if (p.m == 0) return;
  const Plan pl = make_plan(p, p.workspace != nullptr);
  if (pl.workspace_bytes > 0 && (!p.workspace || p.workspace_bytes < pl.workspace_bytes))
    fail("int_gemm: split-K ", pl.splits, " over M=", p.m, " N=", p.n, " needs a workspace of ",
         pl.workspace_bytes, " bytes (int_gemm_workspace_bytes), got ", p.workspace_bytes);
  if (pl.workspace_bytes > 0 && !aligned(p.workspace, 256))
    fail("int_gemm: the workspace must be 256-byte aligned");

  gemm::KernelParams kp{};
  kp.a = static_cast<const uint8_t*>(p.a);
  kp.b = static_cast<const uint8_t*>(p.b);
  kp.m = int(p.m);
  kp.n = int(p.n);
  kp.lda = p.lda ? p.lda : packed_row_bytes_unchecked(p.a_layout, p.k);
  kp.ldb = p.ldb ? p.ldb : packed_row_bytes_unchecked(p.b_layout, p.k);
  kp.k_tiles = pl.k_tiles;
  kp.tiles_per_group = pl.tiles_per_group;
  kp.groups = pl.groups;
  kp.tiles_per_split = pl.tiles_per_split;
  kp.splits = pl.splits;
  static_cast<gemm::EpilogueArgs&>(kp) = gemm::epilogue_args(p);
  if (pl.workspace_bytes > 0) {
    kp.counters = static_cast<int*>(p.workspace);
    kp.partials = static_cast<uint8_t*>(p.workspace) + pl.counters_bytes;
    // The tile counters must start at zero. The kernel leaves them at zero, but a workspace
    // reused by a GEMM with more tiles has its extra counters on bytes that held the previous
    // GEMM's partial sums (seen on the H100: those tiles were never reduced). Zeroing them here,
    // on the same stream, costs a memset of a few hundred bytes.
    LOWBIT_CUDA_CHECK(cudaMemsetAsync(kp.counters, 0, pl.counters_bytes, p.stream));
  }
  if (pl.m_tiles > std::numeric_limits<int>::max() || pl.n_tiles > 65535)
    fail("int_gemm: grid of ", pl.m_tiles, " x ", pl.n_tiles, " tiles too large");
  const dim3 grid(unsigned(pl.m_tiles), unsigned(pl.n_tiles), unsigned(pl.splits));
  switch (pl.family) {
    case Family::W8A8:
      dispatch_sign<Family::W8A8>(pl, kp, grid, p.stream);
      break;
    case Family::W4A8:
      dispatch_sign<Family::W4A8>(pl, kp, grid, p.stream);
      break;
    case Family::W4A4:
      dispatch_sign<Family::W4A4>(pl, kp, grid, p.stream);
      break;
  }
}

}  // namespace lowbit::cuda
