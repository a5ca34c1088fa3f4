// Tuning knobs of the OpenBLAS backend (core/backend.h has the interface and
// MakeBlasBackend() with the defaults). Only tests and benchmarks need this.
#ifndef TWOPHASE_CORE_BLAS_BACKEND_H_
#define TWOPHASE_CORE_BLAS_BACKEND_H_

#include <cstdint>
#include <memory>

#include "core/backend.h"

namespace twophase {

struct BlasBackendOptions {
  // The convolutions split the batch into one share per thread, and each
  // thread unfolds (im2col) a chunk of its share at a time so that one GEMM
  // covers many images; a chunk's unfolded images and its [cout, chunk*h*w]
  // GEMM output each take at most this many bytes (but a chunk holds at
  // least one image). Chunks that stay in a core's cache are fastest; the
  // results depend on the size only through the order in which the weight
  // gradient is summed over the chunks.
  int64_t max_chunk_bytes = int64_t{4} << 20;
};

std::unique_ptr<Backend> MakeBlasBackend(const BlasBackendOptions& options);

}  // namespace twophase

#endif  // TWOPHASE_CORE_BLAS_BACKEND_H_
