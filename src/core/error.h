// Errors: every failure is a lowbit::Error whose message names the file, tensor or field at
// fault. Library code never calls exit(); the CLI turns an Error into a one-line message and a
// non-zero status.
#pragma once

#include "lowbit/error.h"

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit {

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// Throws lowbit::Error with the concatenation of the arguments.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace lowbit

// Internal invariant checks (programming errors, not bad input): the message carries file:line.
#define LOWBIT_CHECK(cond, ...)                                                            \
  do {                                                                                     \
    if (!(cond))                                                                           \
      ::lowbit::fail(__FILE__, ":", __LINE__, ": check failed: " #cond ": ", __VA_ARGS__); \
  } while (0)
