// Aggregation over seeds and the Markdown and CSV tables of the results and
// of the Adam against two-phase comparison (report_paper.cc pairs the cells).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "harness/report.h"
#include "harness/report_markdown.h"

namespace twophase {
namespace {

// --- Number formatting: fixed printf formats, so equal inputs give equal bytes. ---

using report_markdown::Format;
using report_markdown::JoinRow;
using report_markdown::kDash;
using report_markdown::MdHeader;
using report_markdown::MdRow;

// "mean ± sd", "mean" for one run, "—" for none.
std::string MdStat(const Stat& s, const char* mean_format, const char* sd_format) {
  if (s.n == 0) return kDash;
  if (s.n == 1) return Format(mean_format, s.mean);
  return Format(mean_format, s.mean) + " ± " + Format(sd_format, s.sd);
}

// A stat over a subset of `of` runs, with "(k/n)" when not all of them count.
std::string MdPartialStat(const Stat& s, int of, const char* mean_format, const char* sd_format) {
  std::string text = MdStat(s, mean_format, sd_format);
  if (s.n > 0 && s.n < of) text += " (" + std::to_string(s.n) + "/" + std::to_string(of) + ")";
  return text;
}

// CSV numbers: %.9g round-trips float32 and doubles closely; missing is empty.
std::string CsvNumber(double value) { return std::isnan(value) ? "" : Format("%.9g", value); }
std::string CsvMean(const Stat& s) { return s.n == 0 ? "" : CsvNumber(s.mean); }
std::string CsvSd(const Stat& s) { return s.n < 2 ? "" : CsvNumber(s.sd); }

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// Sizes that no cell of a group learned are 0: shown as unknown.
std::string Count(int64_t value) { return value == 0 ? kDash : std::to_string(value); }
std::string CsvCount(int64_t value) { return value == 0 ? "" : std::to_string(value); }

std::string Runs(const ResultGroup& g) {
  std::string text = std::to_string(g.finished) + "/" + std::to_string(g.cells);
  std::vector<std::string> others;
  if (g.stalled > 0) others.push_back("incl. " + std::to_string(g.stalled) + " stalled");
  if (g.diverged > 0) others.push_back(std::to_string(g.diverged) + " diverged");
  if (g.failed > 0) others.push_back(std::to_string(g.failed) + " failed");
  if (g.skipped > 0) others.push_back(std::to_string(g.skipped) + " skipped");
  if (g.running > 0) others.push_back(std::to_string(g.running) + " running");
  if (g.paused > 0) others.push_back(std::to_string(g.paused) + " paused");
  if (!others.empty()) text += " (" + JoinRow(others, ", ") + ")";
  return text;
}

std::string Triple(const ResultGroup& g) {
  if (g.finished == 0) return kDash;
  return Format("%.4g", g.train_loss.mean) + " / " + Format("%.3f", g.train_accuracy.mean) + " / " +
         Format("%.3f", g.test_accuracy.mean);
}

std::string PaperTriple(double loss, double train_accuracy, double test_accuracy) {
  return Format("%.4f", loss) + " / " + Format("%.3f", train_accuracy) + " / " +
         Format("%.3f", test_accuracy);
}

std::string MdRatio(double ratio) { return std::isnan(ratio) ? kDash : Format("%.3g", ratio); }

// "Adam test loss / two-phase test loss" (the paper gives no test loss).
std::string TestLosses(const ResultGroup& a, const ResultGroup& t) {
  auto loss = [](const ResultGroup& g) {
    return g.finished == 0 ? std::string(kDash) : Format("%.4g", g.test_loss.mean);
  };
  return loss(a) + " / " + loss(t);
}

// Where Algorithm 1's detector would have fired on the group's trajectories:
// "—" before any cell finished, "never" when it fired in none, the epoch
// (mean ± sd over seeds, "(k/n)" when it fired in only k of n), or "not
// recorded" for cells of a runner without the shadow detector.
std::string MdWouldSwap(const ResultGroup& g) {
  if (g.finished == 0) return kDash;
  if (g.would_swap_epoch.n > 0)
    return MdPartialStat(g.would_swap_epoch, g.finished, "%.4g", "%.2g");
  return g.would_swap_never > 0 ? "never" : "not recorded";
}

// The losses and accuracies a finished cell ended with: metadata.json's
// final, which is the curve's last row. eval_every always evaluates the last
// epoch; should a curve end on unevaluated epochs all the same, its last
// evaluated row stands in, and a note says so. False (and a note) when no
// epoch was evaluated: the cell then stays out of the loss and accuracy
// means rather than put a NaN into them.
bool FinalEvaluation(const CellResult& cell, CellFinal* f, std::vector<std::string>* notes) {
  if (cell.curve.empty() || cell.curve.back().evaluated) return true;
  const auto row = std::find_if(cell.curve.rbegin(), cell.curve.rend(),
                                [](const CurveRow& r) { return r.evaluated; });
  if (row == cell.curve.rend()) {
    notes->push_back(cell.id + " has no evaluated epoch: left out of the loss and accuracy means");
    return false;
  }
  notes->push_back(cell.id + "'s last epoch " + std::to_string(cell.curve.back().epoch) +
                   " was not evaluated: its losses and accuracies are epoch " +
                   std::to_string(row->epoch) + "'s");
  f->train_loss = row->train_loss;
  f->train_accuracy = row->train_accuracy;
  f->test_loss = row->test_loss;
  f->test_accuracy = row->test_accuracy;
  return true;
}

}  // namespace

Stat Summarize(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / s.n;
  if (s.n < 2) return s;
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(squares / (s.n - 1));
  return s;
}

std::optional<TargetHit> FindTargetHit(const std::vector<CurveRow>& curve, double target) {
  for (const CurveRow& row : curve) {
    // An unevaluated epoch's NaN never compares <= target; said outright.
    if (row.evaluated && row.train_loss <= target) {
      return TargetHit{row.wall_seconds, row.forward_passes};
    }
  }
  return std::nullopt;
}

std::vector<ResultGroup> AggregateResults(const ResultDir& results) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, size_t> index;
  std::vector<ResultGroup> groups;
  std::vector<std::vector<const CellResult*>> members;
  for (const CellResult& cell : results.cells) {
    const Key key{cell.dataset, cell.model, cell.algorithm, cell.backend};
    auto [it, added] = index.emplace(key, groups.size());
    if (added) {
      ResultGroup g;
      g.dataset = cell.dataset;
      g.model = cell.model;
      g.algorithm = cell.algorithm;
      g.optimizer = cell.optimizer;
      g.backend = cell.backend;
      groups.push_back(g);
      members.emplace_back();
    }
    members[it->second].push_back(&cell);
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    ResultGroup& g = groups[i];
    const CellResult* protocol = members[i].front();
    for (const CellResult* cell : members[i]) {
      if (cell->Finished()) {
        protocol = cell;
        break;
      }
    }
    g.train_samples = protocol->train_samples;
    g.test_samples = protocol->test_samples;
    g.epochs = protocol->epochs;
    g.parameters = protocol->parameters;
    g.outputs = protocol->outputs;
    g.target_loss = protocol->target_loss;
    g.loss = protocol->loss;
    g.settings = protocol->settings;
    if (g.parameters > 0) {
      g.q = static_cast<double>(g.train_samples) * static_cast<double>(g.outputs) /
            static_cast<double>(g.parameters);
    }
    std::vector<double> train_loss, train_accuracy, test_loss, test_accuracy, swap, wall, passes;
    std::vector<double> target_wall, target_passes, would_swap;
    for (const CellResult* cell : members[i]) {
      ++g.cells;
      g.finished += cell->Finished();
      g.stalled += cell->status == CellStatus::kStalled;
      g.diverged += cell->status == CellStatus::kDiverged;
      g.failed += cell->status == CellStatus::kFailed;
      g.skipped += cell->status == CellStatus::kSkipped;
      g.running += cell->status == CellStatus::kRunning;
      g.paused += cell->status == CellStatus::kPaused;
      if (!cell->Finished() || !cell->last.has_value()) continue;
      // Seeds that disagree on the protocol are still averaged, but said so.
      if (cell->train_samples != g.train_samples || cell->test_samples != g.test_samples ||
          cell->epochs != g.epochs || cell->parameters != g.parameters ||
          cell->target_loss != g.target_loss) {
        g.notes.push_back(cell->id + " differs from " + protocol->id +
                          " in training or test samples, epochs, parameters or target loss");
      }
      CellFinal f = *cell->last;
      if (FinalEvaluation(*cell, &f, &g.notes)) {
        train_loss.push_back(f.train_loss);
        train_accuracy.push_back(f.train_accuracy);
        test_loss.push_back(f.test_loss);
        test_accuracy.push_back(f.test_accuracy);
      }
      wall.push_back(f.wall_seconds);
      passes.push_back(f.forward_passes);
      if (cell->swap_epoch.has_value()) swap.push_back(static_cast<double>(*cell->swap_epoch));
      if (cell->would_swap_epoch.has_value()) {
        would_swap.push_back(static_cast<double>(*cell->would_swap_epoch));
      } else if (cell->optimizer == "adam" && cell->ShadowRecorded()) {
        // Only adam runs always carry the shadow: a two-phase run swapping by
        // Algorithm 1 itself has none, and that is no "never".
        ++g.would_swap_never;
      }
      if (cell->target_loss.has_value()) {
        if (const auto hit = FindTargetHit(cell->curve, *cell->target_loss)) {
          target_wall.push_back(hit->wall_seconds);
          target_passes.push_back(hit->forward_passes);
        }
      }
    }
    g.train_loss = Summarize(train_loss);
    g.train_accuracy = Summarize(train_accuracy);
    g.test_loss = Summarize(test_loss);
    g.test_accuracy = Summarize(test_accuracy);
    g.swap_epoch = Summarize(swap);
    g.would_swap_epoch = Summarize(would_swap);
    g.wall_seconds = Summarize(wall);
    g.forward_passes = Summarize(passes);
    g.target_wall_seconds = Summarize(target_wall);
    g.target_forward_passes = Summarize(target_passes);
  }
  return groups;
}

std::string ResultsMarkdown(const std::vector<ResultGroup>& groups) {
  if (groups.empty()) return "No cell could be read.\n";
  std::string md =
      "Mean ± sd over seeds (sd with n − 1; one run shows its value alone). *runs*: finished "
      "(completed, converged, or stalled: CG stopped early on a line-search failure) of all "
      "cells, and what became of the others; only finished cells are aggregated. *K*: training "
      "samples; *Q* = K · outputs / parameters, the paper's overdetermination ratio. *swap "
      "epoch*: over the runs that swapped. *wall s*, *passes*: training wall seconds and "
      "forward passes over the training data. *to target*: the first cumulative wall seconds "
      "and forward passes at which the training loss is at most *target*, over the runs that "
      "reached it ((k/n) when not all did). The wall-second columns differ between reruns; "
      "every other number is reproducible.\n\n";
  md += MdHeader({"data set", "model", "algorithm", "backend", "K", "epochs", "runs", "train loss",
                  "train acc", "test loss", "test acc", "Q", "swap epoch", "wall s", "passes",
                  "target", "to target: s", "to target: passes"});
  for (const ResultGroup& g : groups) {
    md += MdRow({g.dataset, g.model, g.algorithm, g.backend, Count(g.train_samples),
                 std::to_string(g.epochs), Runs(g), MdStat(g.train_loss, "%.4g", "%.2g"),
                 MdStat(g.train_accuracy, "%.4f", "%.4f"), MdStat(g.test_loss, "%.4g", "%.2g"),
                 MdStat(g.test_accuracy, "%.4f", "%.4f"),
                 std::isnan(g.q) ? kDash : Format("%.4g", g.q),
                 MdPartialStat(g.swap_epoch, g.finished, "%.4g", "%.2g"),
                 MdStat(g.wall_seconds, "%.3g", "%.2g"), MdStat(g.forward_passes, "%.6g", "%.3g"),
                 g.target_loss ? Format("%.4g", *g.target_loss) : kDash,
                 MdPartialStat(g.target_wall_seconds, g.finished, "%.3g", "%.2g"),
                 MdPartialStat(g.target_forward_passes, g.finished, "%.6g", "%.3g")});
  }
  bool any_notes = false;
  for (const ResultGroup& g : groups) {
    for (const std::string& note : g.notes) {
      if (!any_notes) md += "\nNotes:\n\n";
      any_notes = true;
      md += "- " + note + "\n";
    }
  }
  return md;
}

std::string ResultsCsv(const std::vector<ResultGroup>& groups) {
  std::string csv =
      "dataset,model,algorithm,optimizer,backend,train_samples,test_samples,epochs,cells,"
      "finished,stalled,diverged,failed,skipped,running,paused,train_loss_mean,train_loss_sd,train_"
      "accuracy_mean,"
      "train_accuracy_sd,test_loss_mean,test_loss_sd,test_accuracy_mean,test_accuracy_sd,q,"
      "swap_runs,swap_epoch_mean,swap_epoch_sd,wall_seconds_mean,wall_seconds_sd,"
      "forward_passes_mean,forward_passes_sd,target_loss,target_reached,"
      "target_wall_seconds_mean,target_wall_seconds_sd,target_forward_passes_mean,"
      "target_forward_passes_sd\n";
  for (const ResultGroup& g : groups) {
    csv += JoinRow({CsvField(g.dataset),
                    CsvField(g.model),
                    CsvField(g.algorithm),
                    CsvField(g.optimizer),
                    CsvField(g.backend),
                    CsvCount(g.train_samples),
                    CsvCount(g.test_samples),
                    std::to_string(g.epochs),
                    std::to_string(g.cells),
                    std::to_string(g.finished),
                    std::to_string(g.stalled),
                    std::to_string(g.diverged),
                    std::to_string(g.failed),
                    std::to_string(g.skipped),
                    std::to_string(g.running),
                    std::to_string(g.paused),
                    CsvMean(g.train_loss),
                    CsvSd(g.train_loss),
                    CsvMean(g.train_accuracy),
                    CsvSd(g.train_accuracy),
                    CsvMean(g.test_loss),
                    CsvSd(g.test_loss),
                    CsvMean(g.test_accuracy),
                    CsvSd(g.test_accuracy),
                    CsvNumber(g.q),
                    std::to_string(g.swap_epoch.n),
                    CsvMean(g.swap_epoch),
                    CsvSd(g.swap_epoch),
                    CsvMean(g.wall_seconds),
                    CsvSd(g.wall_seconds),
                    CsvMean(g.forward_passes),
                    CsvSd(g.forward_passes),
                    g.target_loss ? CsvNumber(*g.target_loss) : "",
                    std::to_string(g.target_wall_seconds.n),
                    CsvMean(g.target_wall_seconds),
                    CsvSd(g.target_wall_seconds),
                    CsvMean(g.target_forward_passes),
                    CsvSd(g.target_forward_passes)},
                   ",") +
           "\n";
  }
  return csv;
}

std::string ComparisonMarkdown(const std::vector<Comparison>& comparisons) {
  std::string md =
      "Each two-phase algorithm of a data set, model and backend against each Adam algorithm of "
      "the same (runs in brackets: the finished seeds). Values are means over seeds: final "
      "training loss / training accuracy / test accuracy. *ratio* = two-phase / Adam training "
      "loss (ratio of the means): below 1, two-phase reached the lower loss, the paper's "
      "direction. *paper* columns: Table 1 of Hrycej et al. (2025) for that data set and "
      "model (one run each; validation accuracy on the test split). *protocol* `paper`: full "
      "training and test sets, Adam 1000 epochs (700 for vit-mlp) against two-phase with the "
      "same total (the paper's Adam 300 + CG 700, 210 + 490), batch 512, MSE loss; "
      "`scaled-down` lists where the cells differ: compare such rows with the paper's direction, "
      "not with its numbers. *test loss*: Adam / two-phase (the paper gives none). *Adam would "
      "swap*: the epoch after which Algorithm 1's detector would have swapped on the Adam "
      "trajectory (its `would-swap` event; the paper swaps at a fixed 30 %), `never` when it "
      "did not fire, — when no Adam cell finished.\n\n";
  if (comparisons.empty()) {
    return md + "No data set, model and backend has both an Adam and a two-phase algorithm.\n";
  }
  md += MdHeader({"data set", "model", "backend", "Adam (runs)", "two-phase (runs)",
                  "Adam loss / train acc / test acc", "two-phase loss / train acc / test acc",
                  "test loss", "ratio", "paper Adam", "paper Adam+CG", "paper ratio",
                  "Adam would swap", "protocol"});
  for (const Comparison& c : comparisons) {
    const ResultGroup& a = *c.adam;
    const ResultGroup& t = *c.two_phase;
    std::string protocol =
        c.deviations.empty() ? "paper" : "scaled-down: " + JoinRow(c.deviations, "; ");
    md +=
        MdRow({t.dataset, t.model, t.backend, a.algorithm + " (" + std::to_string(a.finished) + ")",
               t.algorithm + " (" + std::to_string(t.finished) + ")", Triple(a), Triple(t),
               TestLosses(a, t), MdRatio(c.loss_ratio),
               c.paper ? PaperTriple(c.paper->adam_loss, c.paper->adam_train_accuracy,
                                     c.paper->adam_test_accuracy)
                       : kDash,
               c.paper ? PaperTriple(c.paper->two_phase_loss, c.paper->two_phase_train_accuracy,
                                     c.paper->two_phase_test_accuracy)
                       : kDash,
               c.paper ? MdRatio(LossRatio(c.paper->two_phase_loss, c.paper->adam_loss)) : kDash,
               MdWouldSwap(a), protocol});
  }
  return md;
}

std::string ComparisonCsv(const std::vector<Comparison>& comparisons) {
  std::string csv =
      "dataset,model,backend,adam_algorithm,two_phase_algorithm,adam_runs,two_phase_runs,"
      "adam_train_loss,adam_train_accuracy,adam_test_loss,adam_test_accuracy,"
      "two_phase_train_loss,two_phase_train_accuracy,two_phase_test_loss,"
      "two_phase_test_accuracy,loss_ratio,paper_adam_train_loss,paper_adam_train_accuracy,"
      "paper_adam_test_accuracy,paper_two_phase_train_loss,paper_two_phase_train_accuracy,"
      "paper_two_phase_test_accuracy,paper_loss_ratio,adam_would_swap_runs,"
      "adam_would_swap_epoch_mean,adam_would_swap_epoch_sd,adam_would_swap_never,protocol,"
      "deviations\n";
  for (const Comparison& c : comparisons) {
    const ResultGroup& a = *c.adam;
    const ResultGroup& t = *c.two_phase;
    const PaperTable1Row* p = c.paper;
    auto paper = [p](double value) { return p ? CsvNumber(value) : std::string(); };
    csv += JoinRow({CsvField(t.dataset),
                    CsvField(t.model),
                    CsvField(t.backend),
                    CsvField(a.algorithm),
                    CsvField(t.algorithm),
                    std::to_string(a.finished),
                    std::to_string(t.finished),
                    CsvMean(a.train_loss),
                    CsvMean(a.train_accuracy),
                    CsvMean(a.test_loss),
                    CsvMean(a.test_accuracy),
                    CsvMean(t.train_loss),
                    CsvMean(t.train_accuracy),
                    CsvMean(t.test_loss),
                    CsvMean(t.test_accuracy),
                    CsvNumber(c.loss_ratio),
                    paper(p ? p->adam_loss : 0),
                    paper(p ? p->adam_train_accuracy : 0),
                    paper(p ? p->adam_test_accuracy : 0),
                    paper(p ? p->two_phase_loss : 0),
                    paper(p ? p->two_phase_train_accuracy : 0),
                    paper(p ? p->two_phase_test_accuracy : 0),
                    p ? CsvNumber(LossRatio(p->two_phase_loss, p->adam_loss)) : "",
                    std::to_string(a.would_swap_epoch.n),
                    CsvMean(a.would_swap_epoch),
                    CsvSd(a.would_swap_epoch),
                    std::to_string(a.would_swap_never),
                    c.deviations.empty() ? "paper" : "scaled-down",
                    CsvField(JoinRow(c.deviations, "; "))},
                   ",") +
           "\n";
  }
  return csv;
}

}  // namespace twophase
