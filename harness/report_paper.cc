// The paper's side of the comparison: its Table 1, its protocol, and which
// of our cells are compared with which.
#include <algorithm>
#include <cmath>

#include "harness/report.h"

namespace twophase {
namespace {

// Table 1 of Hrycej et al. (2025), as in ../shared/PAPER.md.
constexpr PaperTable1Row kPaperTable1[] = {
    {"mnist", "vit-mlp", 0.0008, 0.995, 0.965, 0.0001, 1.000, 0.974},
    {"mnist", "vit-nomlp", 0.0003, 0.998, 0.963, 0.0002, 0.999, 0.969},
    {"mnist", "vit-nomlp-wkewq", 0.0004, 0.998, 0.967, 0.0002, 0.999, 0.971},
    {"mnist", "vit-nomlp-wkewq-wvwo", 0.0016, 0.990, 0.955, 0.0006, 0.996, 0.962},
    {"mnist", "vgg5", 0.0001, 1.000, 0.993, 0.0001, 1.000, 0.994},
    {"cifar10", "vit-mlp", 0.0091, 0.943, 0.428, 0.0041, 0.970, 0.435},
    {"cifar10", "vit-nomlp", 0.0290, 0.819, 0.428, 0.0175, 0.891, 0.444},
    {"cifar10", "vit-nomlp-wkewq", 0.0386, 0.744, 0.441, 0.0270, 0.833, 0.461},
    {"cifar10", "vit-nomlp-wkewq-wvwo", 0.0567, 0.575, 0.414, 0.0527, 0.612, 0.436},
    {"cifar10", "vgg5", 0.0059, 0.967, 0.710, 0.0047, 0.969, 0.719},
    {"cifar100", "vit-mlp", 0.0041, 0.706, 0.155, 0.0028, 0.758, 0.151},
    {"cifar100", "vit-nomlp", 0.0062, 0.478, 0.166, 0.0053, 0.534, 0.165},
    {"cifar100", "vit-nomlp-wkewq", 0.0069, 0.425, 0.174, 0.0059, 0.487, 0.176},
    {"cifar100", "vit-nomlp-wkewq-wvwo", 0.0082, 0.291, 0.157, 0.0078, 0.326, 0.164},
    {"cifar100", "vgg5", 0.0032, 0.755, 0.300, 0.0032, 0.737, 0.321},
};

// The standard splits the paper trained and validated on (Fashion-MNIST is
// not in the paper, but its splits are MNIST's and the paper suite runs it).
struct FullSplit {
  const char* dataset;
  int64_t train, test;
};
constexpr FullSplit kFullSplits[] = {
    {"mnist", 60000, 10000},
    {"fashion-mnist", 60000, 10000},
    {"cifar10", 50000, 10000},
    {"cifar100", 50000, 10000},
};

// The paper's budget: Adam 1000 epochs, 700 for the model with an MLP;
// two-phase the same total (Adam 300 + CG 700, 210 + 490).
int64_t PaperEpochs(const std::string& model) { return model == "vit-mlp" ? 700 : 1000; }

}  // namespace

double LossRatio(double two_phase_loss, double adam_loss) {
  if (std::isnan(two_phase_loss) || std::isnan(adam_loss) || adam_loss == 0) return kReportNaN;
  return two_phase_loss / adam_loss;
}

const PaperTable1Row* FindPaperTable1(const std::string& dataset, const std::string& model) {
  for (const PaperTable1Row& row : kPaperTable1) {
    if (dataset == row.dataset && model == row.model) return &row;
  }
  return nullptr;
}

std::vector<std::string> PaperProtocolDeviations(const ResultGroup& g) {
  std::vector<std::string> deviations;
  const FullSplit* split = nullptr;
  for (const FullSplit& s : kFullSplits) {
    if (g.dataset == s.dataset) split = &s;
  }
  if (split == nullptr) {
    deviations.push_back(g.dataset + " is not one of the paper's data sets");
  } else if (g.train_samples == 0) {
    // No cell of the group got as far as loading its data.
    deviations.push_back(g.algorithm + " training set unknown");
  } else {
    if (g.train_samples != split->train) {
      deviations.push_back("K " + std::to_string(g.train_samples) + " of " +
                           std::to_string(split->train));
    }
    if (g.test_samples != split->test) {
      deviations.push_back("test " + std::to_string(g.test_samples) + " of " +
                           std::to_string(split->test));
    }
  }
  const int64_t epochs = PaperEpochs(g.model);
  if (g.epochs != epochs) {
    deviations.push_back(g.algorithm + " " + std::to_string(g.epochs) + " of " +
                         std::to_string(epochs) + " epochs");
  }
  const auto batch = g.settings.find("batch");
  if (batch != g.settings.end() && batch->second != "512") {
    deviations.push_back(g.algorithm + " batch " + batch->second + " (paper: 512)");
  }
  std::string loss = g.loss;
  if (loss.empty() && g.settings.count("loss")) loss = g.settings.at("loss");
  if (!loss.empty() && loss != "mse") {
    deviations.push_back(g.algorithm + " loss " + loss + " (paper: mse)");
  }
  return deviations;
}

std::vector<Comparison> CompareAdamTwoPhase(const std::vector<ResultGroup>& groups) {
  std::vector<Comparison> comparisons;
  // Two-phase rows in suite order, each against the Adam labels in suite order.
  for (const ResultGroup& two_phase : groups) {
    if (two_phase.optimizer != "two-phase") continue;
    for (const ResultGroup& adam : groups) {
      if (adam.optimizer != "adam" || adam.dataset != two_phase.dataset ||
          adam.model != two_phase.model || adam.backend != two_phase.backend) {
        continue;
      }
      Comparison c;
      c.adam = &adam;
      c.two_phase = &two_phase;
      if (adam.finished > 0 && two_phase.finished > 0) {
        c.loss_ratio = LossRatio(two_phase.train_loss.mean, adam.train_loss.mean);
      }
      c.deviations = PaperProtocolDeviations(adam);
      for (const std::string& d : PaperProtocolDeviations(two_phase)) {
        if (std::find(c.deviations.begin(), c.deviations.end(), d) == c.deviations.end()) {
          c.deviations.push_back(d);
        }
      }
      c.paper = FindPaperTable1(two_phase.dataset, two_phase.model);
      comparisons.push_back(c);
    }
  }
  return comparisons;
}

}  // namespace twophase
