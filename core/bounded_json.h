// JSON input files read with bounds: nlohmann::json parses iteratively, but
// copying, comparing and dump() recurse once per nesting level, so a file of
// 100,000 nested arrays overflowed the stack in the error paths that print
// the offending value. Every reader of an input file (suites, safetensors
// headers, result metadata) parses with ParseBoundedJson and prints values
// with ShowJson.
#ifndef TWOPHASE_CORE_BOUNDED_JSON_H_
#define TWOPHASE_CORE_BOUNDED_JSON_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace twophase {

// Deeper than any file of ours (a suite nests 4 levels), shallow enough for
// the recursive nlohmann functions to run on any stack, sanitizers included.
constexpr int kMaxJsonDepth = 64;

struct JsonReadError {
  // A syntax error: its byte offset (0-based) and nlohmann's message without
  // the "[json.exception...]" prefix. Otherwise (too deep, duplicate key):
  // syntax = false and a message that names where in the document.
  bool syntax = false;
  size_t byte = 0;
  std::string message;
};

// Parses `text`. False + *error when it is not valid JSON, when arrays and
// objects nest deeper than kMaxJsonDepth, or when an object holds a key
// twice (nlohmann would keep the last one silently).
bool ParseBoundedJson(const std::string& text, nlohmann::json* out, JsonReadError* error);

// A file's text that must hold a JSON object: ParseBoundedJson, with
// errors "<path>: not valid JSON (truncated or corrupt file?): ..." or
// "<path>: expected a JSON object at the top, got ...".
bool ParseJsonObjectFile(const std::string& text, const std::string& path, nlohmann::json* out,
                         std::string* error);

// `value` as compact JSON for an error message: at most `max_chars`
// characters (cut with "..."), nested values below kMaxJsonDepth shown as
// "...", strings cut on a character boundary. Costs O(max_chars), however
// large the value.
std::string ShowJson(const nlohmann::json& value, size_t max_chars);

}  // namespace twophase

#endif  // TWOPHASE_CORE_BOUNDED_JSON_H_
