// A result cell's curve.csv, read as `report` reads it.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "harness/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const twophase::fuzz::TempDir dir;
  const std::string path = dir.Write("curve.csv", data, size);
  std::vector<twophase::CurveRow> rows;
  std::string error;
  const bool ok = twophase::ReadCurveCsv(path, &rows, &error);
  twophase::fuzz::CheckError(ok, error, path);
  for (size_t i = 0; ok && i < rows.size(); ++i) {
    if (i > 0 && rows[i].epoch <= rows[i - 1].epoch) __builtin_trap();  // epochs strictly increase
    // An unevaluated epoch (empty cells, eval_every) has no numbers to average.
    if (!rows[i].evaluated && !std::isnan(rows[i].train_loss)) __builtin_trap();
  }
  return 0;
}
