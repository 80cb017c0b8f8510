#include "core/arena.h"

#include <algorithm>

#include "core/device_memory.h"

namespace lowbit {

namespace {
constexpr size_t kAlign = 256;
size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Tensor Arena::take(std::vector<int64_t> shape, DType dtype) {
  const size_t bytes = aligned(std::max<size_t>(size_t(shape_numel(shape)) * dtype_size(dtype), 1));
  while (slab_ < slabs_.size() && offset_ + bytes > slabs_[slab_].bytes) {
    ++slab_;
    offset_ = 0;
  }
  if (slab_ == slabs_.size()) {
    if (frozen_)
      fail("arena on ", device_.str(), ": a pass asked for more memory than the first run of ",
           "its shape (", bytes, " bytes more) while a CUDA graph was being captured");
    const size_t last = slabs_.empty() ? 0 : slabs_.back().bytes;
    const size_t size = aligned(std::max({bytes, 2 * last, size_t(1) << 20}));
    slabs_.push_back({device_alloc(device_, size, "activations"), size});
    offset_ = 0;
  }
  Slab& s = slabs_[slab_];
  void* p = static_cast<char*>(s.mem.get()) + offset_;
  offset_ += bytes;
  used_ += bytes;
  high_water_ = std::max(high_water_, used_);
  return Tensor::view(p, std::move(shape), dtype, device_, s.mem);
}

void Arena::reset() {
  slab_ = 0;
  offset_ = 0;
  used_ = 0;
}

size_t Arena::capacity() const {
  size_t n = 0;
  for (const Slab& s : slabs_) n += s.bytes;
  return n;
}

bool Arena::reserve(size_t bytes) {
  if (slabs_.size() == 1 && slabs_[0].bytes >= bytes) return false;
  const size_t size = aligned(std::max(bytes, capacity()));
  slabs_.clear();
  slabs_.push_back({device_alloc(device_, size, "activations"), size});
  reset();
  return true;
}

bool Arena::consolidate() {
  if (slabs_.size() <= 1) return false;
  return reserve(std::max(capacity(), high_water_));
}

}  // namespace lowbit
