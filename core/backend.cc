// The backend factory: every backend by name.
#include "core/backend.h"

#include <string>

#include "core/onednn_backend.h"

namespace twophase {

std::vector<std::string> BackendNames() { return {"blas", "onednn"}; }

std::unique_ptr<Backend> MakeBackend(std::string_view name, std::string* error) {
  if (name == "blas") return MakeBlasBackend();
  if (name == "onednn") return MakeOnednnBackend();
  if (error != nullptr) {
    std::string known;
    for (const std::string& n : BackendNames()) {
      if (!known.empty()) known += ", ";
      known += n;
    }
    *error = "unknown backend '" + std::string(name) + "' (known: " + known + ")";
  }
  return nullptr;
}

}  // namespace twophase
