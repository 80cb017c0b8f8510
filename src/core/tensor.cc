#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/device_memory.h"

namespace lowbit {

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension in shape ", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail("shape ", shape_str(shape), " overflows");
    n *= d;
  }
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

Tensor Tensor::empty(std::vector<int64_t> shape, DType dtype, Device device) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = device_alloc(device, t.nbytes(), "a tensor");
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::zeros(std::vector<int64_t> shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  fill_memory(t.data_, device, 0, t.nbytes());
  return t;
}

Tensor Tensor::view(void* data, std::vector<int64_t> shape, DType dtype, Device device,
                    std::shared_ptr<void> owner) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshape(std::vector<int64_t> shape) const {
  if (shape_numel(shape) != numel_) fail("cannot reshape ", describe(), " to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  if (rank() < 1 || begin < 0 || end < begin || end > shape_[0])
    fail("rows [", begin, ", ", end, ") out of range of ", describe());
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.numel_ = shape_numel(t.shape_);
  const size_t row_bytes = shape_[0] ? nbytes() / size_t(shape_[0]) : 0;
  t.data_ = static_cast<char*>(data_) + size_t(begin) * row_bytes;
  return t;
}

Tensor Tensor::to(Device device, void* stream) const {
  if (device == device_) return *this;
  Tensor t = empty(shape_, dtype_, device);
  copy_memory(t.data_, device, data_, device_, nbytes(), stream);
  return t;
}

std::string Tensor::describe() const {
  std::string s = shape_str(shape_) + " " + std::string(dtype_name(dtype_));
  if (!device_.is_cpu()) s += " " + device_.str();
  return s;
}

}  // namespace lowbit
