// The IDX reader (MNIST, Fashion-MNIST), raw or gzip: the same entry point
// LoadDataset uses, which detects gzip by its magic bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const twophase::fuzz::TempDir dir;
  const std::string path = dir.Write("input-ubyte", data, size);
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
  std::string error;
  const bool ok = twophase::ReadIdxFile(path, &dims, &bytes, &error);
  twophase::fuzz::CheckError(ok, error, path);
  if (ok) {
    // The payload is exactly the product of the dimensions.
    size_t expected = 1;
    for (int64_t d : dims) expected *= static_cast<size_t>(d);
    if (expected != bytes.size()) __builtin_trap();
  }
  return 0;
}
