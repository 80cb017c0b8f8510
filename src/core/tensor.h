// A tensor: contiguous, row-major, on a device (host memory for the CPU, device memory for a
// CUDA GPU). Kernels take raw pointers and sizes, never this type; ops validate tensors (shape,
// dtype, device) and dispatch on their device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"

namespace lowbit {

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage on `device` (host: 64-byte aligned; CUDA: 256-byte aligned).
  static Tensor empty(std::vector<int64_t> shape, DType dtype = DType::F32,
                      Device device = Device::cpu());
  static Tensor zeros(std::vector<int64_t> shape, DType dtype = DType::F32,
                      Device device = Device::cpu());
  // A view of memory owned elsewhere (an arena's slab, kept alive by `owner`).
  static Tensor view(void* data, std::vector<int64_t> shape, DType dtype, Device device,
                     std::shared_ptr<void> owner = nullptr);

  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return int(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }
  bool defined() const { return data_ != nullptr; }

  template <typename T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }

  // Same storage, new shape with the same element count.
  Tensor reshape(std::vector<int64_t> shape) const;
  // Rows [begin, end) of dim 0: a view of the same storage.
  Tensor rows(int64_t begin, int64_t end) const;
  // A copy on `device` (this tensor itself when it is there already); `stream` as copy_memory.
  Tensor to(Device device, void* stream = nullptr) const;
  // "[384, 1536] F32" (and " cuda:0" off the host)
  std::string describe() const;

 private:
  std::shared_ptr<void> storage_;  // keeps the memory alive
  void* data_ = nullptr;
  std::vector<int64_t> shape_;
  DType dtype_ = DType::F32;
  Device device_;
  int64_t numel_ = 0;
};

// Number of elements of `shape`; throws on negative dimensions or overflow.
int64_t shape_numel(const std::vector<int64_t>& shape);
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace lowbit
