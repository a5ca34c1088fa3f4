#include "harness/shard.h"

#include <charconv>

namespace twophase {
namespace {

// A whole number filling all of `text` (a sign is IsValid's to refuse).
bool ParseCount(const std::string& text, int64_t* value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return !text.empty() && ec == std::errc() && ptr == end;
}

}  // namespace

bool Shard::IsValid(std::string* error) const {
  if (count < 1) {
    *error = "n must be >= 1";
    return false;
  }
  if (index < 1 || index > count) {
    *error = "i must be in [1, n]";
    return false;
  }
  return true;
}

bool ParseShard(const std::string& text, Shard* shard, std::string* error) {
  const size_t slash = text.find('/');
  std::string why;
  if (slash == std::string::npos || !ParseCount(text.substr(0, slash), &shard->index) ||
      !ParseCount(text.substr(slash + 1), &shard->count)) {
    why = "must be i/n, two whole numbers with 1 <= i <= n (e.g. 2/8)";
  } else if (!shard->IsValid(&why)) {
    why += " (shard i of n)";
  }
  if (why.empty()) return true;
  *error = "--shard " + text + ": " + why;
  return false;
}

std::vector<Cell> SelectCells(const Suite& suite, const CellFilter& filter, const Shard& shard) {
  std::vector<Cell> cells;
  for (const Cell& c : ExpandCells(suite)) {
    if (shard.Contains(c) && CellMatches(filter, c)) cells.push_back(c);
  }
  return cells;
}

}  // namespace twophase
