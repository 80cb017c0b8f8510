// Thread count for the CPU backend (OpenMP loops and the BLAS). Default: the LOWBIT_NUM_THREADS
// environment variable, else every hardware thread.
#pragma once

namespace lowbit {
void set_num_threads(int n);
int num_threads();
}  // namespace lowbit
