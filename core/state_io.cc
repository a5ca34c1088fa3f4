#include "core/state_io.h"

#include <cstring>

namespace twophase {

void StateWriter::Raw(const void* p, size_t n) { bytes_.append(static_cast<const char*>(p), n); }

void StateWriter::String(std::string_view s) {
  U64(s.size());
  bytes_.append(s.data(), s.size());
}

void StateWriter::Floats(const float* v, int64_t n) {
  U64(static_cast<uint64_t>(n));
  Raw(v, sizeof(float) * static_cast<size_t>(n));
}

void StateWriter::Floats(const std::vector<float>& v) {
  Floats(v.data(), static_cast<int64_t>(v.size()));
}

void StateWriter::Doubles(const std::vector<double>& v) {
  U64(v.size());
  Raw(v.data(), sizeof(double) * v.size());
}

bool StateReader::Fail(const char* field, const std::string& what) {
  if (error_.empty()) error_ = std::string(field) + ": " + what;
  return false;
}

bool StateReader::Raw(const char* field, void* p, size_t n) {
  if (!ok()) return false;
  if (bytes_.size() - pos_ < n) {
    return Fail(field, "truncated (needs " + std::to_string(n) + " bytes, " +
                           std::to_string(bytes_.size() - pos_) + " left)");
  }
  std::memcpy(p, bytes_.data() + pos_, n);
  pos_ += n;
  return true;
}

bool StateReader::Bool(const char* field, bool* v) {
  uint64_t raw = 0;
  if (!U64(field, &raw)) return false;
  if (raw > 1) return Fail(field, "expected 0 or 1, got " + std::to_string(raw));
  *v = raw == 1;
  return true;
}

bool StateReader::Length(const char* field, int64_t size, size_t element, uint64_t* n) {
  if (!U64(field, n)) return false;
  if (size >= 0 && *n != static_cast<uint64_t>(size)) {
    return Fail(field,
                "holds " + std::to_string(*n) + " entries, this run needs " + std::to_string(size));
  }
  // Checked before anything is allocated: a corrupted length must not ask
  // for terabytes.
  if (*n > (bytes_.size() - pos_) / element) {
    return Fail(field, "truncated (" + std::to_string(*n) + " entries announced, " +
                           std::to_string(bytes_.size() - pos_) + " bytes left)");
  }
  return true;
}

bool StateReader::String(const char* field, std::string* s) {
  uint64_t n = 0;
  if (!Length(field, -1, 1, &n)) return false;
  s->assign(bytes_.data() + pos_, n);
  pos_ += n;
  return true;
}

bool StateReader::Floats(const char* field, int64_t size, float* v) {
  uint64_t n = 0;
  if (!Length(field, size, sizeof(float), &n)) return false;
  return Raw(field, v, sizeof(float) * n);
}

bool StateReader::Floats(const char* field, int64_t size, std::vector<float>* v) {
  uint64_t n = 0;
  const size_t mark = pos_;
  if (!Length(field, size, sizeof(float), &n)) return false;
  pos_ = mark;
  v->resize(n);
  return Floats(field, size, v->data());
}

bool StateReader::Doubles(const char* field, int64_t size, std::vector<double>* v) {
  uint64_t n = 0;
  if (!Length(field, size, sizeof(double), &n)) return false;
  v->resize(n);
  return Raw(field, v->data(), sizeof(double) * n);
}

uint64_t Fnv1a64(std::string_view bytes, uint64_t hash) {
  for (const unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace twophase
