// The byte stream of a checkpoint: typed fields written in a fixed order
// and read back in the same order, little-endian as this machine writes
// them (checkpoints are resumed on the machine type that wrote them; the
// file's header says which, training/checkpoint.h). Each class that has
// state to save writes its own fields (SaveState/LoadState); the reader
// checks every length against what is left, so a truncated or corrupted
// stream is an error that names the field, never a crash or a huge
// allocation.
#ifndef TWOPHASE_CORE_STATE_IO_H_
#define TWOPHASE_CORE_STATE_IO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace twophase {

class StateWriter {
 public:
  void U64(uint64_t v) { Raw(&v, sizeof(v)); }
  void I64(int64_t v) { Raw(&v, sizeof(v)); }
  void F64(double v) { Raw(&v, sizeof(v)); }
  void Bool(bool v) { U64(v ? 1 : 0); }
  void String(std::string_view s);
  void Floats(const std::vector<float>& v);
  void Floats(const float* v, int64_t n);
  void Doubles(const std::vector<double>& v);
  const std::string& bytes() const { return bytes_; }

 private:
  void Raw(const void* p, size_t n);
  std::string bytes_;
};

// Reads what StateWriter wrote. Each call names its field; the first
// failure is kept ("<field>: truncated ...") and every later call fails.
class StateReader {
 public:
  explicit StateReader(std::string_view bytes) : bytes_(bytes) {}
  bool U64(const char* field, uint64_t* v) { return Raw(field, v, sizeof(*v)); }
  bool I64(const char* field, int64_t* v) { return Raw(field, v, sizeof(*v)); }
  bool F64(const char* field, double* v) { return Raw(field, v, sizeof(*v)); }
  bool Bool(const char* field, bool* v);
  bool String(const char* field, std::string* s);
  // A vector of exactly `size` entries (the size this run's model has);
  // size < 0 accepts any stored length that fits in what is left.
  bool Floats(const char* field, int64_t size, std::vector<float>* v);
  bool Floats(const char* field, int64_t size, float* v);
  bool Doubles(const char* field, int64_t size, std::vector<double>* v);
  // A member of a closed set, stored by its name (so the layout outlives
  // the enum's order): parse(name, out, error) from the enum's library.
  template <typename E, typename Parse>
  bool Name(const char* field, E* out, Parse parse) {
    std::string name, why;
    if (!String(field, &name)) return false;
    if (!parse(name, out, &why)) return Fail(field, why);
    return true;
  }
  // Fails with "<field>: <what>" (for checks of values read).
  bool Fail(const char* field, const std::string& what);
  bool ok() const { return error_.empty(); }
  bool AtEnd() const { return pos_ == bytes_.size(); }
  const std::string& error() const { return error_; }

 private:
  bool Raw(const char* field, void* p, size_t n);
  bool Length(const char* field, int64_t size, size_t element, uint64_t* n);
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string error_;
};

// FNV-1a, 64 bits: the checkpoint's checksum (corruption, not attacks).
uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ull);

}  // namespace twophase

#endif  // TWOPHASE_CORE_STATE_IO_H_
