#include "harness/suite.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <utility>

#include "core/atomic_file.h"
#include "core/backend.h"
#include "core/bounded_json.h"
#include "core/threads.h"
#include "harness/json_fields.h"
#include "models/model.h"
#include "training/option_table.h"

namespace twophase {
namespace {

using nlohmann::json;

bool IsLabel(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

auto Positive = [](auto v) { return v > 0; };
auto NonNegative = [](auto v) { return v >= 0; };
auto FiniteNonNegative = [](double v) { return std::isfinite(v) && v >= 0; };

// A list of names from a fixed set, at least one, no repeats.
void NameList(FieldReader* r, const std::string& key, const std::vector<std::string>& known,
              const char* what, std::vector<std::string>* out) {
  if (!r->Has(key)) return;
  const json& v = r->Get(key);
  if (!v.is_array() || v.empty()) return r->Fail(r->Where(key), "must be a non-empty array", v);
  std::vector<std::string> names;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = r->Where(key) + "[" + std::to_string(i) + "]";
    if (!v[i].is_string()) return r->Fail(where, "must be a string", v[i]);
    const std::string name = v[i].get<std::string>();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return r->Fail(where,
                     "unknown " + std::string(what) + " '" + name + "' (known: " + list + ")");
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return r->Fail(where, "'" + name + "' is listed twice");
    }
    names.push_back(name);
  }
  *out = names;
}

bool ParseSubsetMode(const std::string& name, SubsetMode* mode, std::string* error) {
  if (name == "first")
    *mode = SubsetMode::kFirst;
  else if (name == "stratified")
    *mode = SubsetMode::kStratified;
  else {
    *error = "unknown subset mode '" + name + "' (known: first, stratified)";
    return false;
  }
  return true;
}

// The data fields shared by the suite's top level (defaults) and each
// dataset object.
void DataFields(FieldReader* r, SuiteDataset* d) {
  r->Number("subset", &d->subset, NonNegative, ">= 0 (0: all)");
  r->Name("subset_mode", &d->subset_mode, ParseSubsetMode);
  r->Number("test_subset", &d->test_subset, NonNegative, ">= 0 (0: all)");
}

void ParseDatasets(FieldReader* r, const SuiteDataset& defaults, std::string* error,
                   std::vector<SuiteDataset>* out) {
  if (!r->Has("datasets")) return r->Fail(r->Where("datasets"), "is required");
  const json& v = r->Get("datasets");
  if (!v.is_array() || v.empty()) {
    return r->Fail(r->Where("datasets"), "must be a non-empty array", v);
  }
  const std::vector<std::string> known = DatasetNames();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = "datasets[" + std::to_string(i) + "]";
    SuiteDataset d = defaults;
    if (v[i].is_string()) {
      d.name = v[i].get<std::string>();
    } else {
      FieldReader dr(v[i], where, error);
      dr.String("name", &d.name);
      DataFields(&dr, &d);
      if (dr.ok() && d.name.empty()) dr.Fail(where + ".name", "is required");
      dr.RejectUnknown();
      if (!dr.ok()) return r->FailedInside();  // dr has set *error
    }
    if (std::find(known.begin(), known.end(), d.name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return r->Fail(where, "unknown data set '" + d.name + "' (known: " + list + ")");
    }
    for (const SuiteDataset& other : *out) {
      if (other.name == d.name) return r->Fail(where, "'" + d.name + "' is listed twice");
    }
    out->push_back(d);
  }
}

// A suite-wide field that every cell's TrainOptions takes: the type here,
// the limit TrainOptions::IsValid's.
template <typename T>
void TrainOptionEntry(FieldReader* r, const std::string& key, T* out, T TrainOptions::*member) {
  r->Number(
      key, out, [](T) { return true; }, "");
  TrainOptions t;
  t.*member = *out;
  std::string why;
  if (r->Has(key) && !t.IsValid(&why)) r->Fail(r->Where(key), why);
}

// The option table's fields of an algorithm entry. The reader checks the
// types; the limits are IsValid's, every part's whatever the optimizer,
// with the path of the field to blame put before the message.
void TrainOptionEntries(FieldReader* r, TrainOptions* t) {
  auto any = [](auto) { return true; };
  for (const OptionField& field : TrainOptionFields()) {
    if (field.number != nullptr) r->Number(field.key, &field.number(*t), any, "");
    if (field.integer != nullptr) r->Number(field.key, &field.integer(*t), any, "");
    if (field.flag != nullptr) r->Bool(field.key, &field.flag(*t));
    if (field.parse != nullptr) r->Name(field.key, t, field.parse);
  }
  const OptionField* bad = nullptr;
  std::string why;
  // Only the table's fields are set here: a fault elsewhere (none can be)
  // would be left to the whole-run check.
  if (r->ok() && !IsValidFieldByField(*t, &bad, &why) && bad != nullptr) {
    r->Fail(r->Where(bad->key), why);
  }
}

bool ParseAlgorithm(const json& v, const std::string& where, AlgorithmSpec* a, std::string* error) {
  FieldReader r(v, where, error);
  std::string optimizer;
  r.String("optimizer", &optimizer);
  if (r.ok() && optimizer.empty())
    r.Fail(where + ".optimizer", "is required (adam, cg, two-phase)");
  if (r.ok()) {
    std::string why;
    if (!twophase::ParseAlgorithm(optimizer, &a->optimizer, &why)) {
      r.Fail(where + ".optimizer", why);
    }
  }
  a->label = optimizer;
  r.String("label", &a->label);
  NameList(&r, "models", ModelNames(), "model", &a->models);
  if (r.ok() && !IsLabel(a->label)) {
    r.Fail(where + ".label", "must be 1-64 characters of a-z, 0-9 and -", json(a->label));
  }
  TrainOptions& t = a->train;
  t.algorithm = a->optimizer;
  TrainOptionEntries(&r, &t);
  r.Number(
      "swap_fraction", &a->swap_fraction, [](double f) { return f >= 0 && f < 1; },
      "in [0, 1) (0: use the detector)");
  r.RejectUnknown();
  if (!r.ok()) return false;
  if (a->swap_fraction > 0 && t.detector.fixed_epoch > 0) {
    *error = where + ": swap_epoch and swap_fraction exclude each other";
    return false;
  }
  // The settings as run: only those that matter for this optimizer.
  a->settings = OptionSettings(t);
  a->settings["optimizer"] = optimizer;
  if (a->optimizer == Algorithm::kTwoPhase) a->settings["swap_fraction"] = a->swap_fraction;
  return true;
}

// The cells are the product of five lists; the message names each factor.
// The product saturates: it must not wrap below the limit.
// Checked before the algorithm entries are parsed (`algorithms` is their
// count), so that a million of them is refused at once.
bool CheckCellCount(const Suite& suite, size_t algorithms, std::string* error) {
  const std::pair<const char*, size_t> factors[] = {{"datasets", suite.datasets.size()},
                                                    {"models", suite.models.size()},
                                                    {"algorithms", algorithms},
                                                    {"backends", suite.backends.size()},
                                                    {"seeds", suite.seeds.size()}};
  uint64_t cells = 1;
  std::string product;
  for (const auto& [field, n] : factors) {
    if (__builtin_mul_overflow(cells, n, &cells)) cells = UINT64_MAX;
    product += (product.empty() ? "" : " x ") + std::string(field) + " (" + std::to_string(n) + ")";
  }
  if (cells <= static_cast<uint64_t>(kMaxSuiteCells)) return true;
  *error = product + " = " + std::to_string(cells) + " cells, more than the limit of " +
           std::to_string(kMaxSuiteCells) + " per suite (split it into several suites)";
  return false;
}

// "line 3, column 7" of a byte offset, for JSON syntax errors.
std::string LineColumn(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  const int64_t line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
  const size_t last_newline = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  const size_t column = last_newline == std::string::npos ? offset : offset - last_newline - 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

bool ParseSuite(const std::string& text, const std::string& file, Suite* suite,
                std::string* error) {
  *suite = Suite();
  suite->file = file;
  suite->text = text;
  json root;
  JsonReadError bad;
  if (!ParseBoundedJson(text, &root, &bad)) {
    if (!bad.syntax) {
      *error = file + ": " + bad.message;
      return false;
    }
    const size_t p = bad.message.find("syntax error");
    *error = file + ": not valid JSON at " + LineColumn(text, bad.byte) + ": " +
             (p == std::string::npos ? bad.message : bad.message.substr(p));
    return false;
  }
  std::string why;
  FieldReader r(root, "", &why);
  auto fail = [&] {
    *error = file + ": " + why;
    return false;
  };
  r.String("name", &suite->name);
  if (r.ok() && !IsLabel(suite->name)) {
    r.Fail("name", "is required: 1-64 characters of a-z, 0-9 and -", json(suite->name));
  }
  r.String("description", &suite->description);
  if (!r.Has("models")) r.Fail("models", "is required");
  NameList(&r, "models", ModelNames(), "model", &suite->models);
  SuiteDataset defaults;
  DataFields(&r, &defaults);
  ParseDatasets(&r, defaults, &why, &suite->datasets);
  if (!r.ok()) return fail();
  NameList(&r, "backends", BackendNames(), "backend", &suite->backends);
  if (r.Has("seeds")) {
    const json& v = r.Get("seeds");
    if (!v.is_array() || v.empty()) {
      r.Fail("seeds", "must be a non-empty array of integers >= 0", v);
    } else {
      suite->seeds.clear();
      std::set<uint64_t> seen;  // O(n log n): a list of 10^6 seeds must not hang
      for (size_t i = 0; i < v.size() && r.ok(); ++i) {
        if (!v[i].is_number_unsigned()) {
          r.Fail("seeds[" + std::to_string(i) + "]", "must be an integer >= 0", v[i]);
        } else if (!seen.insert(v[i].get<uint64_t>()).second) {
          r.Fail("seeds[" + std::to_string(i) + "]", "is listed twice", v[i]);
        } else {
          suite->seeds.push_back(v[i].get<uint64_t>());
        }
      }
    }
  }
  r.Number("threads", &suite->threads, IsValidThreadCount, ThreadCountConstraint().c_str());
  TrainOptionEntry(&r, "micro_batch", &suite->micro_batch, &TrainOptions::micro_batch);
  r.Number(
      "ranks_per_cell", &suite->ranks_per_cell, [](int64_t) { return true; }, "");
  if (r.ok() && !ValidRanksPerCell(suite->ranks_per_cell)) {
    r.Fail("ranks_per_cell", "must be 0 or a power of two", suite->ranks_per_cell);
  }
  r.String("loss", &suite->loss_name);
  if (r.ok()) {
    std::string w;
    if (!ParseLossKind(suite->loss_name, &suite->loss, &w)) r.Fail("loss", w);
  }
  r.Number("target_loss", &suite->target_loss, FiniteNonNegative, ">= 0 (0: none)");
  TrainOptionEntry(&r, "eval_every", &suite->eval_every, &TrainOptions::eval_every);
  r.Number(
      "checkpoint_epochs", &suite->checkpoint_epochs, [](int64_t v) { return v >= 0; },
      ">= 0 (0: not by epochs)");
  r.Number("checkpoint_seconds", &suite->checkpoint_seconds, FiniteNonNegative,
           ">= 0 (0: not by time)");
  if (r.Has("budget")) {
    FieldReader b(r.Get("budget"), "budget", &why);
    b.Number("epochs", &suite->epochs, Positive, ">= 1");
    if (b.Has("epochs_by_model")) {
      const json& m = b.Get("epochs_by_model");
      FieldReader mr(m, "budget.epochs_by_model", &why);
      for (const std::string& model : ModelNames()) {
        int64_t e = 0;
        mr.Number(model, &e, Positive, ">= 1");
        if (mr.ok() && mr.Has(model)) suite->epochs_by_model[model] = e;
      }
      mr.RejectUnknown();
      if (!mr.ok()) return fail();
      b.Has("epochs_by_model");
    }
    TrainOptionEntry(&b, "max_seconds", &suite->max_seconds, &TrainOptions::max_seconds);
    TrainOptionEntry(&b, "max_passes", &suite->max_passes, &TrainOptions::max_forward_passes);
    b.RejectUnknown();
    if (!b.ok()) return fail();
  } else if (r.ok()) {
    r.Fail("budget", "is required (at least {\"epochs\": N})");
  }
  if (!r.ok()) return fail();
  if (!r.Has("algorithms")) r.Fail("algorithms", "is required");
  if (!r.ok()) return fail();
  const json& algorithms = r.Get("algorithms");
  if (!algorithms.is_array() || algorithms.empty()) {
    r.Fail("algorithms", "must be a non-empty array", algorithms);
    return fail();
  }
  if (!CheckCellCount(*suite, algorithms.size(), &why)) return fail();
  std::set<std::string> labels;
  for (size_t i = 0; i < algorithms.size(); ++i) {
    const std::string where = "algorithms[" + std::to_string(i) + "]";
    AlgorithmSpec a;
    if (!ParseAlgorithm(algorithms[i], where, &a, &why)) return fail();
    if (!labels.insert(a.label).second) {
      why = where + ".label: '" + a.label +
            "' is used twice (give each entry of one optimizer its own label)";
      return fail();
    }
    for (size_t m = 0; m < a.models.size(); ++m) {
      if (std::find(suite->models.begin(), suite->models.end(), a.models[m]) ==
          suite->models.end()) {
        why = where + ".models[" + std::to_string(m) + "]: '" + a.models[m] +
              "' is not one of the suite's models";
        return fail();
      }
    }
    suite->algorithms.push_back(std::move(a));
  }
  r.RejectUnknown();
  if (!r.ok()) return fail();

  // Whole-run checks, with the per-cell values filled in: each algorithm's
  // options must be valid for every model's budget.
  for (const Cell& cell : ExpandCells(*suite)) {
    std::string w;
    if (!cell.train.IsValid(&w)) {
      const size_t i =
          std::find_if(suite->algorithms.begin(), suite->algorithms.end(),
                       [&](const AlgorithmSpec& a) { return a.label == cell.algorithm; }) -
          suite->algorithms.begin();
      why = "algorithms[" + std::to_string(i) + "] (cell " + cell.id + "): " + w;
      return fail();
    }
    if (cell.train.detector.fixed_epoch >= cell.train.epochs &&
        cell.train.algorithm == Algorithm::kTwoPhase) {
      why = "cell " + cell.id + ": the swap epoch " +
            std::to_string(cell.train.detector.fixed_epoch) + " leaves no epoch of the budget (" +
            std::to_string(cell.train.epochs) + ") to CG";
      return fail();
    }
  }
  return true;
}

bool LoadSuite(const std::string& path, Suite* suite, std::string* error) {
  std::string file = path;
  const bool bare = path.find('/') == std::string::npos && path.find('.') == std::string::npos;
  if (bare) file = std::string(TWOPHASE_SOURCE_DIR) + "/suites/" + path + ".json";
  std::string text;
  if (!ReadWholeFile(file, &text, error)) {
    if (bare) *error += " (no shipped suite '" + path + "'; see 'twophase list')";
    return false;
  }
  return ParseSuite(text, bare ? "suites/" + path + ".json" : path, suite, error);
}

std::vector<std::string> ShippedSuites() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(TWOPHASE_SOURCE_DIR) + "/suites", ec)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Cell> ExpandCells(const Suite& suite) {
  std::vector<Cell> cells;
  for (const SuiteDataset& dataset : suite.datasets) {
    for (const std::string& model : suite.models) {
      const auto by_model = suite.epochs_by_model.find(model);
      const int64_t epochs =
          by_model == suite.epochs_by_model.end() ? suite.epochs : by_model->second;
      for (const AlgorithmSpec& algorithm : suite.algorithms) {
        if (!algorithm.models.empty() && std::find(algorithm.models.begin(), algorithm.models.end(),
                                                   model) == algorithm.models.end()) {
          continue;
        }
        for (const std::string& backend : suite.backends) {
          for (uint64_t seed : suite.seeds) {
            Cell c;
            c.index = static_cast<int64_t>(cells.size());
            c.model = model;
            c.dataset = dataset;
            c.algorithm = algorithm.label;
            c.backend = backend;
            c.seed = seed;
            c.id = dataset.name + "." + model + "." + algorithm.label + "." + backend + ".s" +
                   std::to_string(seed);
            c.train = algorithm.train;
            c.train.epochs = epochs;
            c.train.seed = seed;
            c.train.loss = suite.loss;
            c.train.max_seconds = suite.max_seconds;
            c.train.max_forward_passes = suite.max_passes;
            c.train.micro_batch = suite.micro_batch;
            c.train.eval_every = suite.eval_every;
            c.train.ranks_per_cell = suite.ranks_per_cell;
            if (algorithm.swap_fraction > 0) {
              c.train.detector.fixed_epoch = std::max<int64_t>(
                  1, std::llround(algorithm.swap_fraction * static_cast<double>(epochs)));
            }
            c.settings = algorithm.settings;
            if (c.train.ranks_per_cell >= 1) c.settings["reduction"] = kSlotTreeReduction;
            if (algorithm.optimizer == Algorithm::kTwoPhase) {
              c.settings["swap_epoch"] = c.train.detector.fixed_epoch;
            }
            cells.push_back(std::move(c));
          }
        }
      }
    }
  }
  return cells;
}

bool GlobMatch(const std::string& pattern, const std::string& text) {
  // Iterative glob with backtracking to the last '*'.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool ParseCellFilter(const std::string& expr, CellFilter* filter, std::string* error) {
  filter->terms.clear();
  std::stringstream terms(expr);
  std::string term;
  while (std::getline(terms, term, ',')) {
    if (term.empty()) continue;
    CellFilter::Term t;
    std::string patterns = term;
    const size_t eq = term.find('=');
    if (eq != std::string::npos) {
      t.key = term.substr(0, eq);
      patterns = term.substr(eq + 1);
      static const char* kKeys[] = {"model", "dataset", "algorithm", "backend", "seed"};
      if (std::find(std::begin(kKeys), std::end(kKeys), t.key) == std::end(kKeys)) {
        *error = "--filter: unknown key '" + t.key + "' in '" + term +
                 "' (known: model, dataset, algorithm, backend, seed)";
        return false;
      }
    }
    std::stringstream alternatives(patterns);
    std::string pattern;
    while (std::getline(alternatives, pattern, '|')) {
      if (!pattern.empty()) t.patterns.push_back(pattern);
    }
    if (t.patterns.empty()) {
      *error = "--filter: empty pattern in '" + term + "'";
      return false;
    }
    filter->terms.push_back(std::move(t));
  }
  return true;
}

bool CellMatches(const CellFilter& filter, const Cell& cell) {
  for (const CellFilter::Term& term : filter.terms) {
    std::string value = cell.id;
    if (term.key == "model") value = cell.model;
    if (term.key == "dataset") value = cell.dataset.name;
    if (term.key == "algorithm") value = cell.algorithm;
    if (term.key == "backend") value = cell.backend;
    if (term.key == "seed") value = std::to_string(cell.seed);
    const bool any = std::any_of(term.patterns.begin(), term.patterns.end(),
                                 [&](const std::string& p) { return GlobMatch(p, value); });
    if (!any) return false;
  }
  return true;
}

}  // namespace twophase
