// Synthetic result directories for the report's tests: cells written the
// way results/README.md specifies, with curves chosen so that every
// aggregate can be checked by hand.
#ifndef TWOPHASE_HARNESS_REPORT_TEST_UTIL_H_
#define TWOPHASE_HARNESS_REPORT_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/report.h"
#include "training/trainer.h"

namespace twophase {
namespace report_test {

namespace fs = std::filesystem;

struct FakeRow {
  Phase phase = Phase::kAdam;
  double train_loss, train_accuracy, test_loss, test_accuracy, gradient_norm;
  double forward_passes, wall_seconds;
};

struct FakeCell {
  std::string dataset = "mnist", model = "vgg5", algorithm = "adam", optimizer = "adam";
  std::string backend = "blas", status = "completed", message, loss = "mse";
  int64_t seed = 0, index = 0, epochs = 3;
  int64_t train_samples = 2000, test_samples = 1000, parameters = 167114, outputs = 10;
  bool sizes = true;  // false: a failed cell that never learned them
  std::optional<double> target = 0.15;
  std::optional<int64_t> swap;
  // The shadow detector's would-swap event; eval_every 0 leaves cell.eval_every
  // out of metadata.json, as the runner before the shadow detector did.
  std::optional<int64_t> would_swap;
  int64_t eval_every = 1;
  std::vector<FakeRow> rows;
  std::map<int64_t, CurvatureReading> probes;  // the curvature probe's readings, by epoch

  std::string Id() const {
    return dataset + "." + model + "." + algorithm + "." + backend + ".s" + std::to_string(seed);
  }
};

inline nlohmann::json SwapJson(const FakeCell& c) {
  using nlohmann::json;
  return c.swap ? json({{"epoch", *c.swap}, {"rule", "fixed-epoch"}, {"norm", 0.5}, {"max", 0.6}})
                : json(nullptr);
}

// Whether the runner has written events.json: at the end of an attempt.
inline bool HasEvents(const FakeCell& c) {
  return c.status != "running" && c.status != "failed" && c.status != "skipped";
}

// events.json as the runner writes it: the swap, the would-swap, the end.
inline nlohmann::json EventsJson(const FakeCell& c) {
  using nlohmann::json;
  json events = json::array();
  if (c.would_swap) {
    events.push_back({{"epoch", *c.would_swap},
                      {"kind", "would-swap"},
                      {"message", "Algorithm 1's detector would have swapped"}});
  }
  if (c.swap) {
    events.push_back({{"epoch", *c.swap}, {"kind", "swap"}, {"message", "swap to CG"}});
  }
  if (c.status == "diverged") {
    events.push_back(
        {{"epoch", static_cast<int64_t>(c.rows.size())}, {"kind", "diverged"}, {"message", "NaN"}});
  }
  return json{{"events", events}, {"swap", SwapJson(c)}};
}

inline nlohmann::json MetadataJson(const FakeCell& c) {
  using nlohmann::json;
  json cell = {{"id", c.Id()},
               {"index", c.index},
               {"count", 12},
               {"model", c.model},
               {"dataset", c.dataset},
               {"algorithm", c.algorithm},
               {"optimizer", c.optimizer},
               {"backend", c.backend},
               {"seed", c.seed},
               {"threads", 2},
               {"subset", c.train_samples},
               {"test_subset", c.test_samples},
               {"epochs", c.epochs},
               {"settings", {{"lr", 0.001}, {"batch", 512}, {"beta", "polak-ribiere+"}}}};
  cell["target_loss"] = c.target ? json(*c.target) : json(nullptr);
  if (c.eval_every > 0) cell["eval_every"] = c.eval_every;
  cell["loss"] = c.loss;
  if (c.sizes) {
    cell["parameters"] = c.parameters;
    cell["train_samples"] = c.train_samples;
    cell["test_samples"] = c.test_samples;
    cell["outputs"] = c.outputs;
  }
  json doc = {{"format", "twophase-run/1"},
              {"suite", {{"name", "unit"}, {"file", "suites/unit.json"}, {"sha256", "00"}}},
              {"cell", cell},
              {"status", c.status},
              {"message", c.message.empty() ? c.status : c.message},
              {"environment",
               {{"git_commit", "0123456789abcdef0123"},
                {"git_dirty", false},
                {"compiler", "GNU 12.2.0"},
                {"flags", "-O3 -march=native"},
                {"build_type", "Release"},
                {"openblas", "0.3.21"},
                {"eigen", "3.4.0"},
                {"cpu", "Test CPU @ 3 GHz"},
                {"cores", 2},
                {"hostname", "testhost"}}},
              {"start", "2026-01-01T00:00:0" + std::to_string(c.seed) + "Z"},
              {"end", "2026-01-01T00:01:0" + std::to_string(c.seed) + "Z"}};
  doc["swap"] = SwapJson(c);
  if (!c.rows.empty()) {
    const FakeRow& r = c.rows.back();
    // A diverged run's NaN becomes null, as nlohmann writes it.
    doc["final"] = {{"epoch", static_cast<int64_t>(c.rows.size())},
                    {"train_loss", r.train_loss},
                    {"train_accuracy", r.train_accuracy},
                    {"test_loss", r.test_loss},
                    {"test_accuracy", r.test_accuracy},
                    {"gradient_norm", r.gradient_norm},
                    {"wall_seconds", r.wall_seconds},
                    {"forward_passes", r.forward_passes},
                    {"backward_passes", r.forward_passes}};
  }
  return doc;
}

// curve.csv as the runner writes it, by the trainer's own EpochCsvRow.
inline std::string CurveCsv(const FakeCell& c) {
  std::string csv = CurveCsvHeader() + "\n";
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const FakeRow& r = c.rows[i];
    EpochRecord e;
    e.epoch = static_cast<int64_t>(i) + 1;
    e.phase = r.phase;
    e.train_loss = r.train_loss;
    e.train_accuracy = r.train_accuracy;
    e.test_loss = r.test_loss;
    e.test_accuracy = r.test_accuracy;
    e.gradient_norm = r.gradient_norm;
    e.step_size = 0.001;
    e.forward_passes = e.backward_passes = r.forward_passes;
    e.seconds = 1;
    e.eval_seconds = std::isnan(r.train_accuracy) ? 0 : 0.1;
    e.wall_seconds = r.wall_seconds;
    const auto probe = c.probes.find(e.epoch);
    if (probe != c.probes.end()) e.curvature = probe->second;
    csv += EpochCsvRow(e) + "\n";
  }
  return csv;
}

// What eval_every leaves of a curve: the rows of epochs other than the
// first, the last, the swap and every `every`-th have NaN losses and
// accuracies, written as empty cells.
inline void SkipEvaluations(FakeCell* c, int64_t every) {
  const int64_t last = static_cast<int64_t>(c->rows.size());
  for (int64_t epoch = 1; epoch <= last; ++epoch) {
    if (epoch == 1 || epoch == last || epoch % every == 0 || epoch == c->swap) continue;
    FakeRow& r = c->rows[epoch - 1];
    r.train_loss = r.train_accuracy = r.test_loss = r.test_accuracy = std::nan("");
  }
}

inline void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes cells/<id>/metadata.json, curve.csv when the cell has rows and
// events.json when its attempt ended (HasEvents).
inline void WriteCell(const fs::path& dir, const FakeCell& c) {
  const fs::path folder = dir / "cells" / c.Id();
  WriteText(folder / "metadata.json", MetadataJson(c).dump(2) + "\n");
  if (!c.rows.empty()) WriteText(folder / "curve.csv", CurveCsv(c));
  if (HasEvents(c)) WriteText(folder / "events.json", EventsJson(c).dump(2) + "\n");
}

// A fresh, empty folder under the temporary directory.
inline fs::path MakeTempDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("twophase_report_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Rows of the given phases and training losses: epoch e has wall seconds
// e + wall_shift and e forward passes (+4 for each CG epoch); accuracies are
// train 1 - loss, test 0.9 - loss, and a diverged epoch's (NaN loss) 0.1 and
// 0, finite as the trainer's argmax makes them.
inline std::vector<FakeRow> FakeRows(const std::vector<std::string>& phases,
                                     const std::vector<double>& losses, double wall_shift) {
  std::vector<FakeRow> out;
  double passes = 0;
  for (size_t i = 0; i < losses.size(); ++i) {
    FakeRow row;
    std::string error;
    if (!ParsePhase(phases[i], &row.phase, &error)) throw std::invalid_argument(error);
    passes += row.phase == Phase::kCg ? 5 : 1;
    const double l = losses[i];
    const double accuracy_loss = std::isnan(l) ? 0.9 : l;
    out.push_back({row.phase, l, 1 - accuracy_loss, l + 0.02, 0.9 - accuracy_loss, 0.1 * (i + 1),
                   passes, static_cast<double>(i + 1) + wall_shift});
  }
  return out;
}

// The sample suite "unit" on mnist x vgg5 x blas, target loss 0.15:
//   adam s0       completed, losses 0.5 0.2 0.1   (reaches the target at epoch 3;
//                 Algorithm 1 would have swapped after epoch 2)
//   adam s1       completed, losses 0.5 0.4 0.3   (never reaches it; would never swap)
//   two-phase s0  completed, swap 2, losses 0.5 0.12 0.05 (target at epoch 2)
//   two-phase s1  completed, swap 1, losses 0.3 0.1 0.03  (target at epoch 2)
//   cg s0 diverged (NaN at epoch 2); cg s1 running (no epoch yet)
//   two-phase-golden s0 failed before its data loaded
// Rows by FakeRows, wall seconds shifted by 0.5 for seed 1.
inline std::vector<FakeCell> SampleCells() {
  std::vector<FakeCell> cells(7);
  cells[0].rows = FakeRows({"adam", "adam", "adam"}, {0.5, 0.2, 0.1}, 0);
  cells[0].would_swap = 2;
  cells[1].seed = 1;
  cells[1].rows = FakeRows({"adam", "adam", "adam"}, {0.5, 0.4, 0.3}, 0.5);
  for (int i : {2, 3}) {
    cells[i].algorithm = cells[i].optimizer = "two-phase";
    cells[i].index = 1;
  }
  cells[2].swap = 2;
  cells[2].rows = FakeRows({"adam", "adam", "cg"}, {0.5, 0.12, 0.05}, 0);
  cells[3].seed = 1;
  cells[3].swap = 1;
  cells[3].rows = FakeRows({"adam", "cg", "cg"}, {0.3, 0.1, 0.03}, 0.5);
  for (int i : {4, 5}) {
    cells[i].algorithm = cells[i].optimizer = "cg";
    cells[i].index = 2;
  }
  cells[4].status = "diverged";
  cells[4].message = "NaN training loss at epoch 2";
  cells[4].rows = FakeRows({"cg", "cg"}, {0.6, std::nan("")}, 0);
  cells[5].seed = 1;
  cells[5].status = "running";
  cells[6].algorithm = "two-phase-golden";
  cells[6].optimizer = "two-phase";
  cells[6].index = 3;
  cells[6].status = "failed";
  cells[6].message = "cannot open data/mnist/train-images-idx3-ubyte";
  cells[6].sizes = false;
  return cells;
}

inline void WriteSampleResultDir(const fs::path& dir) {
  for (const FakeCell& c : SampleCells()) WriteCell(dir, c);
  WriteText(dir / "suite.json", "{\"name\": \"unit\"}\n");
}

// The sample directory, read and aggregated, for each test.
class SampleResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    WriteSampleResultDir(dir_);
    std::string error;
    ASSERT_TRUE(ReadResultDir(dir_.string(), &results_, &error)) << error;
    groups_ = AggregateResults(results_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  ResultDir results_;
  std::vector<ResultGroup> groups_;
};

}  // namespace report_test
}  // namespace twophase

#endif  // TWOPHASE_HARNESS_REPORT_TEST_UTIL_H_
