// Markdown and number formatting shared by the report's sections
// (report_tables.cc, report_curvature.cc): fixed printf formats, so equal
// inputs give equal bytes.
#ifndef TWOPHASE_HARNESS_REPORT_MARKDOWN_H_
#define TWOPHASE_HARNESS_REPORT_MARKDOWN_H_

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace twophase {
namespace report_markdown {

inline constexpr char kDash[] = "—";

// `value` by a printf format; "nan" for NaN.
inline std::string Format(const char* format, double value) {
  if (std::isnan(value)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

inline std::string JoinRow(const std::vector<std::string>& fields, const char* separator) {
  std::string row;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) row += separator;
    row += fields[i];
  }
  return row;
}

inline std::string MdRow(const std::vector<std::string>& cells) {
  return "| " + JoinRow(cells, " | ") + " |\n";
}

inline std::string MdHeader(const std::vector<std::string>& cells) {
  std::string rule = "|";
  for (size_t i = 0; i < cells.size(); ++i) rule += "---|";
  return MdRow(cells) + rule + "\n";
}

}  // namespace report_markdown
}  // namespace twophase

#endif  // TWOPHASE_HARNESS_REPORT_MARKDOWN_H_
