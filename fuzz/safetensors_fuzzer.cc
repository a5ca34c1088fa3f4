// safetensors loading into a small parameter buffer: a convolution's weight
// and bias, named as the models name them (the seeds hold these tensors).
#include <cstdint>
#include <map>
#include <string>

#include "core/parameter_buffer.h"
#include "core/safetensors.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const twophase::fuzz::TempDir dir;
  const std::string path = dir.Write("model.safetensors", data, size);
  twophase::ParameterBuffer params;
  params.Add("conv1.weight", {2, 1, 2, 2});
  params.Add("conv1.bias", {2});
  std::map<std::string, std::string> metadata;
  std::string error;
  const bool ok = twophase::LoadSafetensors(path, &params, &metadata, &error);
  twophase::fuzz::CheckError(ok, error, path);
  return 0;
}
