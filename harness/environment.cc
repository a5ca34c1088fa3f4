#include "harness/environment.h"

#include <unistd.h>

#include <Eigen/Core>
#include <array>
#include <boost/version.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include "core/onednn_backend.h"
#include "core/openblas_kernel.h"
#include "core/threads.h"

#ifndef TWOPHASE_BUILD_TYPE
#define TWOPHASE_BUILD_TYPE "unknown"
#endif
#ifndef TWOPHASE_COMPILE_FLAGS
#define TWOPHASE_COMPILE_FLAGS "unknown"
#endif

namespace twophase {
namespace {

// stdout of a shell command, trailing newline removed; "" on failure.
std::string CommandOutput(const std::string& command) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  std::array<char, 256> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  if (pclose(pipe) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string Compiler() {
#if defined(__clang__)
  return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GNU ") + __VERSION__;
#else
  return "unknown";
#endif
}

nlohmann::json Collect() {
  nlohmann::json env;
  // The commit of the source tree the binary was built from, read at run
  // time (a configure-time value would go stale with every commit).
  const std::string git = "git -C '" + std::string(TWOPHASE_SOURCE_DIR) + "' ";
  const std::string commit = CommandOutput(git + "rev-parse HEAD 2>/dev/null");
  env["git_commit"] = commit.empty() ? "unknown" : commit;
  env["git_dirty"] =
      !commit.empty() &&
      !CommandOutput(git + "status --porcelain --untracked-files=no 2>/dev/null").empty();
  env["compiler"] = Compiler();
  env["flags"] = TWOPHASE_COMPILE_FLAGS;
  env["build_type"] = TWOPHASE_BUILD_TYPE;
  env["openblas"] = OpenBlasVersion();
  // The kernel changes the blas backend's last bits (core/openblas_kernel.h).
  const OpenBlasKernel kernel = CurrentOpenBlasKernel();
  env["openblas_kernel"] = {{"name", kernel.name},
                            {"chosen_by", KernelSourceName(kernel.source)},
                            {"description", kernel.Describe()}};
  env["openmp_waiting"] = OpenMpWaiting();  // speed only, never results
  env["onednn"] = OnednnVersion();
  env["onednn_settings"] = OnednnSettingsDescription();
  env["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                 "." + std::to_string(EIGEN_MINOR_VERSION);
  env["boost"] = std::to_string(BOOST_VERSION / 100000) + "." +
                 std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                 std::to_string(BOOST_VERSION % 100);
  env["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                         std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                         std::to_string(NLOHMANN_JSON_VERSION_PATCH);
  env["cpu"] = CpuModel();
  env["cores"] = std::thread::hardware_concurrency();
  char host[256] = {0};
  env["hostname"] = gethostname(host, sizeof(host) - 1) == 0 ? std::string(host) : "unknown";
  return env;
}

}  // namespace

const nlohmann::json& RunEnvironment() {
  static const nlohmann::json env = Collect();
  return env;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? "unknown" : line.substr(start);
      }
    }
  }
  return "unknown";
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace twophase
