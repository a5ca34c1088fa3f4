// A result cell's metadata.json, read as `report` reads it (ReadCell) and as
// `run --resume` reads its status (ReadCellStatus).
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "harness/report.h"
#include "harness/runner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const twophase::fuzz::TempDir dir;
  // The folder name of the seeds' first cell, so that a valid seed passes
  // the id check and ReadCell goes on to the (absent) curve.
  const std::string id = "mnist.vgg5.adam.onednn.s0";
  const std::string cell_dir = dir.path() + "/cells/" + id;
  dir.Write("cells/" + id + "/metadata.json", data, size);
  twophase::CellResult cell;
  std::string error;
  const bool ok = twophase::ReadCell(cell_dir, &cell, &error);
  // The error names metadata.json or the curve.csv it promises.
  twophase::fuzz::CheckError(ok, error, cell_dir);
  (void)twophase::ReadCellStatus(dir.path(), id);
  return 0;
}
