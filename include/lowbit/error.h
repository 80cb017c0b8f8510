// Every lowbit failure is a lowbit::Error whose message names the file, tensor or field at
// fault, on one line.
#pragma once

#include <stdexcept>
#include <string>

namespace lowbit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace lowbit
