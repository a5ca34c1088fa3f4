// The paper's Table 1 and protocol, and which cells are compared.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "harness/report.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using ReportPaperTest = SampleResultsTest;

TEST_F(ReportPaperTest, ComparesEveryTwoPhaseLabelWithEveryAdamLabel) {
  const std::vector<Comparison> comparisons = CompareAdamTwoPhase(groups_);
  ASSERT_EQ(comparisons.size(), 2u);
  EXPECT_EQ(comparisons[0].adam->algorithm, "adam");
  EXPECT_EQ(comparisons[0].two_phase->algorithm, "two-phase");
  EXPECT_DOUBLE_EQ(comparisons[0].loss_ratio, 0.04 / 0.2);
  ASSERT_NE(comparisons[0].paper, nullptr);
  EXPECT_EQ(comparisons[0].paper->adam_test_accuracy, 0.993);
  const std::vector<std::string> deviations = {"K 2000 of 60000", "test 1000 of 10000",
                                               "adam 3 of 1000 epochs",
                                               "two-phase 3 of 1000 epochs"};
  EXPECT_EQ(comparisons[0].deviations, deviations);
  // The failed label is still paired, with no ratio.
  EXPECT_EQ(comparisons[1].two_phase->algorithm, "two-phase-golden");
  EXPECT_TRUE(std::isnan(comparisons[1].loss_ratio));

  const std::string md = ComparisonMarkdown(comparisons);
  EXPECT_TRUE(Contains(md,
                       "| mnist | vgg5 | blas | adam (2) | two-phase (2) | 0.2 / 0.800 / 0.700 | "
                       "0.04 / 0.960 / 0.860 | 0.22 / 0.06 | 0.2 | 0.0001 / 1.000 / 0.993 | "
                       "0.0001 / 1.000 / 0.994 | 1 | 2 (1/2) | scaled-down: K 2000 of 60000; "
                       "test 1000 of 10000; adam 3 of 1000 epochs; two-phase 3 of 1000 epochs "
                       "|\n"))
      << md;
  EXPECT_TRUE(
      Contains(md, "| adam (2) | two-phase-golden (0) | 0.2 / 0.800 / 0.700 | — | 0.22 / — | — |"))
      << md;
  const std::string csv = ComparisonCsv(comparisons);
  EXPECT_TRUE(Contains(csv,
                       "\nmnist,vgg5,blas,adam,two-phase,2,2,0.2,0.8,0.22,0.7,0.04,0.96,0.06,"
                       "0.86,0.2,0.0001,1,0.993,0.0001,1,0.994,1,1,2,,1,scaled-down,K 2000 of "
                       "60000; test "
                       "1000 of 10000; adam 3 of 1000 epochs; two-phase 3 of 1000 epochs\n"))
      << csv;
}

TEST_F(ReportPaperTest, PaperProtocolAndTable1) {
  ResultGroup g = groups_[0];
  g.train_samples = 60000;
  g.test_samples = 10000;
  g.epochs = 1000;
  EXPECT_TRUE(PaperProtocolDeviations(g).empty());
  g.model = "vit-mlp";  // the model with an MLP: 700 epochs
  EXPECT_EQ(PaperProtocolDeviations(g), std::vector<std::string>{"adam 1000 of 700 epochs"});
  g.epochs = 700;
  g.settings["batch"] = "256";
  g.loss = "cross-entropy";
  EXPECT_EQ(PaperProtocolDeviations(g),
            (std::vector<std::string>{"adam batch 256 (paper: 512)",
                                      "adam loss cross-entropy (paper: mse)"}));
  g.dataset = "svhn";
  EXPECT_EQ(PaperProtocolDeviations(g)[0], "svhn is not one of the paper's data sets");

  const PaperTable1Row* row = FindPaperTable1("cifar10", "vit-nomlp-wkewq-wvwo");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->adam_loss, 0.0567);
  EXPECT_EQ(row->two_phase_test_accuracy, 0.436);
  row = FindPaperTable1("cifar100", "vgg5");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->two_phase_train_accuracy, 0.737);
  EXPECT_EQ(FindPaperTable1("fashion-mnist", "vgg5"), nullptr);  // not in the paper
}

}  // namespace
}  // namespace twophase
