// safetensors reading (memory-mapped, fully validated) and writing.
//
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON (an object: tensor name
// -> {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional "__metadata__" object of
// string -> string), then the data section. Offsets are relative to the data section.
// The reader rejects, with a message naming the file and tensor: a file shorter than 8 bytes, a
// header length beyond the file or above 100 MB, invalid JSON, a non-object header, an unknown
// dtype, a negative or non-integer shape entry, a byte range whose size differs from
// product(shape) * dtype_size (overflow-checked), a range outside the data section, ranges that
// overlap each other, duplicate names, and a "__metadata__" that is not an object of strings.
// Gaps between tensors and bytes after the last one are allowed (some writers pad).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace lowbit {

struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;  // points into the mapping; valid while the file lives

  int64_t numel() const;
};

class SafeTensors {
 public:
  // Memory-maps `path` (read-only) and validates it. Throws lowbit::Error.
  static SafeTensors open(const std::string& path);
  // Parses an in-memory buffer (copied). `label` names it in error messages.
  static SafeTensors from_bytes(std::span<const std::byte> data, const std::string& label);

  SafeTensors(SafeTensors&&) noexcept;
  SafeTensors& operator=(SafeTensors&&) noexcept;
  ~SafeTensors();

  const std::string& path() const { return path_; }
  // Tensors in file order (by data offset).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorView* find(std::string_view name) const;
  // Throws lowbit::Error naming the file and tensor when absent.
  const TensorView& at(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  size_t file_size() const { return size_; }

 private:
  SafeTensors() = default;
  void parse();

  std::string path_;
  struct Mapping;
  std::unique_ptr<Mapping> map_;
  const std::byte* base_ = nullptr;
  size_t size_ = 0;
  std::vector<TensorView> tensors_;
  std::vector<uint32_t> by_name_;  // indices into tensors_, sorted by name, for find()
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;  // must be product(shape) * dtype_size bytes
};

// Writes a safetensors file: tensors in the given order with consecutive offsets, the header
// padded with spaces so that the data section starts 8-aligned in the file.
// Writes to `path`.tmp and renames, so a crash never leaves a half-written file.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace lowbit
