// Reading a cell's events.json (results/README.md, "events.json") for the
// report: the would-swap epoch of the shadow detector, checked against the
// cell's curve and metadata like the other files of a cell.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/bounded_json.h"
#include "harness/json_fields.h"
#include "harness/report.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void ReadEvent(const json& value, const std::string& where, CellEvent* event, std::string* error) {
  FieldReader r(value, where, error);
  r.Require("epoch");
  r.Number(
      "epoch", &event->epoch, [](int64_t e) { return e >= 0; }, ">= 0");
  r.Require("kind");
  r.Name("kind", &event->kind, ParseEventKind);
  r.String("message", &event->message);
}

// A cell whose events.json, curve.csv and metadata.json were written
// together, at the end of one attempt (the runner's Conclude): only these
// must agree. A running cell's events.json may be an earlier attempt's.
bool Concluded(const CellResult& cell) {
  return cell.Finished() || cell.status == CellStatus::kDiverged ||
         cell.status == CellStatus::kPaused;
}

std::string EpochText(const std::optional<int64_t>& epoch) {
  return epoch ? std::to_string(*epoch) : "null";
}

// The shadow detector fires once, after an Adam epoch of the curve.
bool CheckWouldSwap(const CellResult& cell, const std::string& path, std::string* error) {
  const CellEvent* first = nullptr;
  for (size_t i = 0; i < cell.events.size(); ++i) {
    const CellEvent& e = cell.events[i];
    if (e.kind != EventKind::kWouldSwap) continue;
    const std::string where = path + ": events[" + std::to_string(i) + "]";
    if (first != nullptr) {
      *error = where + ".kind: a second would-swap event (the first is at epoch " +
               std::to_string(first->epoch) + "; the shadow detector fires once)";
      return false;
    }
    first = &e;
    const int64_t last = cell.curve.empty() ? 0 : cell.curve.back().epoch;
    if (e.epoch < 1 || e.epoch > last) {
      *error = where + ".epoch: would-swap at epoch " + std::to_string(e.epoch) +
               ", but curve.csv has epochs 1.." + std::to_string(last);
      return false;
    }
    // The curve's epochs are 1..n (ReadCell checked), so row e.epoch - 1.
    const CurveRow& row = cell.curve[static_cast<size_t>(e.epoch - 1)];
    if (row.phase != Phase::kAdam) {
      *error = where + ".epoch: would-swap at epoch " + std::to_string(e.epoch) +
               ", but curve.csv's epoch " + std::to_string(e.epoch) + " is a " +
               PhaseName(row.phase) + " epoch (the detector watches Adam epochs only)";
      return false;
    }
  }
  return true;
}

}  // namespace

bool ParseCellEvents(const std::string& text, const std::string& path,
                     std::vector<CellEvent>* events, std::optional<int64_t>* swap_epoch,
                     std::string* error) {
  events->clear();
  swap_epoch->reset();
  json doc;
  if (!ParseJsonObjectFile(text, path, &doc, error)) return false;
  std::string why;
  FieldReader top(doc, "", &why);
  top.Require("events");
  if (top.ok() && !top.Get("events").is_array()) {
    top.Fail("events", "must be an array", top.Get("events"));
  }
  if (top.ok()) {
    const json& list = top.Get("events");
    events->resize(list.size());
    for (size_t i = 0; i < list.size() && why.empty(); ++i) {
      ReadEvent(list[i], "events[" + std::to_string(i) + "]", &(*events)[i], &why);
    }
  }
  // "swap" is null when the run never swapped; absent in no file of ours,
  // but nothing depends on it being there.
  if (why.empty()) {
    top.Object("swap", /*required=*/false, [swap_epoch](FieldReader* swap) {
      int64_t epoch = 0;
      swap->Require("epoch");
      swap->Number(
          "epoch", &epoch, [](int64_t e) { return e >= 0; }, ">= 0");
      if (swap->ok()) *swap_epoch = epoch;
    });
  }
  if (!why.empty()) {
    events->clear();
    *error = path + ": " + why;
    return false;
  }
  return true;
}

bool ReadCellEvents(const std::string& cell_dir, CellResult* cell, std::string* error) {
  cell->events_read = false;
  cell->events.clear();
  cell->would_swap_epoch.reset();
  const std::string path = (fs::path(cell_dir) / "events.json").string();
  std::error_code ec;
  // No events.json: a cell that never ended an attempt. (--resume reruns a
  // finished cell without one; KeepOnResume checks that.)
  if (!fs::exists(path, ec)) return true;
  std::string text;
  std::optional<int64_t> swap_epoch;
  if (!ReadWholeFile(path, &text, error) ||
      !ParseCellEvents(text, path, &cell->events, &swap_epoch, error)) {
    return false;
  }
  if (Concluded(*cell)) {
    if (swap_epoch != cell->swap_epoch) {
      *error = path + ": swap.epoch: " + EpochText(swap_epoch) +
               ", but metadata.json's swap.epoch is " + EpochText(cell->swap_epoch) +
               " (files of different attempts?)";
      return false;
    }
    if (!CheckWouldSwap(*cell, path, error)) return false;
  }
  for (const CellEvent& e : cell->events) {
    if (e.kind == EventKind::kWouldSwap) {
      cell->would_swap_epoch = e.epoch;
      break;
    }
  }
  cell->events_read = true;
  return true;
}

}  // namespace twophase
