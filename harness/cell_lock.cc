#include "harness/cell_lock.h"

#include <filesystem>

#include "harness/runner.h"

namespace twophase {

CellClaim ClaimCell(const std::string& out_dir, const std::string& id, bool resume, FileLock* lock,
                    std::string* why) {
  namespace fs = std::filesystem;
  const std::string dir = out_dir + "/cells/" + id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *why = dir + ": cannot create: " + ec.message();
    return CellClaim::kError;
  }
  std::string holder;
  if (!lock->Acquire(dir + "/run.lock", why, &holder)) {
    if (holder.empty()) return CellClaim::kError;
    *why = "being run by " + holder + "; left to it";
    return CellClaim::kBusy;
  }
  if (!resume && fs::exists(dir + "/metadata.json", ec)) {
    lock->Release();
    *why = "written by another run since this one started (status " + ReadCellStatus(out_dir, id) +
           "); left to it (--resume checks it)";
    return CellClaim::kBusy;
  }
  return CellClaim::kOurs;
}

}  // namespace twophase
