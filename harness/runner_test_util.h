// Helpers of the runner's tests: a tiny three-cell suite, temporary
// folders, and comparisons of result directories that ignore wall times.
#ifndef TWOPHASE_HARNESS_RUNNER_TEST_UTIL_H_
#define TWOPHASE_HARNESS_RUNNER_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli_test_util.h"
#include "core/atomic_file.h"
#include "harness/runner.h"
#include "training/results_format.h"

namespace twophase {
namespace runner_test {

namespace fs = std::filesystem;
using nlohmann::json;

// Three cells of a tiny model on 64 MNIST images: quick, and every
// algorithm and the swap are exercised.
inline std::string TinySuite(int epochs = 3, const std::string& extra_algorithm = "") {
  return R"({
  "name": "tiny",
  "models": ["vit-nomlp-wkewq-wvwo"],
  "datasets": ["mnist"],
  "subset": 64,
  "test_subset": 32,
  "algorithms": [
    {"optimizer": "adam", "lr": 0.003, "batch": 16},
    {"optimizer": "two-phase", "lr": 0.003, "batch": 16, "swap_epoch": 1},
    {"optimizer": "cg"})" +
         extra_algorithm + R"(
  ],
  "threads": 1,
  "micro_batch": 8,
  "budget": {"epochs": )" +
         std::to_string(epochs) + R"(},
  "target_loss": 0.09
})";
}

inline std::string TempDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("twophase_runner_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// curve.csv without its three wall-time columns (the last three).
inline std::string WithoutWallTimes(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  std::vector<bool> wall;  // by column, from the header
  for (bool header = true; std::getline(in, line); header = false) {
    std::vector<std::string> fields;
    std::istringstream split(line + ",");
    for (std::string f; std::getline(split, f, ',');) fields.push_back(f);
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string& f = fields[i];
      if (header) {
        wall.push_back(IsWallTimeColumnName(f));
      }
      const bool blank = !header && i < wall.size() && wall[i];
      out += (i > 0 ? "," : "") + (blank ? std::string() : f);
    }
    out += "\n";
  }
  return out;
}

// metadata.json without what legitimately differs between reruns (and the
// git state: a test may race a commit).
inline json StableMetadata(const std::string& path) {
  json m = json::parse(Slurp(path));
  m.erase("start");
  m.erase("end");
  m["suite"].erase("file");  // the same suite may be read from another path
  if (m.contains("final")) m["final"].erase("wall_seconds");
  m.erase("checkpoints");  // their cost, like wall times
  m["environment"].erase("git_dirty");
  // Speed only: this test process and a `twophase` child wait differently.
  m["environment"].erase("openmp_waiting");
  return m;
}

// A finished cell's trained parameters, byte for byte (their metadata
// included); a cell without them in `a` has none in `b`.
inline void ExpectSameFinalParameters(const std::string& da, const std::string& db) {
  const std::string file = std::string("/") + kFinalParametersFile;
  ASSERT_EQ(fs::exists(da + file), fs::exists(db + file)) << db;
  EXPECT_TRUE(Slurp(da + file) == Slurp(db + file)) << db << file << " differs";
}

inline void ExpectSameResults(const std::string& a, const std::string& b, const std::string& id) {
  const std::string da = a + "/cells/" + id, db = b + "/cells/" + id;
  ExpectSameFinalParameters(da, db);
  EXPECT_EQ(WithoutWallTimes(Slurp(da + "/curve.csv")), WithoutWallTimes(Slurp(db + "/curve.csv")))
      << id;
  EXPECT_EQ(Slurp(da + "/events.json"), Slurp(db + "/events.json")) << id;
  EXPECT_EQ(StableMetadata(da + "/metadata.json"), StableMetadata(db + "/metadata.json")) << id;
}

inline json EventsWithoutResumes(const std::string& path) {
  json events = json::parse(Slurp(path));
  json kept = json::array();
  for (const json& e : events["events"]) {
    if (e["kind"] != "resume") kept.push_back(e);
  }
  events["events"] = kept;
  return events;
}

inline int Resumes(const std::string& path) {
  int n = 0;
  const json events = json::parse(Slurp(path));
  for (const json& e : events["events"]) n += e["kind"] == "resume";
  return n;
}

// A cell of `b` that may have been resumed has the reference `a`'s
// numbers, its resume events and checkpoint record aside, and no
// checkpoints left; returns the resumes it went through.
inline int ExpectResumedLikeReference(const std::string& a_dir, const std::string& b_dir,
                                      const std::string& id) {
  SCOPED_TRACE(id);
  const std::string a = a_dir + "/cells/" + id, b = b_dir + "/cells/" + id;
  EXPECT_EQ(WithoutWallTimes(Slurp(a + "/curve.csv")), WithoutWallTimes(Slurp(b + "/curve.csv")));
  EXPECT_EQ(EventsWithoutResumes(a + "/events.json"), EventsWithoutResumes(b + "/events.json"));
  json meta = StableMetadata(b + "/metadata.json");
  meta.erase("checkpoint");
  EXPECT_EQ(StableMetadata(a + "/metadata.json"), meta);
  EXPECT_TRUE(fs::exists(b + "/" + kFinalParametersFile));
  ExpectSameFinalParameters(a, b);
  EXPECT_FALSE(fs::exists(b + "/checkpoint.bin"));
  EXPECT_FALSE(fs::exists(b + "/checkpoint.prev.bin"));
  return Resumes(b + "/events.json");
}

inline bool RunTiny(const std::string& text, const std::string& out, bool resume,
                    RunSummary* summary, std::string* error) {
  Suite suite;
  if (!ParseSuite(text, "tiny.json", &suite, error)) return false;
  RunOptions options;
  options.out_dir = out;
  options.resume = resume;
  options.log = stdout;
  return RunSuite(suite, options, summary, error);
}

inline const char* kIds[] = {"mnist.vit-nomlp-wkewq-wvwo.adam.blas.s0",
                             "mnist.vit-nomlp-wkewq-wvwo.two-phase.blas.s0",
                             "mnist.vit-nomlp-wkewq-wvwo.cg.blas.s0"};

// One reference run of TinySuite() shared by a test suite's tests (each cell
// takes a moment).
class TinyReferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reference_ = new std::string(TempDir("reference"));
    RunSummary summary;
    std::string error;
    ASSERT_TRUE(RunTiny(TinySuite(), *reference_, false, &summary, &error)) << error;
    ASSERT_EQ(summary.completed + summary.stalled, 3) << "cells did not all finish";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*reference_);
    delete reference_;
  }
  static inline std::string* reference_ = nullptr;
};

// Starts `twophase run --suite <suite> --out <out> <extra...>` as a user
// would, in a child process whose output is discarded; returns its pid (-1
// if fork failed), for the tests that kill a run.
inline pid_t StartTwophaseRun(const std::string& suite, const std::string& out,
                              const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"run", "--suite", suite, "--out", out};
  args.insert(args.end(), extra.begin(), extra.end());
  return StartTwophase(args);
}

// A copy of MNIST under dir/data with every file present and the training
// images cut in half: loading it fails, as with a disk that filled up.
// Returns the data folder ("" after a failed assertion).
inline std::string CorruptMnistCopy(const std::string& dir) {
  const std::string data = dir + "/data";
  fs::create_directories(data + "/mnist");
  const fs::path mnist = fs::path(TWOPHASE_SOURCE_DIR) / "data" / "mnist";
  std::string images_name;
  for (const auto& entry : fs::directory_iterator(mnist)) {
    const std::string copy = data + "/mnist/" + entry.path().filename().string();
    fs::copy(entry.path(), copy);
    if (copy.find("train-images") != std::string::npos) images_name = copy;
  }
  EXPECT_FALSE(images_name.empty());
  if (images_name.empty()) return "";
  const std::string bytes = Slurp(images_name);
  std::string error;
  EXPECT_TRUE(WriteFileAtomically(images_name, bytes.substr(0, bytes.size() / 2), &error)) << error;
  return data;
}

}  // namespace runner_test
}  // namespace twophase

#endif  // TWOPHASE_HARNESS_RUNNER_TEST_UTIL_H_
