// The oneDNN backend ("onednn"): every op of core/backend.h on oneDNN
// primitives (matmul, convolution, pooling, eltwise, softmax, layer
// normalization), created once per shape and cached.
//
// Where it differs from the BLAS backend (both are checked against each
// other by core/backend_consistency_test.cc):
//  - Rounding: oneDNN's own GEMM kernels and blockings sum in other orders
//    (in float, where the BLAS backend sums some reductions in double), and
//    its GELU uses its own erf polynomial; results agree to float rounding
//    (about 1e-6 relative), not bitwise.
//  - NaN: oneDNN's ReLU (max(x, 0)) maps NaN to 0 and its max-pool never
//    picks a NaN, where PyTorch (and the BLAS backend) propagate it. Finite
//    inputs are unaffected; a diverged run still shows NaN in its loss once
//    the weights are NaN, but a NaN confined to activations can be hidden.
//  - Max-pool backward runs the forward again (oneDNN needs its workspace,
//    the interface passes x).
//  - Max-pool ties go to the first maximum in row-major window order, as in
//    PyTorch (oneDNN replaces the running maximum only on a strictly larger
//    value); core/onednn_backend_test.cc checks it.
#ifndef TWOPHASE_CORE_ONEDNN_BACKEND_H_
#define TWOPHASE_CORE_ONEDNN_BACKEND_H_

#include <memory>
#include <string>

#include "core/backend.h"

namespace twophase {

std::unique_ptr<Backend> MakeOnednnBackend();

// "oneDNN 2.6.3 (commit ...)": the library actually loaded, for run metadata.
std::string OnednnVersion();

// The settings that results depend on, for run metadata: CPU runtime, the
// instruction set oneDNN dispatches to, the floating-point math mode, and
// how determinism is obtained (see onednn_backend.cc).
std::string OnednnSettingsDescription();

}  // namespace twophase

#endif  // TWOPHASE_CORE_ONEDNN_BACKEND_H_
