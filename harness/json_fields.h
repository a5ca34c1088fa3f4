// Reading a JSON object field by field, each with its constraint: the one
// reader for the project's JSON inputs, from files that must be checked
// completely before anything runs (suites) to result files (metadata.json,
// events.json). The caller prefixes the file's path to the error.
#ifndef TWOPHASE_HARNESS_JSON_FIELDS_H_
#define TWOPHASE_HARNESS_JSON_FIELDS_H_

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "core/bounded_json.h"

namespace twophase {

// Reads the fields of one JSON object, each with its constraint, and
// rejects fields nobody asked for. The first failure sets *error to
// "<path>.<key>: <constraint>, got <value>" and makes every later call a
// no-op, so a parser reads like the schema and checks ok() once.
class FieldReader {
 public:
  using json = nlohmann::json;

  FieldReader(const json& object, std::string path, std::string* error)
      : object_(object), path_(std::move(path)), error_(error) {
    if (!object_.is_object()) Fail(path_, "must be an object", object_);
  }

  bool ok() const { return ok_; }
  std::string Where(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  bool Has(const std::string& key) {
    seen_.insert(key);
    return ok_ && object_.contains(key);
  }
  const json& Get(const std::string& key) const { return object_.at(key); }
  // Fails with "missing" unless the field is there.
  bool Require(const std::string& key) {
    if (!Has(key)) Fail(Where(key), "missing");
    return ok_;
  }

  void String(const std::string& key, std::string* out) {
    if (!Has(key)) return;
    const json& v = Get(key);
    if (!v.is_string()) return Fail(Where(key), "must be a string", v);
    *out = v.get<std::string>();
  }
  // `check` holds for valid values; `constraint` says what it demands ("": the
  // type alone).
  template <typename T, typename Check>
  void Number(const std::string& key, T* out, Check check, const char* constraint) {
    if (!Has(key)) return;
    const json& v = Get(key);
    bool valid = v.is_number();
    if (valid && std::is_integral_v<T>) valid = v.is_number_integer() || v.is_number_unsigned();
    if (valid && std::is_integral_v<T>) valid = FitsIn<T>(v);
    T value{};
    if (valid) {
      value = v.get<T>();
      valid = check(value);
    }
    if (!valid) {
      // An empty constraint: the type alone (an Options::IsValid checks the limits).
      std::string what = std::is_integral_v<T> ? "must be an integer" : "must be a number";
      if (*constraint != '\0') what += std::string(" ") + constraint;
      return Fail(Where(key), what, v);
    }
    *out = value;
  }
  void Bool(const std::string& key, bool* out) {
    if (!Has(key)) return;
    const json& v = Get(key);
    if (!v.is_boolean()) return Fail(Where(key), "must be true or false", v);
    *out = v.get<bool>();
  }
  // An enum-like string: parse(name, out, error) from the library.
  template <typename E, typename Parse>
  void Name(const std::string& key, E* out, Parse parse) {
    if (!Has(key)) return;
    const json& v = Get(key);
    if (!v.is_string()) return Fail(Where(key), "must be a string", v);
    std::string why;
    if (!parse(v.get<std::string>(), out, &why)) return Fail(Where(key), why);
  }
  // The object at `key`, read by read(FieldReader* inner) whose errors name
  // "<path>.<key>.<field>". Absent or null is no object (a writer's "none")
  // and fails only when `required`.
  template <typename Read>
  void Object(const std::string& key, bool required, Read read) {
    const bool present = Has(key) && !Get(key).is_null();
    if (!present) {
      if (required) Fail(Where(key), "missing");
      return;
    }
    FieldReader inner(Get(key), Where(key), error_);
    if (inner.ok()) read(&inner);
    if (!inner.ok()) FailedInside();
  }
  // Call after the last field: rejects unknown ones (typos must not be
  // silently ignored).
  void RejectUnknown() {
    if (!ok_) return;
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (seen_.count(it.key()) == 0) {
        std::string known;
        for (const std::string& k : seen_) known += (known.empty() ? "" : ", ") + k;
        return Fail(Where(it.key()), "unknown field (known: " + known + ")");
      }
    }
  }

  // A nested reader sharing this one's error string has failed.
  void FailedInside() { ok_ = false; }

  void Fail(const std::string& where, const std::string& what, const json& got) {
    Fail(where, what + ", got " + ShowJson(got, 60));
  }
  void Fail(const std::string& where, const std::string& what) {
    if (!ok_) return;
    ok_ = false;
    *error_ = where + ": " + what;
  }

 private:
  // get<T>() converts with a cast: 4294967298 would read as an int 2.
  template <typename T>
  static bool FitsIn(const json& v) {
    if constexpr (std::is_integral_v<T>) {
      if (v.is_number_unsigned()) {
        return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
      }
      const int64_t i = v.get<int64_t>();
      return i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             (i < 0 ||
              static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
    }
    return true;
  }

  const json& object_;
  std::string path_;
  std::string* error_;
  std::set<std::string> seen_;
  bool ok_ = true;
};

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_JSON_FIELDS_H_
