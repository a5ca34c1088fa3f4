// The CIFAR binary reader, as CIFAR-10 (1 label byte per record) and as
// CIFAR-100 (coarse and fine label bytes); gzip content is decompressed.
#include <cstdint>
#include <string>

#include "datasets/dataset.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const twophase::fuzz::TempDir dir;
  const std::string path = dir.Write("data_batch_1.bin", data, size);
  for (const int64_t classes : {10, 100}) {
    twophase::Dataset out;
    std::string error;
    const bool ok = twophase::ReadCifarFiles({path}, classes, &out, &error);
    twophase::fuzz::CheckError(ok, error, path);
    if (ok) {
      if (out.images.size() != static_cast<size_t>(out.count * out.image_size())) __builtin_trap();
      for (int32_t label : out.labels) {
        if (label < 0 || label >= classes) __builtin_trap();
      }
    }
  }
  return 0;
}
