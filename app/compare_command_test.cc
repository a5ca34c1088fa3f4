// `twophase compare` as CI runs it: the real binary on synthetic result
// directories, checked by exit code, output and the files it writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "app/cli_test_util.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using report_test::FakeCell;

class CompareCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    base_ = report_test::MakeTempDir("cli_compare_base_" + name);
    new_ = report_test::MakeTempDir("cli_compare_new_" + name);
    report_test::WriteSampleResultDir(base_);
    cells_ = report_test::SampleCells();
  }
  void TearDown() override {
    fs::remove_all(base_);
    fs::remove_all(new_);
  }
  CommandResult Compare(const std::string& options = "") {
    for (const FakeCell& c : cells_) report_test::WriteCell(new_, c);
    return RunTwophase("compare " + base_.string() + " " + new_.string() + " " + options);
  }

  fs::path base_, new_;
  std::vector<FakeCell> cells_;
};

TEST_F(CompareCommandTest, IdenticalExitsZeroAndPrintsMarkdown) {
  const CommandResult r = Compare();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "# twophase compare")) << r.output;
  EXPECT_TRUE(Contains(r.output, "PASS: 0 of 7 cells failed")) << r.output;
}

TEST_F(CompareCommandTest, MovedLossExitsOneNamingTheCellAndWritesOnlyIntoOut) {
  cells_[3].rows[2].test_loss *= 1.01;
  const fs::path out = new_ / "cmp";
  CommandResult r = Compare("--out " + out.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "FAIL " + cells_[3].Id() + ": test loss moved by")) << r.output;
  std::vector<std::string> written;
  for (const auto& entry : fs::directory_iterator(out)) {
    written.push_back(entry.path().filename().string());
  }
  std::sort(written.begin(), written.end());
  EXPECT_EQ(written, (std::vector<std::string>{"compare.csv", "compare.md", "plots"}));
  // The moved cell is drawn (scripts/plot_compare.py) and shown in compare.md.
  EXPECT_TRUE(fs::exists(out / "plots" / (cells_[3].Id() + ".png")));
  EXPECT_EQ(std::distance(fs::directory_iterator(out / "plots"), fs::directory_iterator()), 1);
  const std::string md = report_test::ReadText(out / "compare.md");
  EXPECT_TRUE(Contains(md, "**FAIL**: 1 of 7 cells"));
  EXPECT_TRUE(Contains(md, "![" + cells_[3].Id() + "](plots/" + cells_[3].Id() + ".png)")) << md;
  // --plots 0 draws none and says so.
  fs::remove_all(out);
  r = Compare("--out " + out.string() + " --plots 0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(fs::exists(out / "plots"));
  EXPECT_TRUE(Contains(report_test::ReadText(out / "compare.md"), "turned off (--plots 0)"));
  // Within tolerance.
  r = Compare("--loss-rtol 0.02");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(CompareCommandTest, UnusableInputAndBadOptionsExitTwo) {
  CommandResult r = Compare("--loss-rtol -1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "--loss-rtol must be >= 0 and finite, got -1")) << r.output;
  r = Compare("--plots -1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "--plots must be >= 0, got -1")) << r.output;
  r = Compare("--time-ratio fast");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunTwophase("compare " + base_.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunTwophase("compare " + base_.string() + " " + (base_ / "cells").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "unusable input: NEW: " + (base_ / "cells" / "cells").string() +
                                     ": no such folder"))
      << r.output;
  // A truncated curve: the file is named; nothing is written to --out.
  report_test::WriteText(new_ / "cells" / cells_[0].Id() / "curve.csv", "epoch,phase\n1,ad");
  r = RunTwophase("compare " + base_.string() + " " + new_.string() + " --out " +
                  (new_ / "cmp").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, (new_ / "cells" / cells_[0].Id() / "curve.csv").string()))
      << r.output;
  EXPECT_FALSE(fs::exists(new_ / "cmp"));
}

}  // namespace
}  // namespace twophase
