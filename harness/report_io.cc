// Reading a result directory: metadata.json and curve.csv of each cell,
// validated against results/README.md with errors that name the file and
// the field. nlohmann's exceptions are caught here and turned into errors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/atomic_file.h"
#include "core/bounded_json.h"
#include "harness/json_fields.h"
#include "harness/report.h"
#include "harness/report_consistency.h"
#include "training/trainer.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// metadata.json's fields (results/README.md), read with json_fields.h's
// FieldReader; ParseCellMetadata prefixes the file to its errors.

// A string that must be there and not be empty.
void Text(FieldReader* r, const std::string& key, std::string* out) {
  r->Require(key);
  r->String(key, out);
  if (r->ok() && out->empty()) r->Fail(r->Where(key), "must not be empty");
}

// An integer >= min.
void Int(FieldReader* r, const std::string& key, bool required, int64_t min, int64_t* out) {
  if (required) r->Require(key);
  const std::string constraint = ">= " + std::to_string(min);
  r->Number(
      key, out, [min](int64_t v) { return v >= min; }, constraint.c_str());
}

// A number; null reads as NaN (how nlohmann writes a diverged run's
// non-finite values).
void NumberOrNull(FieldReader* r, const std::string& key, bool required, double* out) {
  if (required) r->Require(key);
  if (r->Has(key) && r->Get(key).is_null()) {
    *out = kReportNaN;
    return;
  }
  r->Number(
      key, out, [](double) { return true; }, "");
}

// An object's scalar members as text (strings bare, others as JSON).
void Scalars(const json& object, std::map<std::string, std::string>* out) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it->is_structured()) continue;
    (*out)[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  }
}

void ReadCellBlock(FieldReader* r, bool need_sizes, CellResult* cell) {
  Text(r, "id", &cell->id);
  Text(r, "model", &cell->model);
  Text(r, "dataset", &cell->dataset);
  Text(r, "algorithm", &cell->algorithm);
  // The suite's label is free text; the optimizer is one of the Algorithm
  // enum's names.
  Algorithm optimizer = Algorithm::kAdam;
  r->Require("optimizer");
  r->Name("optimizer", &optimizer, ParseAlgorithm);
  if (r->ok()) cell->optimizer = AlgorithmName(optimizer);
  Text(r, "backend", &cell->backend);
  Int(r, "index", false, 0, &cell->index);
  Int(r, "seed", true, 0, &cell->seed);
  Int(r, "threads", true, 1, &cell->threads);
  Int(r, "epochs", true, 0, &cell->epochs);
  Int(r, "eval_every", false, 1, &cell->eval_every);
  // Running, failed and skipped cells may not have got as far as building
  // the model and loading the data; everything else must say what it trained.
  const int64_t min_size = need_sizes ? 1 : 0;
  Int(r, "parameters", need_sizes, min_size, &cell->parameters);
  Int(r, "train_samples", need_sizes, min_size, &cell->train_samples);
  Int(r, "test_samples", need_sizes, 0, &cell->test_samples);
  Int(r, "outputs", need_sizes, min_size, &cell->outputs);
  r->String("loss", &cell->loss);
  // The suite's "0: none" reads as no target, like null.
  double target = kReportNaN;
  NumberOrNull(r, "target_loss", false, &target);
  if (std::isfinite(target) && target > 0) cell->target_loss = target;
  r->Object("settings", false, [&](FieldReader*) { Scalars(r->Get("settings"), &cell->settings); });
}

void ReadFinalBlock(FieldReader* r, CellFinal* last) {
  Int(r, "epoch", true, 0, &last->epoch);
  NumberOrNull(r, "train_loss", true, &last->train_loss);
  NumberOrNull(r, "train_accuracy", true, &last->train_accuracy);
  NumberOrNull(r, "test_loss", true, &last->test_loss);
  NumberOrNull(r, "test_accuracy", true, &last->test_accuracy);
  NumberOrNull(r, "wall_seconds", true, &last->wall_seconds);
  NumberOrNull(r, "forward_passes", true, &last->forward_passes);
}

void ReadMetadata(FieldReader* r, CellResult* cell) {
  std::string format;
  Text(r, "format", &format);
  if (r->ok() && format != kRunFormat) {
    r->Fail("format", std::string("must be \"") + kRunFormat + "\"", r->Get("format"));
  }
  r->Require("status");
  r->Name("status", &cell->status, ParseCellStatus);
  r->Object("suite", true, [cell](FieldReader* suite) { Text(suite, "name", &cell->suite_name); });
  const bool started_only = cell->status == CellStatus::kRunning ||
                            cell->status == CellStatus::kFailed ||
                            cell->status == CellStatus::kSkipped;
  r->Object("cell", true, [&](FieldReader* c) { ReadCellBlock(c, !started_only, cell); });
  r->String("message", &cell->message);
  r->String("start", &cell->start);
  r->String("end", &cell->end);
  r->Object("swap", false, [cell](FieldReader* swap) {
    int64_t epoch = 0;
    Int(swap, "epoch", true, 0, &epoch);
    if (swap->ok()) cell->swap_epoch = epoch;
  });
  r->Object("final", cell->Finished(), [cell](FieldReader* f) {
    CellFinal last;
    ReadFinalBlock(f, &last);
    if (f->ok()) cell->last = last;
  });
  r->Object("environment", false,
            [&](FieldReader*) { Scalars(r->Get("environment"), &cell->environment); });
}

// Splits on commas; CSV quoting never occurs in curve.csv (phase names and
// numbers only).
std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

// strtod that must consume the whole field; accepts nan and inf, as %g
// writes them for a diverged run.
bool ParseDouble(std::string_view field, double* out) {
  if (field.empty()) return false;
  const std::string s(field);
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// The curve.csv columns the report needs, in CurveRow's order.
constexpr CurveColumn kNeeded[] = {CurveColumn::kEpoch,          CurveColumn::kPhase,
                                   CurveColumn::kTrainLoss,      CurveColumn::kTrainAccuracy,
                                   CurveColumn::kTestLoss,       CurveColumn::kTestAccuracy,
                                   CurveColumn::kGradientNorm,   CurveColumn::kForwardPasses,
                                   CurveColumn::kBackwardPasses, CurveColumn::kWallSeconds};
constexpr size_t kCount = sizeof(kNeeded) / sizeof(kNeeded[0]);

// The numbers of one row (values[1], the phase, is left alone). The four
// evaluation cells are all numbers, or all empty for an epoch eval_every
// skipped (*evaluated false, values NaN); any other empty cell is an error.
bool ParseCurveNumbers(const std::vector<std::string_view>& fields, const size_t* column,
                       const std::string& where, double* values, bool* evaluated,
                       std::string* error) {
  size_t empty = 0, evaluation_columns = 0;
  for (size_t k = 0; k < kCount; ++k) {
    if (!IsEvaluationColumn(kNeeded[k])) continue;
    ++evaluation_columns;
    empty += fields[column[k]].empty();
  }
  *evaluated = empty < evaluation_columns;
  for (size_t k = 0; k < kCount; ++k) {
    if (kNeeded[k] == CurveColumn::kPhase) continue;  // text
    const std::string_view field = fields[column[k]];
    const bool evaluation = IsEvaluationColumn(kNeeded[k]);
    if (evaluation && !*evaluated) {
      values[k] = kReportNaN;
      continue;
    }
    if (evaluation && field.empty()) {
      *error = where + "column " + std::string(CurveColumnName(kNeeded[k])) +
               ": empty, but other evaluation columns of this epoch are not (an epoch is "
               "evaluated whole or not at all)";
      return false;
    }
    if (!ParseDouble(field, &values[k])) {
      *error = where + "column " + std::string(CurveColumnName(kNeeded[k])) + ": '" +
               std::string(field) + "' is not a number";
      return false;
    }
  }
  return true;
}

// The probe's columns, in CurveRow's order; optional as a group.
constexpr CurveColumn kProbe[] = {CurveColumn::kLambdaMin, CurveColumn::kLambdaMax,
                                  CurveColumn::kCurvatureGradient, CurveColumn::kCurvatureUpdate,
                                  CurveColumn::kProbeSeconds};
constexpr size_t kProbeCount = sizeof(kProbe) / sizeof(kProbe[0]);

// Finds the probe's columns in the header: *present false when it has none
// of them (a curve written before the probe); an error when it has some.
bool FindProbeColumns(const std::vector<std::string_view>& header, const std::string& path,
                      size_t* column, bool* present, std::string* error) {
  size_t found = 0;
  std::string missing;
  for (size_t k = 0; k < kProbeCount; ++k) {
    const std::string_view name = CurveColumnName(kProbe[k]);
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      if (missing.empty()) missing = name;
      continue;
    }
    column[k] = static_cast<size_t>(it - header.begin());
    ++found;
  }
  *present = found == kProbeCount;
  if (found == 0 || *present) return true;
  *error = path + ": line 1: the header has some of the curvature probe's columns but not '" +
           missing + "' (the five come together)";
  return false;
}

// One row's probe cells: all five empty (the probe did not run after this
// epoch) or all five numbers, lambda_min <= lambda_max (the extreme Ritz
// values of one Lanczos run) and probe_seconds >= 0.
bool ParseProbeCells(const std::vector<std::string_view>& fields, const size_t* column,
                     const std::string& where, CurveRow* row, std::string* error) {
  size_t empty = 0;
  for (size_t k = 0; k < kProbeCount; ++k) empty += fields[column[k]].empty();
  if (empty == kProbeCount) return true;
  double values[kProbeCount] = {};
  for (size_t k = 0; k < kProbeCount; ++k) {
    const std::string_view field = fields[column[k]];
    const std::string name(CurveColumnName(kProbe[k]));
    if (field.empty()) {
      *error = where + "column " + name +
               ": empty, but other probe columns of this epoch are not (the probe fills all "
               "five or none)";
      return false;
    }
    if (!ParseDouble(field, &values[k])) {
      *error = where + "column " + name + ": '" + std::string(field) + "' is not a number";
      return false;
    }
  }
  if (values[0] > values[1]) {
    *error = where + "column lambda_min: '" + std::string(fields[column[0]]) +
             "' is above lambda_max '" + std::string(fields[column[1]]) + "'";
    return false;
  }
  if (!(values[4] >= 0 && std::isfinite(values[4]))) {
    *error = where + "column probe_seconds: '" + std::string(fields[column[4]]) +
             "' is not a finite number >= 0";
    return false;
  }
  row->probed = true;
  row->lambda_min = values[0];
  row->lambda_max = values[1];
  row->curvature_gradient = values[2];
  row->curvature_update = values[3];
  row->probe_seconds = values[4];
  return true;
}

}  // namespace

bool ParseCurveCsv(const std::string& text, const std::string& path, std::vector<CurveRow>* rows,
                   std::string* error) {
  rows->clear();
  if (text.empty()) {
    *error = path + ": empty file (expected the header line)";
    return false;
  }
  if (text.back() != '\n') {
    *error = path + ": the last line has no line end (truncated file?)";
    return false;
  }
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  const std::vector<std::string_view> header = SplitFields(lines[0]);
  size_t column[kCount];
  for (size_t k = 0; k < kCount; ++k) {
    const std::string_view name = CurveColumnName(kNeeded[k]);
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      *error = path + ": line 1: the header has no column '" + std::string(name) + "'";
      return false;
    }
    column[k] = static_cast<size_t>(it - header.begin());
  }
  size_t probe_column[kProbeCount] = {};
  bool probe_columns = false;
  if (!FindProbeColumns(header, path, probe_column, &probe_columns, error)) return false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string where = path + ": line " + std::to_string(i + 1) + ": ";
    const std::vector<std::string_view> fields = SplitFields(lines[i]);
    if (fields.size() != header.size()) {
      *error = where + "expected " + std::to_string(header.size()) +
               " fields as in the header, got " + std::to_string(fields.size()) +
               " (truncated file?)";
      return false;
    }
    double values[kCount] = {};
    CurveRow row;
    if (!ParseCurveNumbers(fields, column, where, values, &row.evaluated, error)) return false;
    if (!(std::floor(values[0]) == values[0] && values[0] >= 0 && values[0] < 1e15)) {
      *error =
          where + "column epoch: '" + std::string(fields[column[0]]) + "' is not an epoch number";
      return false;
    }
    row.epoch = static_cast<int64_t>(values[0]);
    if (!rows->empty() && row.epoch <= rows->back().epoch) {
      *error = where + "epoch " + std::to_string(row.epoch) + " does not follow epoch " +
               std::to_string(rows->back().epoch);
      return false;
    }
    std::string why;
    if (!ParsePhase(fields[column[1]], &row.phase, &why)) {
      *error = where + "column phase: " + why;
      return false;
    }
    row.train_loss = values[2];
    row.train_accuracy = values[3];
    row.test_loss = values[4];
    row.test_accuracy = values[5];
    row.gradient_norm = values[6];
    row.forward_passes = values[7];
    row.backward_passes = values[8];
    row.wall_seconds = values[9];
    if (probe_columns && !ParseProbeCells(fields, probe_column, where, &row, error)) return false;
    rows->push_back(row);
  }
  return true;
}

bool ReadCurveCsv(const std::string& path, std::vector<CurveRow>* rows, std::string* error) {
  std::string text;
  return ReadWholeFile(path, &text, error) && ParseCurveCsv(text, path, rows, error);
}

bool ParseCellMetadata(const std::string& text, const std::string& path, CellResult* cell,
                       std::string* error) {
  json doc;
  if (!ParseJsonObjectFile(text, path, &doc, error)) return false;
  std::string why;
  FieldReader r(doc, "", &why);
  ReadMetadata(&r, cell);
  if (!r.ok()) {
    *error = path + ": " + why;
    return false;
  }
  return true;
}

bool ReadCell(const std::string& cell_dir, CellResult* cell, std::string* error) {
  const fs::path dir(cell_dir);
  *cell = CellResult();
  cell->folder = dir.filename().string();
  const std::string metadata = (dir / "metadata.json").string();
  std::error_code ec;
  if (!fs::exists(metadata, ec)) {
    *error = metadata + ": missing (a cell folder without metadata never started properly)";
    return false;
  }
  std::string text;
  if (!ReadWholeFile(metadata, &text, error) || !ParseCellMetadata(text, metadata, cell, error)) {
    return false;
  }
  if (cell->id != cell->folder) {
    *error = metadata + ": cell.id: '" + cell->id + "' is not the name of its folder '" +
             cell->folder + "'";
    return false;
  }
  const std::string curve = (dir / "curve.csv").string();
  if (!fs::exists(curve, ec)) {
    if (cell->last.has_value()) {
      *error = curve + ": missing, but metadata.json has a final epoch " +
               std::to_string(cell->last->epoch);
      return false;
    }
    return ReadCellEvents(cell_dir, cell, error);
  }
  if (!ReadCurveCsv(curve, &cell->curve, error)) return false;
  if (cell->last.has_value()) {
    const int64_t last_epoch = cell->curve.empty() ? 0 : cell->curve.back().epoch;
    if (last_epoch != cell->last->epoch) {
      *error = curve + ": ends at epoch " + std::to_string(last_epoch) +
               ", but metadata.json's final.epoch is " + std::to_string(cell->last->epoch) +
               " (truncated curve?)";
      return false;
    }
  }
  return CheckCellConsistency(*cell, metadata, curve, error) &&
         ReadCellEvents(cell_dir, cell, error);
}

bool ReadResultDir(const std::string& dir, ResultDir* result, std::string* error) {
  *result = ResultDir();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    *error = dir + ": not a folder";
    return false;
  }
  const fs::path cells_dir = fs::path(dir) / "cells";
  if (!fs::is_directory(cells_dir, ec)) {
    *error = cells_dir.string() + ": no such folder (is " + dir +
             " a result directory written by 'twophase run'?)";
    return false;
  }
  // Non-throwing iteration: increment(ec) instead of range-for's operator++.
  std::vector<fs::path> folders;
  for (fs::directory_iterator it(cells_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!name.empty() && name[0] != '.' && it->is_directory(type_ec)) {
      folders.push_back(it->path());
    }
  }
  if (ec) {
    *error = cells_dir.string() + ": cannot list: " + ec.message();
    return false;
  }
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    CellResult cell;
    std::string cell_error;
    if (ReadCell(folder.string(), &cell, &cell_error)) {
      result->cells.push_back(std::move(cell));
    } else {
      result->unreadable.push_back({folder.filename().string(), cell_error});
    }
  }
  // Suite order: cells without an index go last, by id.
  std::stable_sort(result->cells.begin(), result->cells.end(),
                   [](const CellResult& a, const CellResult& b) {
                     const uint64_t ia = static_cast<uint64_t>(a.index);  // -1 sorts last
                     const uint64_t ib = static_cast<uint64_t>(b.index);
                     return ia != ib ? ia < ib : a.id < b.id;
                   });
  if (!result->cells.empty()) {
    result->suite_name = result->cells.front().suite_name;
  } else {
    // No readable cell: the suite file's own name, if it has one.
    std::string text, ignored;
    if (ReadWholeFile((fs::path(dir) / "suite.json").string(), &text, &ignored)) {
      const json suite = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (suite.is_object() && suite.contains("name") && suite["name"].is_string()) {
        result->suite_name = suite["name"].get<std::string>();
      }
    }
  }
  return true;
}

}  // namespace twophase
