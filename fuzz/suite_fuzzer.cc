// The suite loader: LoadSuite (what `twophase run` calls), then the cell
// expansion that runs on a loaded suite.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "harness/suite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const twophase::fuzz::TempDir dir;
  const std::string path = dir.Write("suite.json", data, size);
  twophase::Suite suite;
  std::string error;
  const bool ok = twophase::LoadSuite(path, &suite, &error);
  twophase::fuzz::CheckError(ok, error, path);
  if (ok && twophase::ExpandCells(suite).empty()) __builtin_trap();  // every axis is non-empty
  return 0;
}
