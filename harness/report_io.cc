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
#include "harness/report.h"
#include "harness/report_consistency.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A value as it appears in the file, shortened for messages.
std::string Shown(const json& value) { return ShowJson(value, 40); }

// Field access with errors "<file>: <parent>.<key>: <what>".
class FieldReader {
 public:
  FieldReader(const std::string& path, std::string* error) : path_(path), error_(error) {}

  bool Fail(const std::string& field, const std::string& what) {
    *error_ = path_ + ": " + field + ": " + what;
    return false;
  }

  // The member `key` of `object`, or nullptr when it is absent or null.
  static const json* Find(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  bool Object(const json& object, const std::string& parent, const char* key, bool required,
              const json** out) {
    *out = Find(object, key);
    if (*out == nullptr) return !required || Fail(Name(parent, key), "missing");
    if (!(*out)->is_object()) {
      return Fail(Name(parent, key), "expected an object, got " + Shown(**out));
    }
    return true;
  }

  bool String(const json& object, const std::string& parent, const char* key, bool required,
              std::string* out) {
    const json* v = Find(object, key);
    if (v == nullptr) return !required || Fail(Name(parent, key), "missing");
    if (!v->is_string()) return Fail(Name(parent, key), "expected a string, got " + Shown(*v));
    *out = v->get<std::string>();
    if (required && out->empty()) return Fail(Name(parent, key), "is empty");
    return true;
  }

  // An integer >= min (a float with an integral value counts).
  bool Int(const json& object, const std::string& parent, const char* key, bool required,
           int64_t min, int64_t* out) {
    const json* v = Find(object, key);
    if (v == nullptr) return !required || Fail(Name(parent, key), "missing");
    const std::string expected = "expected an integer >= " + std::to_string(min);
    if (!v->is_number()) return Fail(Name(parent, key), expected + ", got " + Shown(*v));
    int64_t value = 0;
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) {
        return Fail(Name(parent, key), expected + ", got " + Shown(*v));
      }
      value = static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
      value = v->get<int64_t>();
    } else {
      const double d = v->get<double>();
      if (!(std::floor(d) == d && std::fabs(d) < 9e15)) {
        return Fail(Name(parent, key), expected + ", got " + Shown(*v));
      }
      value = static_cast<int64_t>(d);
    }
    if (value < min) return Fail(Name(parent, key), expected + ", got " + Shown(*v));
    *out = value;
    return true;
  }

  // A number; null reads as NaN (how JSON writers store a diverged run's
  // non-finite values).
  bool Number(const json& object, const std::string& parent, const char* key, bool required,
              double* out) {
    const auto it = object.find(key);
    if (it == object.end()) return !required || Fail(Name(parent, key), "missing");
    if (it->is_null()) {
      *out = kReportNaN;
      return true;
    }
    if (!it->is_number()) {
      return Fail(Name(parent, key), "expected a number, got " + Shown(*it));
    }
    *out = it->get<double>();
    return true;
  }

  // An object's scalar members as text (strings bare, others as JSON).
  static void Scalars(const json& object, std::map<std::string, std::string>* out) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (it->is_structured()) continue;
      (*out)[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
    }
  }

 private:
  static std::string Name(const std::string& parent, const char* key) {
    return parent.empty() ? key : parent + "." + key;
  }

  const std::string& path_;
  std::string* error_;
};

bool ParseCellBlock(const json& c, FieldReader* r, bool need_sizes, CellResult* cell) {
  const std::string p = "cell";
  if (!r->String(c, p, "id", true, &cell->id) || !r->String(c, p, "model", true, &cell->model) ||
      !r->String(c, p, "dataset", true, &cell->dataset) ||
      !r->String(c, p, "algorithm", true, &cell->algorithm) ||
      !r->String(c, p, "optimizer", true, &cell->optimizer) ||
      !r->String(c, p, "backend", true, &cell->backend) ||
      !r->Int(c, p, "index", false, 0, &cell->index) ||
      !r->Int(c, p, "seed", true, 0, &cell->seed) ||
      !r->Int(c, p, "threads", true, 1, &cell->threads) ||
      !r->Int(c, p, "epochs", true, 0, &cell->epochs) ||
      !r->Int(c, p, "eval_every", false, 1, &cell->eval_every)) {
    return false;
  }
  if (cell->optimizer != "adam" && cell->optimizer != "cg" && cell->optimizer != "two-phase") {
    return r->Fail("cell.optimizer",
                   "expected adam, cg or two-phase, got '" + cell->optimizer + "'");
  }
  // Running, failed and skipped cells may not have got as far as building the model
  // and loading the data; everything else must say what it trained.
  const int64_t min_size = need_sizes ? 1 : 0;
  if (!r->Int(c, p, "parameters", need_sizes, min_size, &cell->parameters) ||
      !r->Int(c, p, "train_samples", need_sizes, min_size, &cell->train_samples) ||
      !r->Int(c, p, "test_samples", need_sizes, 0, &cell->test_samples) ||
      !r->Int(c, p, "outputs", need_sizes, min_size, &cell->outputs)) {
    return false;
  }
  if (!r->String(c, p, "loss", false, &cell->loss)) return false;
  // The suite's "0: none" reads as no target, like null.
  double target = kReportNaN;
  if (!r->Number(c, p, "target_loss", false, &target)) return false;
  if (std::isfinite(target) && target > 0) cell->target_loss = target;
  const json* settings = nullptr;
  if (!r->Object(c, p, "settings", false, &settings)) return false;
  if (settings != nullptr) FieldReader::Scalars(*settings, &cell->settings);
  return true;
}

bool ParseFinalBlock(const json& f, FieldReader* r, CellFinal* last) {
  const std::string p = "final";
  return r->Int(f, p, "epoch", true, 0, &last->epoch) &&
         r->Number(f, p, "train_loss", true, &last->train_loss) &&
         r->Number(f, p, "train_accuracy", true, &last->train_accuracy) &&
         r->Number(f, p, "test_loss", true, &last->test_loss) &&
         r->Number(f, p, "test_accuracy", true, &last->test_accuracy) &&
         r->Number(f, p, "wall_seconds", true, &last->wall_seconds) &&
         r->Number(f, p, "forward_passes", true, &last->forward_passes);
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
  FieldReader r(path, error);
  std::string format;
  if (!r.String(doc, "", "format", true, &format)) return false;
  if (format != kRunFormat) {
    return r.Fail("format", std::string("expected '") + kRunFormat + "', got '" + format + "'");
  }
  std::string status;
  if (!r.String(doc, "", "status", true, &status)) return false;
  std::string status_error;
  if (!ParseCellStatus(status, &cell->status, &status_error)) {
    return r.Fail("status", status_error);
  }
  const json* suite = nullptr;
  const json* c = nullptr;
  if (!r.Object(doc, "", "suite", true, &suite) ||
      !r.String(*suite, "suite", "name", true, &cell->suite_name) ||
      !r.Object(doc, "", "cell", true, &c)) {
    return false;
  }
  const bool started_only = cell->status == CellStatus::kRunning ||
                            cell->status == CellStatus::kFailed ||
                            cell->status == CellStatus::kSkipped;
  if (!ParseCellBlock(*c, &r, !started_only, cell)) return false;
  if (!r.String(doc, "", "message", false, &cell->message) ||
      !r.String(doc, "", "start", false, &cell->start) ||
      !r.String(doc, "", "end", false, &cell->end)) {
    return false;
  }
  const json* swap = nullptr;
  if (!r.Object(doc, "", "swap", false, &swap)) return false;
  if (swap != nullptr) {
    int64_t epoch = 0;
    if (!r.Int(*swap, "swap", "epoch", true, 0, &epoch)) return false;
    cell->swap_epoch = epoch;
  }
  const json* last = nullptr;
  if (!r.Object(doc, "", "final", cell->Finished(), &last)) return false;
  if (last != nullptr) {
    CellFinal f;
    if (!ParseFinalBlock(*last, &r, &f)) return false;
    cell->last = f;
  }
  const json* environment = nullptr;
  if (!r.Object(doc, "", "environment", false, &environment)) return false;
  if (environment != nullptr) FieldReader::Scalars(*environment, &cell->environment);
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
