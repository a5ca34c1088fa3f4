// What a result needs to be reproduced and compared: the code (git commit,
// whether the tree had local changes), the build (compiler, flags, build
// type), the libraries (OpenBLAS, oneDNN, Eigen, Boost, nlohmann-json), the
// machine (CPU model, core count, host) and the thread count -- recorded in
// every run's metadata.json (results/README.md).
#ifndef TWOPHASE_HARNESS_ENVIRONMENT_H_
#define TWOPHASE_HARNESS_ENVIRONMENT_H_

#include <nlohmann/json.hpp>
#include <string>

namespace twophase {

// Collected once per process (git and /proc are read at the first call).
const nlohmann::json& RunEnvironment();

// The first "model name" of /proc/cpuinfo, or "unknown".
std::string CpuModel();

// UTC now as 2026-11-29T11:20:00Z.
std::string UtcNow();

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_ENVIRONMENT_H_
