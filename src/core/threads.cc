#include "core/threads.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace lowbit {

namespace {
int default_threads() {
  if (const char* env = std::getenv("LOWBIT_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? int(hw) : 1;
}
int g_threads = 0;
}  // namespace

void set_num_threads(int n) {
  if (n <= 0) fail("thread count must be positive, got ", n);
  g_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() {
  if (g_threads == 0) set_num_threads(default_threads());
  return g_threads;
}

}  // namespace lowbit
