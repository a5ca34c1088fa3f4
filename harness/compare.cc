// Pairing and judging the cells of two result directories. The numbers come
// from ReadResultDir; only the bit-identity check goes back to curve.csv's
// text, because "bit-identical" means every column, also those the report
// does not read (step_size, the CG evaluation counts, columns added later).
#include "harness/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/option_check.h"
#include "training/results_format.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;

// curve.csv text as rows of fields, the header first. ReadCell has checked
// the file, so a plain split suffices.
std::vector<std::vector<std::string>> CsvRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> fields(1);
    for (char c : line) {
      if (c == ',') {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

std::string Number(double value, const char* format = "%.3g") {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (std::isnan(value)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

// NEW / BASE of two positive measurements; NaN when either is not.
double Ratio(double next, double base) {
  if (!(base > 0 && next > 0 && std::isfinite(base) && std::isfinite(next))) return kReportNaN;
  return next / base;
}

// Cumulative training seconds per epoch at the curve's end.
double SecondsPerEpoch(const CellResult& cell) {
  if (cell.curve.empty() || cell.curve.back().epoch <= 0) return kReportNaN;
  return cell.curve.back().wall_seconds / static_cast<double>(cell.curve.back().epoch);
}

double FinalPasses(const CellResult& cell) {
  return cell.curve.empty() ? kReportNaN : cell.curve.back().forward_passes;
}

// The largest train and test loss differences over the epochs evaluated in both.
void CompareLosses(const CellResult& base, const CellResult& next, CellComparison* c) {
  std::map<int64_t, const CurveRow*> by_epoch;
  for (const CurveRow& row : next.curve) by_epoch[row.epoch] = &row;
  for (const CurveRow& b : base.curve) {
    const auto it = by_epoch.find(b.epoch);
    if (it == by_epoch.end() || !b.evaluated || !it->second->evaluated) continue;
    ++c->compared_epochs;
    const double train = RelativeDifference(b.train_loss, it->second->train_loss);
    const double test = RelativeDifference(b.test_loss, it->second->test_loss);
    if (train > c->train_loss_rdiff) c->train_loss_rdiff = train, c->train_loss_epoch = b.epoch;
    if (test > c->test_loss_rdiff) c->test_loss_rdiff = test, c->test_loss_epoch = b.epoch;
  }
}

void CompareFinal(const CellFinal& base, const CellFinal& next, CellComparison* c) {
  const struct {
    const char* name;
    double base, next;
  } metrics[] = {{"train_loss", base.train_loss, next.train_loss},
                 {"train_accuracy", base.train_accuracy, next.train_accuracy},
                 {"test_loss", base.test_loss, next.test_loss},
                 {"test_accuracy", base.test_accuracy, next.test_accuracy}};
  for (const auto& m : metrics) {
    const double d = RelativeDifference(m.base, m.next);
    if (d > c->final_rdiff) c->final_rdiff = d, c->final_metric = m.name;
  }
}

// Settings and protocol fields that differ: the likely cause of a move.
void NoteSetupDifferences(const CellResult& base, const CellResult& next, CellComparison* c) {
  const struct {
    const char* name;
    std::string base, next;
  } fields[] = {
      {"epochs", std::to_string(base.epochs), std::to_string(next.epochs)},
      {"threads", std::to_string(base.threads), std::to_string(next.threads)},
      {"train_samples", std::to_string(base.train_samples), std::to_string(next.train_samples)},
      {"test_samples", std::to_string(base.test_samples), std::to_string(next.test_samples)},
      {"parameters", std::to_string(base.parameters), std::to_string(next.parameters)},
      {"loss", base.loss, next.loss}};
  for (const auto& f : fields) {
    if (f.base != f.next) c->notes.push_back(std::string(f.name) + ": " + f.base + " -> " + f.next);
  }
  std::set<std::string> keys;
  for (const auto& [key, value] : base.settings) keys.insert(key);
  for (const auto& [key, value] : next.settings) keys.insert(key);
  for (const std::string& key : keys) {
    const auto b = base.settings.find(key);
    const auto n = next.settings.find(key);
    const std::string bv = b == base.settings.end() ? "(none)" : b->second;
    const std::string nv = n == next.settings.end() ? "(none)" : n->second;
    if (bv != nv) c->notes.push_back("settings." + key + ": " + bv + " -> " + nv);
  }
}

// The failures a tolerance finds; a pair of cells that is bit-identical has none.
void JudgeTolerances(const CompareOptions& options, CellComparison* c) {
  const std::string rtol = " (> --loss-rtol " + Number(options.loss_rtol, "%g") + ")";
  if (c->train_loss_rdiff > options.loss_rtol) {
    c->failures.push_back("train loss moved by " + Number(c->train_loss_rdiff) + " at epoch " +
                          std::to_string(c->train_loss_epoch) + rtol);
  }
  if (c->test_loss_rdiff > options.loss_rtol) {
    c->failures.push_back("test loss moved by " + Number(c->test_loss_rdiff) + " at epoch " +
                          std::to_string(c->test_loss_epoch) + rtol);
  }
  if (c->final_rdiff > options.loss_rtol) {
    c->failures.push_back("final " + c->final_metric + " moved by " + Number(c->final_rdiff) +
                          rtol);
  }
  if (options.loss_rtol == 0 && !c->identical && c->failures.empty()) {
    c->failures.push_back("curves are not bit-identical (--loss-rtol 0): " + c->first_difference);
  }
  if (options.time_ratio.has_value() && c->time_ratio > *options.time_ratio) {
    c->failures.push_back("seconds per epoch x" + Number(c->time_ratio) + " (> --time-ratio " +
                          Number(*options.time_ratio, "%g") + ")");
  }
}

std::string Shown(const std::optional<CellResult>& cell) {
  return cell.has_value() ? CellStatusName(cell->status) : "—";
}

// Environment keys whose values differ between the first cells of each side.
std::vector<std::string> EnvironmentDifferences(const std::vector<CellResult>& base,
                                                const std::vector<CellResult>& next) {
  std::vector<std::string> out;
  if (base.empty() || next.empty()) return out;
  if (base.front().backend != next.front().backend) {
    out.push_back("backend: " + base.front().backend + " -> " + next.front().backend);
  }
  const auto& b = base.front().environment;
  const auto& n = next.front().environment;
  std::set<std::string> keys;
  for (const auto& [key, value] : b) keys.insert(key);
  for (const auto& [key, value] : n) keys.insert(key);
  for (const std::string& key : keys) {
    const std::string bv = b.count(key) ? b.at(key) : "(none)";
    const std::string nv = n.count(key) ? n.at(key) : "(none)";
    if (bv != nv) out.push_back(key + ": " + bv + " -> " + nv);
  }
  return out;
}

// Unreadable cells make the input unusable: a comparison that skipped them
// could pass while a cell is broken.
bool ReadSide(const char* side, const std::string& dir, ResultDir* out, std::string* error) {
  if (!ReadResultDir(dir, out, error)) {
    *error = std::string(side) + ": " + *error;
    return false;
  }
  if (!out->unreadable.empty()) {
    *error =
        std::string(side) + ": " + std::to_string(out->unreadable.size()) + " unreadable cell(s):";
    for (const UnreadableCell& u : out->unreadable) *error += "\n  " + u.error;
    return false;
  }
  if (out->cells.empty()) {
    *error = std::string(side) + ": " + (fs::path(dir) / "cells").string() + ": holds no cell";
    return false;
  }
  return true;
}

// The cells of one side by key; two cells of one key make the pairing ambiguous.
bool IndexCells(const char* side, const ResultDir& dir, const CompareOptions& options,
                std::map<std::string, const CellResult*>* by_key, std::string* error) {
  for (const CellResult& cell : dir.cells) {
    const auto [it, added] = by_key->emplace(PairingKey(cell, options), &cell);
    if (!added) {
      *error = std::string(side) + ": cells " + it->second->id + " and " + cell.id +
               " both pair as " + it->first + " (--ignore-backend needs one backend per directory)";
      return false;
    }
  }
  return true;
}

bool ReadCurveText(const std::string& dir, const CellResult& cell, std::string* text,
                   std::string* error) {
  text->clear();
  if (cell.curve.empty()) return true;
  return ReadWholeFile((fs::path(dir) / "cells" / cell.folder / "curve.csv").string(), text, error);
}

std::string CsvQuoted(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string Joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

}  // namespace

bool CompareOptions::IsValid(std::string* error) const {
  if (!CheckOption(std::isfinite(loss_rtol) && loss_rtol >= 0, "--loss-rtol", ">= 0 and finite",
                   loss_rtol, error)) {
    return false;
  }
  return !time_ratio.has_value() ||
         CheckOption(std::isfinite(*time_ratio) && *time_ratio > 0, "--time-ratio",
                     "> 0 and finite", *time_ratio, error);
}

double CellComparison::Movement() const {
  if (!base.has_value() || !next.has_value()) return INFINITY;
  return std::max({train_loss_rdiff, test_loss_rdiff, final_rdiff});
}

int CompareResult::Failed() const {
  int failed = 0;
  for (const CellComparison& c : cells) failed += c.Failed();
  return failed;
}

std::string PairingKey(const CellResult& cell, const CompareOptions& options) {
  if (!options.ignore_backend) return cell.id;
  return cell.dataset + "." + cell.model + "." + cell.algorithm + ".s" + std::to_string(cell.seed);
}

double RelativeDifference(double a, double b) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return 0;
  if (!std::isfinite(a) || !std::isfinite(b)) return INFINITY;
  return std::fabs(a - b) / std::max(std::fabs(a), std::fabs(b));
}

std::string FirstCurveDifference(const std::string& base_csv, const std::string& new_csv,
                                 std::vector<std::string>* only_in_one) {
  const auto base = CsvRows(base_csv);
  const auto next = CsvRows(new_csv);
  if (base.empty() || next.empty()) {
    return base.empty() && next.empty() ? "" : "one side has no curve.csv";
  }
  // Columns by name, so that a column added on one side does not misalign.
  std::vector<std::pair<size_t, size_t>> columns;
  for (size_t i = 0; i < base[0].size(); ++i) {
    const std::string& name = base[0][i];
    size_t j = 0;
    while (j < next[0].size() && next[0][j] != name) ++j;
    if (j == next[0].size()) {
      if (only_in_one) only_in_one->push_back("column " + name + " only in BASE's curve.csv");
    } else if (!IsWallTimeColumnName(name)) {
      columns.emplace_back(i, j);
    }
  }
  for (const std::string& name : next[0]) {
    bool found = false;
    for (const std::string& b : base[0]) found = found || b == name;
    if (!found && only_in_one)
      only_in_one->push_back("column " + name + " only in NEW's curve.csv");
  }
  for (size_t r = 1; r < std::min(base.size(), next.size()); ++r) {
    for (const auto& [i, j] : columns) {
      if (base[r][i] == next[r][j]) continue;
      return "epoch " + base[r][0] + ", " + base[0][i] + ": " + base[r][i] + " vs " + next[r][j];
    }
  }
  if (base.size() != next.size()) {
    return "BASE has " + std::to_string(base.size() - 1) + " epochs, NEW " +
           std::to_string(next.size() - 1);
  }
  return "";
}

CellComparison CompareCells(const CellResult& base, const CellResult& next,
                            const std::string& base_curve, const std::string& new_curve,
                            const CompareOptions& options) {
  CellComparison c;
  c.id = PairingKey(base, options);
  c.base = base;
  c.next = next;
  c.first_difference = FirstCurveDifference(base_curve, new_curve, &c.notes);
  c.identical = c.first_difference.empty();
  CompareLosses(base, next, &c);
  if (base.last.has_value() && next.last.has_value()) CompareFinal(*base.last, *next.last, &c);
  c.time_ratio = Ratio(SecondsPerEpoch(next), SecondsPerEpoch(base));
  c.passes_ratio = Ratio(FinalPasses(next), FinalPasses(base));
  NoteSetupDifferences(base, next, &c);

  if (base.status != next.status) {
    c.failures.push_back("status " + CellStatusName(base.status) + " -> " +
                         CellStatusName(next.status));
  }
  const int64_t base_epochs = base.curve.empty() ? 0 : base.curve.back().epoch;
  const int64_t new_epochs = next.curve.empty() ? 0 : next.curve.back().epoch;
  if (base_epochs != new_epochs) {
    c.failures.push_back("BASE ran " + std::to_string(base_epochs) + " epochs, NEW " +
                         std::to_string(new_epochs));
  }
  if (base.last.has_value() != next.last.has_value()) {
    c.failures.push_back(std::string("final metrics only in ") +
                         (base.last.has_value() ? "BASE" : "NEW"));
  }
  JudgeTolerances(options, &c);
  if (options.time_ratio.has_value() && std::isnan(c.time_ratio)) {
    c.notes.push_back("seconds per epoch not compared: a side has no positive wall time");
  }
  return c;
}

bool CompareResultDirs(const std::string& base_dir, const std::string& new_dir,
                       const CompareOptions& options, CompareResult* result, std::string* error) {
  *result = CompareResult();
  result->base_dir = base_dir;
  result->new_dir = new_dir;
  ResultDir base, next;
  if (!ReadSide("BASE", base_dir, &base, error) || !ReadSide("NEW", new_dir, &next, error)) {
    return false;
  }
  result->base_suite = base.suite_name;
  result->new_suite = next.suite_name;
  result->environment = EnvironmentDifferences(base.cells, next.cells);
  std::map<std::string, const CellResult*> base_by_key, new_by_key;
  if (!IndexCells("BASE", base, options, &base_by_key, error) ||
      !IndexCells("NEW", next, options, &new_by_key, error)) {
    return false;
  }
  for (const CellResult& b : base.cells) {
    const std::string key = PairingKey(b, options);
    const auto it = new_by_key.find(key);
    if (it == new_by_key.end()) {
      CellComparison c;
      c.id = key;
      c.base = b;
      c.failures.push_back("only in BASE (missing from NEW)");
      result->cells.push_back(std::move(c));
      continue;
    }
    std::string base_curve, new_curve;
    if (!ReadCurveText(base_dir, b, &base_curve, error) ||
        !ReadCurveText(new_dir, *it->second, &new_curve, error)) {
      return false;
    }
    result->cells.push_back(CompareCells(b, *it->second, base_curve, new_curve, options));
  }
  for (const CellResult& n : next.cells) {
    const std::string key = PairingKey(n, options);
    if (base_by_key.count(key)) continue;
    CellComparison c;
    c.id = key;
    c.next = n;
    c.failures.push_back("only in NEW (missing from BASE)");
    result->cells.push_back(std::move(c));
  }
  return true;
}

std::string CompareMarkdown(const CompareResult& result, const CompareOptions& options) {
  std::ostringstream md;
  md << "# twophase compare\n\n"
     << "- BASE: `" << result.base_dir << "` (suite " << result.base_suite << ")\n"
     << "- NEW: `" << result.new_dir << "` (suite " << result.new_suite << ")\n"
     << "- Tolerances: --loss-rtol " << Number(options.loss_rtol, "%g")
     << (options.loss_rtol == 0 ? " (bit-identical curves, wall-time columns aside)" : "")
     << ", --time-ratio "
     << (options.time_ratio.has_value() ? Number(*options.time_ratio, "%g") : "off") << "\n\n";
  const int failed = result.Failed();
  if (failed == 0) {
    md << "**PASS**: all " << result.cells.size() << " cells within tolerance.\n\n";
  } else {
    md << "**FAIL**: " << failed << " of " << result.cells.size() << " cells.\n\n";
  }
  if (!result.environment.empty()) {
    md << "## Environment differences (first cell of each side)\n\n";
    for (const std::string& line : result.environment) md << "- " << line << "\n";
    md << "\n";
  }
  if (failed > 0) {
    md << "## Failing cells\n\n";
    for (const CellComparison& c : result.cells) {
      if (c.Failed()) md << "- `" << c.id << "`: " << Joined(c.failures, "; ") << "\n";
    }
    md << "\n";
  }
  md << "## Cells\n\n"
     << "Relative differences |a - b| / max(|a|, |b|); ratios NEW / BASE.\n\n"
     << "| cell | status | bit-identical | epochs compared | train loss | test loss | final "
        "| s/epoch | passes | verdict |\n"
     << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const CellComparison& c : result.cells) {
    const bool both = c.base.has_value() && c.next.has_value();
    const std::string status =
        c.base.has_value() && c.next.has_value() && c.base->status == c.next->status
            ? Shown(c.base)
            : Shown(c.base) + " -> " + Shown(c.next);
    md << "| " << c.id << " | " << status << " | " << (both ? (c.identical ? "yes" : "no") : "—")
       << " | " << (both ? std::to_string(c.compared_epochs) : "—") << " | "
       << (both ? Number(c.train_loss_rdiff) : "—") << " | "
       << (both ? Number(c.test_loss_rdiff) : "—") << " | " << (both ? Number(c.final_rdiff) : "—")
       << " | " << Number(c.time_ratio) << " | " << Number(c.passes_ratio, "%.4g") << " | "
       << (c.Failed() ? "FAIL" : "ok") << " |\n";
  }
  bool any_notes = false;
  for (const CellComparison& c : result.cells) any_notes = any_notes || !c.notes.empty();
  if (any_notes) {
    md << "\n## Notes\n\n";
    for (const CellComparison& c : result.cells) {
      if (!c.notes.empty()) md << "- `" << c.id << "`: " << Joined(c.notes, "; ") << "\n";
    }
  }
  return md.str();
}

std::string CompareCsv(const CompareResult& result) {
  std::ostringstream csv;
  csv << "id,base_status,new_status,identical,compared_epochs,train_loss_rdiff,"
         "train_loss_epoch,test_loss_rdiff,test_loss_epoch,final_rdiff,final_metric,"
         "seconds_per_epoch_ratio,passes_ratio,verdict,reasons\n";
  const auto num = [](double v) { return std::isnan(v) ? std::string() : Number(v, "%.9g"); };
  for (const CellComparison& c : result.cells) {
    const bool both = c.base.has_value() && c.next.has_value();
    csv << c.id << "," << (c.base ? CellStatusName(c.base->status) : "") << ","
        << (c.next ? CellStatusName(c.next->status) : "") << ","
        << (both ? (c.identical ? "yes" : "no") : "") << ","
        << (both ? std::to_string(c.compared_epochs) : "") << ","
        << (both ? num(c.train_loss_rdiff) : "") << ","
        << (both ? std::to_string(c.train_loss_epoch) : "") << ","
        << (both ? num(c.test_loss_rdiff) : "") << ","
        << (both ? std::to_string(c.test_loss_epoch) : "") << ","
        << (both ? num(c.final_rdiff) : "") << "," << c.final_metric << "," << num(c.time_ratio)
        << "," << num(c.passes_ratio) << "," << (c.Failed() ? "fail" : "ok") << ","
        << CsvQuoted(Joined(c.failures, "; ")) << "\n";
  }
  return csv.str();
}

std::vector<const CellComparison*> MostMoved(const CompareResult& result, size_t limit) {
  std::vector<const CellComparison*> moved;
  for (const CellComparison& c : result.cells) {
    if (c.base.has_value() && c.next.has_value() && !c.base->curve.empty() &&
        !c.next->curve.empty() && c.Movement() > 0) {
      moved.push_back(&c);
    }
  }
  std::stable_sort(moved.begin(), moved.end(),
                   [](const CellComparison* a, const CellComparison* b) {
                     return a->Movement() > b->Movement();
                   });
  if (moved.size() > limit) moved.resize(limit);
  return moved;
}

std::string ComparePlotsMarkdown(const std::vector<std::pair<std::string, std::string>>& plots,
                                 const std::string& note) {
  std::ostringstream md;
  md << "\n## Plots\n\n";
  if (plots.empty()) {
    md << (note.empty() ? std::string("No cell moved, so there is nothing to plot.")
                        : "Not drawn: " + note)
       << "\n";
    return md.str();
  }
  md << "The cells that moved most: training and test loss against epoch, BASE solid, NEW "
        "dashed.\n\n";
  for (const auto& [id, path] : plots) md << "![" << id << "](" << path << ")\n";
  return md.str();
}

}  // namespace twophase
