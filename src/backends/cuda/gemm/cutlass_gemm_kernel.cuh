// The CUTLASS 3.x GEMMs of the Hopper engine (GemmEngine::Cutlass; cutlass_gemm.h): CUTLASS's
// TMA warp-specialised main loops (ping-pong or cooperative, persistent) with the contract's
// epilogue as one epilogue-visitor-tree node, so that CUTLASS's overlapped epilogue (TMA store,
// the next tile's main loop running meanwhile) carries lowbit's float epilogue:
//   y = sx[m] · (sw[n] · acc);  y = y + bias[n];  y = gelu(y);  y = y + residual[m, n];  half(y)
// in the CPU reference's order, one float32 operation at a time (gemm_epilogue.cuh), bit-exact
// with the wgmma engine. Included by cutlass_gemm_{fam}.cu only (sm_90a, CUTLASS headers from PyPI
// nvidia-cutlass).
#pragma once

#include <cute/tensor.hpp>
#include <cutlass/cutlass.h>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/sm90_visitor_tma_warpspecialized.hpp>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>
#include <cutlass/util/packed_stride.hpp>

#include "backends/cuda/check.h"
#include "backends/cuda/device.h"
#include "backends/cuda/gemm/cutlass_gemm.h"
#include "backends/cuda/gemm/gemm_epilogue.cuh"
#include "core/error.h"

namespace lowbit::cuda::cutlass90 {

// The epilogue node's runtime switches (one instantiation serves q1..q4 of a layer).
struct EpilogueFlags {
  bool bias = false;
  bool gelu = false;
};

// Sm90Compute's function object: called on fragments of N outputs, each input converted to
// float by CUTLASS (int32 accumulators by cvt.rn, as float(acc) in the CPU reference).
template <class T>
struct LowbitEpilogue {
  using Arguments = EpilogueFlags;

  template <int N>
  CUTLASS_DEVICE static float one(float acc, float sw, float sx, float bias,
                                  const Arguments& f) {
    float x = __fmul_rn(sx, __fmul_rn(sw, acc));
    if (f.bias) x = __fadd_rn(x, bias);
    if (f.gelu) x = gemm::gelu_erf(x);
    return x;
  }

  template <int N>
  CUTLASS_DEVICE cutlass::Array<float, N> operator()(
      const cutlass::Array<float, N>& acc, const cutlass::Array<float, N>& sw,
      const cutlass::Array<float, N>& sx, const cutlass::Array<float, N>& bias,
      const Arguments& f) const {
    cutlass::Array<float, N> y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < N; ++i) y[i] = one<N>(acc[i], sw[i], sx[i], bias[i], f);
    return y;
  }

  template <int N>
  CUTLASS_DEVICE cutlass::Array<float, N> operator()(
      const cutlass::Array<float, N>& acc, const cutlass::Array<float, N>& sw,
      const cutlass::Array<float, N>& sx, const cutlass::Array<float, N>& bias,
      const cutlass::Array<float, N>& residual, const Arguments& f) const {
    cutlass::Array<float, N> y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < N; ++i)
      y[i] = __fadd_rn(one<N>(acc[i], sw[i], sx[i], bias[i], f), residual[i]);
    return y;
  }
};

// One kernel configuration: operand types, CTA tile (K: 128 bytes), cluster, schedule, and
// whether the epilogue reads a residual (CUTLASS's source operand C).
template <class A, class B, class AccT, int TM, int TN, int CM, bool PingPong, bool Residual>
struct Cfg {
  using ElementA = A;
  using ElementB = B;
  using ElementAcc = AccT;
  using TileShape = cute::Shape<cute::Int<TM>, cute::Int<TN>, cute::Int<128 / int(sizeof(A))>>;
  using ClusterShape = cute::Shape<cute::Int<CM>, cute::_1, cute::_1>;
  // FP8: wgmma accumulates in float throughout, as the wgmma engine's kernel does ("fast
  // accumulation"; CUTLASS's default would add into a second float accumulator every few k blocks).
  static constexpr bool kFp8 = sizeof(A) == 1 && !std::is_integral_v<A>;
  using MainloopSchedule = std::conditional_t<
      PingPong,
      std::conditional_t<kFp8, cutlass::gemm::KernelTmaWarpSpecializedPingpongFP8FastAccum,
                         cutlass::gemm::KernelTmaWarpSpecializedPingpong>,
      std::conditional_t<kFp8, cutlass::gemm::KernelTmaWarpSpecializedCooperativeFP8FastAccum,
                         cutlass::gemm::KernelTmaWarpSpecializedCooperative>>;
  using EpilogueSchedule =
      std::conditional_t<PingPong, cutlass::epilogue::TmaWarpSpecialized,
                         cutlass::epilogue::TmaWarpSpecializedCooperative>;
  static constexpr bool kResidual = Residual;
};

template <class Cfg>
struct Kernel {
  using ElementA = typename Cfg::ElementA;
  using ElementB = typename Cfg::ElementB;
  using ElementAcc = typename Cfg::ElementAcc;
  using ElementD = cutlass::half_t;
  using ElementC = std::conditional_t<Cfg::kResidual, cutlass::half_t, void>;
  using TileShape = typename Cfg::TileShape;
  using ClusterShape = typename Cfg::ClusterShape;
  static constexpr auto kRound = cutlass::FloatRoundStyle::round_to_nearest;

  using Acc = cutlass::epilogue::fusion::Sm90AccFetch;
  using RowVec = cutlass::epilogue::fusion::Sm90RowBroadcast<0, TileShape, float, float>;
  using ColVec = cutlass::epilogue::fusion::Sm90ColBroadcast<0, TileShape, float, float>;
  using Node = cutlass::epilogue::fusion::Sm90Compute<LowbitEpilogue, ElementD, float, kRound>;
  using EVT = std::conditional_t<
      Cfg::kResidual,
      cutlass::epilogue::fusion::Sm90EVT<Node, Acc, RowVec, ColVec, RowVec,
                                         cutlass::epilogue::fusion::Sm90SrcFetch<ElementD>>,
      cutlass::epilogue::fusion::Sm90EVT<Node, Acc, RowVec, ColVec, RowVec>>;

  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, ElementAcc, float, ElementC,
      cutlass::layout::RowMajor, 8, ElementD, cutlass::layout::RowMajor, 8,
      typename Cfg::EpilogueSchedule, EVT>::CollectiveOp;

  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, ElementA, cutlass::layout::RowMajor,
      16 / sizeof(ElementA), ElementB, cutlass::layout::ColumnMajor, 16 / sizeof(ElementB),
      ElementAcc, TileShape, ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      typename Cfg::MainloopSchedule>::CollectiveOp;

  using GemmKernel =
      cutlass::gemm::kernel::GemmUniversal<cute::Shape<int, int, int, int>, CollectiveMainloop,
                                           CollectiveEpilogue>;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<GemmKernel>;

  static typename Gemm::Arguments arguments(const IntGemmParams& p, int sms) {
    using StrideA = typename Gemm::GemmKernel::StrideA;
    using StrideB = typename Gemm::GemmKernel::StrideB;
    using StrideC = typename Gemm::GemmKernel::StrideC;
    using StrideD = typename Gemm::GemmKernel::StrideD;
    StrideA sa{};
    cute::get<0>(sa) = (p.lda ? p.lda : p.k * int64_t(sizeof(ElementA))) / int64_t(sizeof(ElementA));
    StrideB sb{};
    cute::get<0>(sb) = (p.ldb ? p.ldb : p.k * int64_t(sizeof(ElementB))) / int64_t(sizeof(ElementB));
    StrideD sd{};
    cute::get<0>(sd) = p.ldo ? p.ldo : p.n;
    StrideC sc{};
    if constexpr (Cfg::kResidual) cute::get<0>(sc) = p.ldr ? p.ldr : p.n;

    typename Gemm::Arguments a{};
    a.mode = cutlass::gemm::GemmUniversalMode::kGemm;
    a.problem_shape = {int(p.m), int(p.n), int(p.k), 1};
    a.mainloop.ptr_A = static_cast<const ElementA*>(p.a);
    a.mainloop.dA = sa;
    a.mainloop.ptr_B = static_cast<const ElementB*>(p.b);
    a.mainloop.dB = sb;
    a.epilogue.ptr_C = static_cast<const ElementD*>(p.residual);
    a.epilogue.dC = sc;
    a.epilogue.ptr_D = static_cast<ElementD*>(p.out);
    a.epilogue.dD = sd;
    const EpilogueFlags flags{p.bias != nullptr, p.gelu};
    if constexpr (Cfg::kResidual)
      a.epilogue.thread = {{}, {p.sw}, {p.sx}, {p.bias}, {}, flags};
    else
      a.epilogue.thread = {{}, {p.sw}, {p.sx}, {p.bias}, flags};
    LOWBIT_CUDA_CHECK(cudaGetDevice(&a.hw_info.device_id));
    a.hw_info.sm_count = sms;
    return a;
  }

  static size_t workspace(const IntGemmParams& p, int sms) {
    return Gemm::get_workspace_size(arguments(p, sms));
  }

  static void run(const IntGemmParams& p, int sms) {
    typename Gemm::Arguments a = arguments(p, sms);
    Gemm gemm;
    if (Gemm::can_implement(a) != cutlass::Status::kSuccess)
      fail("int_gemm (cutlass): CUTLASS rejects M=", p.m, " N=", p.n, " K=", p.k);
    const size_t ws = Gemm::get_workspace_size(a);
    if (ws > p.workspace_bytes || (ws > 0 && !p.workspace))
      fail("int_gemm (cutlass): needs a workspace of ", ws, " bytes");
    cutlass::Status s = gemm.initialize(a, p.workspace, p.stream);
    if (s != cutlass::Status::kSuccess)
      fail("int_gemm (cutlass): initialize failed: ", cutlassGetStatusString(s));
    s = gemm.run(p.stream);
    if (s != cutlass::Status::kSuccess)
      fail("int_gemm (cutlass): launch failed: ", cutlassGetStatusString(s));
    LOWBIT_CUDA_LAUNCHED("cutlass_gemm");
  }
};

}  // namespace lowbit::cuda::cutlass90
