// Activation memory for forward passes on one device: a bump allocator reset at the start of each
// pass. The same sequence of requests after a reset gets the same addresses, which is what lets
// a captured CUDA graph be replayed: the kernels it recorded read and write the same buffers.
//
// A pass that outgrows the slabs gets a new slab (never during graph capture: the Session runs a
// shape eagerly before capturing it). consolidate(), between passes, replaces several slabs by
// one of their total size and reports it, so that the Session drops the graphs that still hold
// the old addresses.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace lowbit {

class Arena {
 public:
  explicit Arena(Device device) : device_(device) {}
  Device device() const { return device_; }

  // Uninitialised [shape] of `dtype`, 256-byte aligned, valid until the next reset().
  Tensor take(std::vector<int64_t> shape, DType dtype);
  // Start of a pass: every earlier take() may be handed out again.
  void reset();
  // Makes sure the next passes fit one slab of at least `bytes` (a reservation before timing).
  // Returns true when memory was reallocated (addresses changed).
  bool reserve(size_t bytes);
  // Several slabs -> one of their total size; true when addresses changed.
  bool consolidate();
  // While true, take() throws instead of allocating (graph capture).
  void set_frozen(bool frozen) { frozen_ = frozen; }

  size_t capacity() const;        // bytes in all slabs
  size_t high_water() const { return high_water_; }  // most bytes one pass took

 private:
  struct Slab {
    std::shared_ptr<void> mem;
    size_t bytes = 0;
  };
  Device device_;
  std::vector<Slab> slabs_;
  size_t slab_ = 0, offset_ = 0, used_ = 0, high_water_ = 0;
  bool frozen_ = false;
};

}  // namespace lowbit
