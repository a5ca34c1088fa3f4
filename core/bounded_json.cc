#include "core/bounded_json.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace twophase {
namespace {

using nlohmann::json;

// Where the parser is, as "algorithms[1].lr": one frame per open array or
// object. The callback sees no byte offsets, so messages name this path.
struct Frame {
  bool object = false;
  std::set<std::string> keys;  // objects: the keys so far
  std::string key;             // objects: the current member
  int64_t index = -1;          // arrays: the current element
};

// The path of the first `count` frames' current members.
std::string PathOf(const std::vector<Frame>& frames, size_t count) {
  std::string path;
  for (size_t i = 0; i < count; ++i) {
    const Frame& f = frames[i];
    if (f.object) {
      if (!path.empty()) path += '.';
      path += f.key;
    } else {
      path += '[';
      path += std::to_string(f.index);
      path += ']';
    }
    if (path.size() > 200) return path.substr(0, 197) + "...";
  }
  return path.empty() ? "the top level" : path;
}

// Length of the longest prefix of s[0, n) that ends on a UTF-8 character
// boundary.
size_t Utf8Prefix(const std::string& s, size_t n) {
  if (n >= s.size()) return s.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

// Appends `v` to *out until *out holds more than `budget` characters.
void Show(const json& v, int depth, size_t budget, std::string* out) {
  if (out->size() > budget) return;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    const std::string head = s.substr(0, Utf8Prefix(s, budget - out->size() + 1));
    *out += json(head).dump(-1, ' ', false, json::error_handler_t::replace);
    if (head.size() < s.size()) *out += "...";
    return;
  }
  if (!v.is_structured()) {
    *out += v.dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  if (depth >= kMaxJsonDepth) {
    *out += "...";
    return;
  }
  const bool object = v.is_object();
  *out += object ? '{' : '[';
  bool first = true;
  for (auto it = v.begin(); it != v.end() && out->size() <= budget; ++it) {
    if (!first) *out += ',';
    first = false;
    if (object) {
      Show(json(it.key()), depth + 1, budget, out);
      *out += ':';
    }
    Show(*it, depth + 1, budget, out);
  }
  *out += object ? '}' : ']';
}

// what() reads "[json.exception.parse_error.101] parse error at ...".
std::string WithoutId(const json::exception& e) {
  const std::string what = e.what();
  const size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

// Checks depth and duplicate keys in a SAX pass of its own. (nlohmann's
// callback parser would do it in the same pass, but its end_object scans
// the parent container, quadratic in an array of objects: 100,000
// algorithm entries took 5 s, 104 s under the sanitizers.)
class BoundsChecker : public nlohmann::json_sax<json> {
 public:
  bool null() override { return Element(); }
  bool boolean(bool) override { return Element(); }
  bool number_integer(number_integer_t) override { return Element(); }
  bool number_unsigned(number_unsigned_t) override { return Element(); }
  bool number_float(number_float_t, const string_t&) override { return Element(); }
  bool string(string_t&) override { return Element(); }
  bool binary(binary_t&) override { return Element(); }
  bool start_object(std::size_t) override { return Open(true); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& name) override {
    Frame& f = frames_.back();
    f.key = name;
    if (f.keys.insert(name).second) return true;
    return Reject("key " + ShowJson(json(name), 60) + " appears twice in the object at " +
                  PathOf(frames_, frames_.size() - 1));
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    const auto* syntax = dynamic_cast<const json::parse_error*>(&e);
    error_ =
        JsonReadError{syntax != nullptr,
                      syntax == nullptr || syntax->byte == 0 ? 0 : syntax->byte - 1, WithoutId(e)};
    return false;
  }
  const JsonReadError& error() const { return error_; }

 private:
  // A new value starts: count it as its array's next element.
  bool Element() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }
  bool Open(bool object) {
    Element();
    if (static_cast<int>(frames_.size()) >= kMaxJsonDepth) {
      return Reject("arrays and objects nest deeper than " + std::to_string(kMaxJsonDepth) +
                    " levels (at " + PathOf(frames_, frames_.size()) + ")");
    }
    frames_.push_back(Frame{object, {}, {}, -1});
    return true;
  }
  bool Close() {
    frames_.pop_back();
    return true;
  }
  bool Reject(std::string message) {
    error_ = JsonReadError{false, 0, std::move(message)};
    return false;
  }

  std::vector<Frame> frames_;
  JsonReadError error_;
};

}  // namespace

bool ParseBoundedJson(const std::string& text, json* out, JsonReadError* error) {
  BoundsChecker checker;
  if (!json::sax_parse(text, &checker)) {
    *error = checker.error();
    return false;
  }
  try {  // the text is known to be valid and bounded: the plain, linear parser
    *out = json::parse(text);
    return true;
  } catch (const json::exception& e) {  // not expected after the check
    *error = JsonReadError{false, 0, WithoutId(e)};
  }
  return false;
}

std::string ShowJson(const json& value, size_t max_chars) {
  if (max_chars < 3) max_chars = 3;
  std::string out;
  Show(value, 0, max_chars, &out);
  if (out.size() <= max_chars) return out;
  return out.substr(0, Utf8Prefix(out, max_chars - 3)) + "...";
}

bool ParseJsonObjectFile(const std::string& text, const std::string& path, nlohmann::json* out,
                         std::string* error) {
  JsonReadError bad;
  if (!ParseBoundedJson(text, out, &bad)) {
    *error = path + (bad.syntax ? ": not valid JSON (truncated or corrupt file?): " : ": ") +
             bad.message;
    return false;
  }
  if (!out->is_object()) {
    *error = path + ": expected a JSON object at the top, got " + ShowJson(*out, 40);
    return false;
  }
  return true;
}

}  // namespace twophase
