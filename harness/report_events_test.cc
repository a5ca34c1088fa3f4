// events.json in the report: the reader's checks (a malformed file is
// named with its field), the comparison's "Adam would swap" column, and the
// plots that mark the swap and the would-swap (the paper's Figures 5 and 6).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/cli_test_util.h"
#include "harness/report.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

// A completed three-epoch adam cell whose shadow detector fired after epoch 2.
FakeCell AdamCell() {
  FakeCell c;
  c.rows = FakeRows({"adam", "adam", "adam"}, {0.5, 0.2, 0.1}, 0);
  c.would_swap = 2;
  return c;
}

// ReadCell of `c` with its events.json replaced by `events`.
bool ReadWithEvents(const fs::path& dir, const FakeCell& c, const std::string& events,
                    CellResult* cell, std::string* error) {
  WriteCell(dir, c);
  WriteText(dir / "cells" / c.Id() / "events.json", events);
  return ReadCell((dir / "cells" / c.Id()).string(), cell, error);
}

TEST(ReportEventsTest, ReadsTheWouldSwapEpoch) {
  const fs::path dir = MakeTempDir("events_read");
  FakeCell c = AdamCell();
  WriteCell(dir, c);
  CellResult cell;
  std::string error;
  ASSERT_TRUE(ReadCell((dir / "cells" / c.Id()).string(), &cell, &error)) << error;
  EXPECT_TRUE(cell.events_read);
  EXPECT_TRUE(cell.ShadowRecorded());
  ASSERT_EQ(cell.events.size(), 1u);
  EXPECT_EQ(cell.events[0].kind, EventKind::kWouldSwap);
  EXPECT_EQ(cell.would_swap_epoch, 2);

  // Fields this reader does not know are a newer runner's: ignored.
  ASSERT_TRUE(ReadWithEvents(dir, c,
                             R"({"events": [{"epoch": 1, "kind": "budget", "extra": 1},
                                            {"epoch": 3, "kind": "would-swap", "message": "m"}],
                                 "swap": null, "added": true})",
                             &cell, &error))
      << error;
  EXPECT_EQ(cell.events[0].kind, EventKind::kBudget);
  EXPECT_EQ(cell.would_swap_epoch, 3);

  // Without events.json (a cell that never ended an attempt) or eval_every
  // (a runner before the shadow detector), no would-swap is no "never".
  fs::remove(dir / "cells" / c.Id() / "events.json");
  ASSERT_TRUE(ReadCell((dir / "cells" / c.Id()).string(), &cell, &error)) << error;
  EXPECT_FALSE(cell.events_read);
  EXPECT_FALSE(cell.ShadowRecorded());
  c.eval_every = 0;
  c.would_swap.reset();
  WriteCell(dir, c);
  ASSERT_TRUE(ReadCell((dir / "cells" / c.Id()).string(), &cell, &error)) << error;
  EXPECT_TRUE(cell.events_read);
  EXPECT_FALSE(cell.ShadowRecorded());
  fs::remove_all(dir);
}

TEST(ReportEventsTest, MalformedEventsAreNamedWithTheirField) {
  const fs::path dir = MakeTempDir("events_bad");
  const FakeCell adam = AdamCell();
  const std::string path = (dir / "cells" / adam.Id() / "events.json").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"events": [)", ": not valid JSON (truncated or corrupt file?): "},
      {"[]", ": expected a JSON object at the top, got []"},
      {R"({"swap": null})", ": events: missing"},
      {R"({"events": {}})", ": events: must be an array, got {}"},
      {R"({"events": [3]})", ": events[0]: must be an object, got 3"},
      {R"({"events": [{"kind": "swap"}]})", ": events[0].epoch: missing"},
      {R"({"events": [{"epoch": 1, "kind": "swap"}, {"epoch": -1, "kind": "swap"}]})",
       ": events[1].epoch: must be an integer >= 0, got -1"},
      {R"({"events": [{"epoch": 1.5, "kind": "swap"}]})",
       ": events[0].epoch: must be an integer >= 0, got 1.5"},
      {R"({"events": [{"epoch": 1}]})", ": events[0].kind: missing"},
      {R"({"events": [{"epoch": 1, "kind": 7}]})", ": events[0].kind: must be a string, got 7"},
      // A kind outside the format: named with the list of known ones.
      {R"({"events": [{"epoch": 1, "kind": "new-kind"}]})",
       ": events[0].kind: unknown event kind 'new-kind' (known: swap, would-swap, "
       "line-search-failure, converged, diverged, budget, resume, checkpoint-failed)"},
      {R"({"events": [{"epoch": 1, "kind": ""}]})",
       ": events[0].kind: unknown event kind '' (known: swap, would-swap, line-search-failure, "
       "converged, diverged, budget, resume, checkpoint-failed)"},
      {R"({"events": [{"epoch": 1, "kind": "swap", "message": 2}]})",
       ": events[0].message: must be a string, got 2"},
      {R"({"events": [], "swap": {"rule": "x"}})", ": swap.epoch: missing"},
      {R"({"events": [], "swap": 5})", ": swap: must be an object, got 5"},
      // The checks against the curve and the metadata of the same attempt.
      {R"({"events": [{"epoch": 4, "kind": "would-swap"}], "swap": null})",
       ": events[0].epoch: would-swap at epoch 4, but curve.csv has epochs 1..3"},
      {R"({"events": [{"epoch": 0, "kind": "would-swap"}], "swap": null})",
       ": events[0].epoch: would-swap at epoch 0, but curve.csv has epochs 1..3"},
      {R"({"events": [{"epoch": 1, "kind": "would-swap"}, {"epoch": 2, "kind": "would-swap"}],
           "swap": null})",
       ": events[1].kind: a second would-swap event (the first is at epoch 1; the shadow "
       "detector fires once)"},
      {R"({"events": [], "swap": {"epoch": 2}})",
       ": swap.epoch: 2, but metadata.json's swap.epoch is null (files of different attempts?)"},
  };
  for (const auto& [events, message] : cases) {
    CellResult cell;
    std::string error;
    EXPECT_FALSE(ReadWithEvents(dir, adam, events, &cell, &error)) << events;
    EXPECT_EQ(error.substr(0, path.size() + message.size()), path + message) << events;
  }

  // A would-swap is an Adam epoch's: not at a CG epoch of a two-phase run.
  FakeCell two_phase = AdamCell();
  two_phase.algorithm = two_phase.optimizer = "two-phase";
  two_phase.swap = 1;
  two_phase.rows = FakeRows({"adam", "cg", "cg"}, {0.5, 0.2, 0.1}, 0);
  CellResult cell;
  std::string error;
  EXPECT_FALSE(ReadWithEvents(dir, two_phase,
                              R"({"events": [{"epoch": 2, "kind": "would-swap"}],
                                  "swap": {"epoch": 1}})",
                              &cell, &error));
  EXPECT_NE(error.find("events[0].epoch: would-swap at epoch 2, but curve.csv's epoch 2 is a cg "
                       "epoch"),
            std::string::npos)
      << error;

  // A running cell's events.json may be an earlier attempt's: parsed, not
  // held against a curve that a fallback to an older checkpoint shortened.
  FakeCell running = AdamCell();
  running.status = "running";
  EXPECT_TRUE(ReadWithEvents(dir, running,
                             R"({"events": [{"epoch": 9, "kind": "would-swap"}], "swap": null})",
                             &cell, &error))
      << error;
  EXPECT_FALSE(ReadWithEvents(dir, running, R"({"events": 1})", &cell, &error));
  fs::remove_all(dir);
}

// The report leaves a cell with a malformed events.json out of its tables
// and names the file and the field, as for metadata.json.
TEST(ReportEventsTest, ReportListsACellWithBadEvents) {
  const fs::path dir = MakeTempDir("events_report");
  WriteSampleResultDir(dir);
  const FakeCell adam = SampleCells()[0];
  WriteText(dir / "cells" / adam.Id() / "events.json", R"({"events": [{"epoch": "2"}]})");
  ReportOptions options;
  options.plots = false;
  ReportSummary summary;
  std::string error;
  ASSERT_TRUE(WriteReport(dir.string(), options, &summary, &error)) << error;
  EXPECT_EQ(summary.unreadable, 1);
  const std::string expected = (dir / "cells" / adam.Id() / "events.json").string() +
                               ": events[0].epoch: must be an integer >= 0, got \"2\"";
  ASSERT_EQ(summary.unreadable_errors.size(), 1u);
  EXPECT_EQ(summary.unreadable_errors[0], expected);
  const std::string report = ReadText(dir / "report.md");
  EXPECT_TRUE(Contains(report, "- `" + adam.Id() +
                                   "`: unreadable or inconsistent, not in the tables — cells/" +
                                   adam.Id() + "/events.json: events[0].epoch: "))
      << report;
  fs::remove_all(dir);
}

// One Adam cell and one two-phase cell per model, at the paper's protocol.
void WritePair(const fs::path& dir, const std::string& model, const FakeCell& adam) {
  FakeCell a = adam;
  a.model = model;
  a.train_samples = 60000;
  a.test_samples = 10000;
  WriteCell(dir, a);
  FakeCell t = a;
  t.algorithm = t.optimizer = "two-phase";
  t.index = 1;
  t.status = "completed";
  t.swap = 1;
  t.would_swap.reset();
  t.rows = FakeRows({"adam", "cg", "cg"}, {0.5, 0.1, 0.05}, 0);
  WriteCell(dir, t);
}

TEST(ReportEventsTest, ComparisonSaysWhereAdamWouldHaveSwapped) {
  const fs::path dir = MakeTempDir("events_comparison");
  WritePair(dir, "vgg5", AdamCell());  // would-swap after epoch 2
  FakeCell never = AdamCell();
  never.would_swap.reset();
  WritePair(dir, "vit-nomlp", never);
  FakeCell paused = AdamCell();  // its would-swap is there, but the cell is not finished
  paused.status = "paused";
  WritePair(dir, "vit-nomlp-wkewq", paused);
  FakeCell old = never;  // written by a runner without the shadow detector
  old.eval_every = 0;
  WritePair(dir, "vit-mlp", old);

  ResultDir results;
  std::string error;
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  ASSERT_TRUE(results.unreadable.empty()) << results.unreadable[0].error;
  const std::vector<ResultGroup> groups = AggregateResults(results);
  const std::vector<Comparison> comparisons = CompareAdamTwoPhase(groups);
  const std::string md = ComparisonMarkdown(comparisons);
  // Per model: test losses, ratio, paper columns, then the would-swap.
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"vgg5", "| 0.12 / 0.07 | 0.5 | 0.0001 / 1.000 / 0.993 | 0.0001 / 1.000 / 0.994 | 1 | 2 |"},
      {"vit-nomlp", "| 0.0002 / 0.999 / 0.969 | 0.667 | never |"},
      {"vit-nomlp-wkewq",
       "| — / 0.07 | — | 0.0004 / 0.998 / 0.967 | 0.0002 / 0.999 / 0.971 | "
       "0.5 | — |"},
      {"vit-mlp", "| 0.125 | not recorded |"},
  };
  for (const auto& [model, part] : rows) {
    const size_t at = md.find("| mnist | " + model + " |");
    ASSERT_NE(at, std::string::npos) << model << "\n" << md;
    const std::string row = md.substr(at, md.find('\n', at) - at);
    EXPECT_TRUE(Contains(row, part)) << row;
  }
  const std::string csv = ComparisonCsv(comparisons);
  // adam_test_loss 0.12 and two_phase_test_loss 0.07 in their places, then
  // the would-swap runs, mean, sd and nevers.
  EXPECT_TRUE(Contains(csv,
                       "\nmnist,vgg5,blas,adam,two-phase,1,1,0.1,0.9,0.12,0.8,0.05,0.95,0.07,"
                       "0.85,0.5,"))
      << csv;
  // The cells run 3 of the paper's 1000 epochs: scaled-down.
  EXPECT_TRUE(Contains(csv, ",1,2,,0,scaled-down,")) << csv;  // vgg5
  EXPECT_TRUE(Contains(csv, ",0,,,1,scaled-down,")) << csv;   // vit-nomlp
  fs::remove_all(dir);
}

bool HaveMatplotlib() {
  return std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") == 0;
}

// Twelve epochs, evaluated at 1, 5, 10 and 12 (eval_every 5): Adam would
// have swapped after epoch 7, an unevaluated one; two-phase swaps at 5.
std::vector<FakeCell> LongPair() {
  std::vector<FakeCell> cells(2);
  std::vector<std::string> phases(12, "adam");
  std::vector<double> losses;
  for (int e = 1; e <= 12; ++e) losses.push_back(0.5 * std::pow(0.8, e - 1));
  for (FakeCell& c : cells) c.epochs = 12;
  cells[0].rows = FakeRows(phases, losses, 0);
  cells[0].would_swap = 7;
  cells[1].algorithm = cells[1].optimizer = "two-phase";
  cells[1].index = 1;
  cells[1].swap = 5;
  for (int e = 6; e <= 12; ++e) phases[e - 1] = "cg";
  cells[1].rows = FakeRows(phases, losses, 0);
  for (FakeCell& c : cells) SkipEvaluations(&c, 5);
  return cells;
}

// Figure 5 (gradient norm against loss) and Figure 6 (loss against passes
// and wall seconds) are drawn and embedded; the would-swap mark is drawn
// even at an unevaluated epoch: the plot changes when the event goes.
TEST(ReportEventsTest, PlotsMarkTheWouldSwap) {
  if (!HaveMatplotlib()) {
    GTEST_SKIP() << "/usr/bin/python3 with python3-matplotlib is not installed";
  }
  const fs::path dir = MakeTempDir("events_plots");
  std::vector<FakeCell> cells = LongPair();
  for (const FakeCell& c : cells) WriteCell(dir, c);
  CommandResult r = RunTwophase("report " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(Contains(r.output, "skipping")) << r.output;
  const std::string report = ReadText(dir / "report.md");
  for (const char* kind : {"gradnorm-loss", "loss-passes", "loss-wall"}) {
    const std::string plot = "plots/mnist.vgg5.blas." + std::string(kind) + ".png";
    EXPECT_TRUE(Contains(r.output, "wrote " + (dir / plot).string())) << r.output;
    EXPECT_EQ(ReadText(dir / plot).substr(1, 3), "PNG") << plot;
    EXPECT_TRUE(Contains(report, "(" + plot + ")\n\n*")) << report;  // with its caption
  }
  EXPECT_TRUE(Contains(report, "as the paper's Figure 5")) << report;
  EXPECT_TRUE(Contains(report, "as the paper's Figure 6")) << report;

  const std::vector<std::string> kinds = {"gradnorm-loss", "loss-passes", "loss-wall",
                                          "loss-epoch"};
  std::vector<std::string> marked;
  for (const std::string& kind : kinds) {
    marked.push_back(ReadText(dir / ("plots/mnist.vgg5.blas." + kind + ".png")));
  }
  cells[0].would_swap.reset();
  WriteCell(dir, cells[0]);
  r = RunTwophase("report " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (size_t i = 0; i < kinds.size(); ++i) {
    EXPECT_NE(ReadText(dir / ("plots/mnist.vgg5.blas." + kinds[i] + ".png")), marked[i])
        << kinds[i] << ": the would-swap mark at epoch 7 was not drawn";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
