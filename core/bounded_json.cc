#include "core/bounded_json.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace twophase {
namespace {

using nlohmann::json;

// Thrown from the parser callback to stop parsing; caught below.
struct Rejected {
  std::string message;
};

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
    path += f.object ? (path.empty() ? "" : ".") + f.key : "[" + std::to_string(f.index) + "]";
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

}  // namespace

bool ParseBoundedJson(const std::string& text, json* out, JsonReadError* error) {
  std::vector<Frame> frames;
  // A new value starts: count it as its array's next element.
  auto element = [&] {
    if (!frames.empty() && !frames.back().object) ++frames.back().index;
  };
  json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        element();
        if (static_cast<int>(frames.size()) >= kMaxJsonDepth) {
          throw Rejected{"arrays and objects nest deeper than " + std::to_string(kMaxJsonDepth) +
                         " levels (at " + PathOf(frames, frames.size()) + ")"};
        }
        frames.push_back(Frame{event == json::parse_event_t::object_start, {}, {}, -1});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          throw Rejected{"key " + ShowJson(parsed, 60) + " appears twice in the object at " +
                         PathOf(frames, frames.size() - 1)};
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        break;
      case json::parse_event_t::value:
        element();
        break;
    }
    return true;
  };
  try {
    *out = json::parse(text, callback);
    return true;
  } catch (const Rejected& r) {
    *error = JsonReadError{false, 0, r.message};
  } catch (const json::parse_error& e) {
    *error = JsonReadError{true, e.byte == 0 ? 0 : e.byte - 1, WithoutId(e)};
  } catch (const json::exception& e) {  // out_of_range: a number beyond double
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

}  // namespace twophase
