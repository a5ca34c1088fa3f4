// Shared by the libFuzzer targets: the readers take paths, so each input is
// written to a file in a per-process temporary folder (removed at exit), and
// every failure must come with an error that names the file.
#ifndef TWOPHASE_FUZZ_FUZZ_UTIL_H_
#define TWOPHASE_FUZZ_FUZZ_UTIL_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace twophase::fuzz {

// A folder of its own for this process, so that parallel fuzzers (-jobs,
// several targets) never share files.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/twophase-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `size` bytes to <dir>/<name> (creating folders) and returns the
  // path.
  std::string Write(const std::string& name, const uint8_t* data, size_t size) const {
    const std::filesystem::path file = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
      std::perror(file.c_str());
      std::abort();
    }
    return file.string();
  }

 private:
  std::string path_;
};

// The oracle beyond "no crash": a reader that fails must say why, naming the
// file (`path`, or a file in the folder `path`). A silent or anonymous
// failure aborts (libFuzzer reports it).
inline void CheckError(bool ok, const std::string& error, const std::string& path) {
  if (ok) return;
  if (error.empty() || error.find(path) == std::string::npos) {
    std::fprintf(stderr, "reader failed with an error that does not name '%s': '%s'\n",
                 path.c_str(), error.c_str());
    std::abort();
  }
}

}  // namespace twophase::fuzz

#endif  // TWOPHASE_FUZZ_FUZZ_UTIL_H_
