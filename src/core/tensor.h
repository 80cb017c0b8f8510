// A minimal owning tensor: contiguous, row-major, host memory (the CUDA backend gets its own
// buffers; kernels take raw pointers and strides, never this type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace lowbit {

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage, 64-byte aligned.
  static Tensor empty(std::vector<int64_t> shape, DType dtype = DType::F32);
  static Tensor zeros(std::vector<int64_t> shape, DType dtype = DType::F32);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return int(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }
  bool defined() const { return storage_ != nullptr; }

  template <typename T>
  T* data() {
    return static_cast<T*>(storage_.get());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(storage_.get());
  }

  // Same storage, new shape with the same element count.
  Tensor reshape(std::vector<int64_t> shape) const;
  // "[384, 1536] F32"
  std::string describe() const;

 private:
  std::shared_ptr<void> storage_;
  std::vector<int64_t> shape_;
  DType dtype_ = DType::F32;
  int64_t numel_ = 0;
};

// Number of elements of `shape`; throws on negative dimensions or overflow.
int64_t shape_numel(const std::vector<int64_t>& shape);
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace lowbit
