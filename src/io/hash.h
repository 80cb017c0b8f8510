// SHA-256 of files (OpenSSL's libcrypto): the content hashes a lowbit model's recipe.json records.
#pragma once

#include <string>

namespace lowbit {
// Lower-case hex digest; throws lowbit::Error naming the path when it cannot be read.
std::string sha256_file(const std::string& path);
}  // namespace lowbit
