// safetensors reader and writer. Layout (github.com/huggingface/safetensors):
//   [0, 8)           N, little-endian u64
//   [8, 8 + N)       UTF-8 JSON object; the reference writer pads it with
//                    spaces so that 8 + N is a multiple of 8
//   [8 + N, EOF)     data section; each tensor's "data_offsets" [begin, end)
//                    are byte offsets into it, row-major, little-endian.
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/bounded_json.h"

namespace twophase {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; add byte swapping");

// The reference implementation refuses headers above 100 MB; so do we, which
// also bounds what a corrupt length field can make us allocate.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr char kMetadataKey[] = "__metadata__";

bool Fail(std::string* error, const std::string& message) {
  if (error != nullptr) *error = message;
  return false;
}

std::string FileErr(const std::string& path) { return "safetensors file '" + path + "': "; }

std::string TensorErr(const std::string& path, const std::string& name) {
  return FileErr(path) + "tensor '" + name + "': ";
}

// --- POSIX reads with short-read and EINTR handling -------------------

// Reads exactly n bytes at `offset`; false on error or end of file.
bool ReadAt(int fd, uint64_t offset, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) {
      errno = EIO;  // the file shrank under us
      return false;
    }
    p += r;
    offset += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
  return true;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// --- dtypes -----------------------------------------------------------------

// Bytes per element of the dtypes we can convert to float32; 0 otherwise.
int ItemSize(std::string_view dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

// IEEE binary16 -> binary32, exact (every half is a float). Normal numbers
// re-bias the exponent (15 -> 127) and widen the mantissa (10 -> 23 bits);
// subnormals are mant * 2^-24; exponent 31 is inf/NaN.
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float mag = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -mag : mag;
  }
  if (exp == 31) {
    return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  }
  return std::bit_cast<float>(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

// Converts n elements of `dtype` at `src` to float32 at `dst`.
void ConvertToFloat(std::string_view dtype, const char* src, int64_t n, float* dst) {
  if (dtype == "F32") {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
  } else if (dtype == "F64") {
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      dst[i] = static_cast<float>(d);  // round to nearest
    }
  } else {
    const bool bf16 = dtype == "BF16";
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      // bfloat16 is the top half of a float32.
      dst[i] = bf16 ? std::bit_cast<float>(static_cast<uint32_t>(h) << 16) : HalfToFloat(h);
    }
  }
}

// --- header validation ------------------------------------------------------

// One tensor entry of the header after validation.
struct Entry {
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// Checks one header entry's fields: "dtype" a string, "shape" an array of
// non-negative integers whose product fits int64, "data_offsets" two
// integers with begin <= end <= data_size.
bool ParseEntry(const std::string& path, const std::string& name, const nlohmann::json& j,
                uint64_t data_size, Entry* out, std::string* error) {
  const std::string where = TensorErr(path, name);
  if (!j.is_object()) return Fail(error, where + "entry is not a JSON object");
  // Other fields are ignored, as the reference reader does.
  const auto dtype = j.find("dtype");
  if (dtype == j.end() || !dtype->is_string()) {
    return Fail(error, where + "field 'dtype' missing or not a string");
  }
  out->dtype = dtype->get<std::string>();

  const auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array()) {
    return Fail(error, where + "field 'shape' missing or not an array");
  }
  int64_t elements = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned() ||
        d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Fail(error, where +
                             "field 'shape' must hold non-negative "
                             "integers, got " +
                             ShowJson(*shape, 60));
    }
    const int64_t dim = static_cast<int64_t>(d.get<uint64_t>());
    if (dim != 0 && elements > std::numeric_limits<int64_t>::max() / 8 / dim) {
      return Fail(error,
                  where + "field 'shape' " + ShowJson(*shape, 60) + " has too many elements");
    }
    elements *= dim;
    out->shape.push_back(dim);
  }

  const auto offsets = j.find("data_offsets");
  if (offsets == j.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return Fail(error, where +
                           "field 'data_offsets' must be two non-negative "
                           "integers [begin, end]");
  }
  out->begin = (*offsets)[0].get<uint64_t>();
  out->end = (*offsets)[1].get<uint64_t>();
  if (out->begin > out->end || out->end > data_size) {
    return Fail(error, where + "field 'data_offsets' " + ShowJson(*offsets, 60) +
                           " must satisfy begin <= end <= " + std::to_string(data_size) +
                           " (the data section's size; file truncated?)");
  }
  return true;
}

// The tensors' byte ranges must tile the data section: sorted by offset,
// each starts where the previous one ended, the first at 0, the last at the
// end -- as the reference reader demands. Overlapping ranges would load one
// file region into two parameters; a gap is bytes no tensor accounts for.
bool CheckTiling(const std::string& path, const std::map<std::string, Entry>& entries,
                 uint64_t data_size, std::string* error) {
  std::vector<std::pair<const std::string*, const Entry*>> sorted;
  for (const auto& [name, entry] : entries) sorted.emplace_back(&name, &entry);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->begin, a.second->end) < std::tie(b.second->begin, b.second->end);
  });
  uint64_t expected = 0;
  for (const auto& [name, entry] : sorted) {
    if (entry->begin != expected) {
      return Fail(error, TensorErr(path, *name) + "data_offsets [" + std::to_string(entry->begin) +
                             ", " + std::to_string(entry->end) + "] must start at " +
                             std::to_string(expected) +
                             (entry->begin < expected ? ", where the previous tensor ends (overlap)"
                                                      : " (a gap in the data section)"));
    }
    expected = entry->end;
  }
  if (expected != data_size) {
    return Fail(error, FileErr(path) + "the tensors cover " + std::to_string(expected) +
                           " bytes of the " + std::to_string(data_size) +
                           "-byte data section; the rest belongs to no tensor");
  }
  return true;
}

bool LoadImpl(const std::string& path, ParameterBuffer* params,
              std::map<std::string, std::string>* metadata, std::string* error) {
  const std::string where = FileErr(path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Fail(error, where + "cannot open: " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Fail(error, where + "cannot stat: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Fail(error, where + "not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    return Fail(error, where + "file is " + std::to_string(file_size) +
                           " bytes, shorter than the 8-byte header length");
  }
  unsigned char len_bytes[8];
  if (!ReadAt(fd.get(), 0, len_bytes, 8)) {
    return Fail(error, where + "cannot read: " + std::strerror(errno));
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8) {
    return Fail(error, where + "header length " + std::to_string(header_len) + " exceeds the " +
                           std::to_string(file_size - 8) + " bytes after the length field");
  }
  if (header_len > kMaxHeaderBytes) {
    return Fail(error, where + "header length " + std::to_string(header_len) +
                           " exceeds the 100000000-byte limit");
  }
  if (header_len < 2) {
    return Fail(error, where + "header length " + std::to_string(header_len) +
                           " is too small for a JSON object");
  }
  std::string header_text(header_len, '\0');
  if (!ReadAt(fd.get(), 8, header_text.data(), header_len)) {
    return Fail(error, where + "cannot read header: " + std::strerror(errno));
  }
  if (header_text[0] != '{') {
    return Fail(error, where + "header does not start with '{'");
  }
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;

  // Bounded depth (a nested `shape` overflowed the stack) and no duplicate
  // keys at any level (nlohmann would keep the last one silently).
  nlohmann::json header;
  JsonReadError bad;
  if (!ParseBoundedJson(header_text, &header, &bad)) {
    return Fail(error,
                where + (bad.syntax ? "header is not valid JSON: " : "header: ") + bad.message);
  }
  if (!header.is_object()) {
    return Fail(error, where + "header is not a JSON object");
  }

  // Metadata: an object of string to string, as the reference requires.
  std::map<std::string, std::string> meta;
  if (const auto it = header.find(kMetadataKey); it != header.end()) {
    if (!it->is_object()) {
      return Fail(error, where + "'__metadata__' is not a JSON object");
    }
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) {
        return Fail(error, where + "'__metadata__' value of '" + key + "' is not a string");
      }
      meta[key] = value.get<std::string>();
    }
  }

  // Every tensor entry in the file: well-formed and known to the model.
  std::map<std::string, Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) continue;
    Entry entry;
    if (!ParseEntry(path, name, value, data_size, &entry, error)) return false;
    if (params->Find(name) == nullptr) {
      return Fail(error, TensorErr(path, name) + "unexpected: the model has no such parameter");
    }
    entries.emplace(name, std::move(entry));
  }

  // Every model parameter: present, convertible dtype, same shape, and an
  // offset range exactly as long as shape and dtype say.
  for (const ParameterView& view : params->views()) {
    const auto it = entries.find(view.name);
    if (it == entries.end()) {
      return Fail(error,
                  TensorErr(path, view.name) + "missing: the model has it, the file does not");
    }
    const Entry& e = it->second;
    const std::string at = TensorErr(path, view.name);
    const int item = ItemSize(e.dtype);
    if (item == 0) {
      return Fail(error, at + "dtype '" + e.dtype +
                             "' is not supported (need F32, F64, F16 or "
                             "BF16)");
    }
    if (e.shape != view.shape) {
      return Fail(error, at + "shape " + ShapeToString(e.shape) + " does not match the model's " +
                             ShapeToString(view.shape));
    }
    const uint64_t want = static_cast<uint64_t>(view.size) * item;
    if (e.end - e.begin != want) {
      return Fail(error, at + "data_offsets [" + std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + "] span " + std::to_string(e.end - e.begin) +
                             " bytes, but " + e.dtype + " " + ShapeToString(view.shape) +
                             " needs " + std::to_string(want));
    }
  }

  if (!CheckTiling(path, entries, data_size, error)) return false;

  // All checks passed: read into a staging copy, so that an I/O error
  // half-way still leaves `params` untouched.
  std::vector<float> staged(params->values(), params->values() + params->size());
  std::vector<char> bytes;
  for (const ParameterView& view : params->views()) {
    const Entry& e = entries.at(view.name);
    bytes.resize(e.end - e.begin);
    if (!ReadAt(fd.get(), data_start + e.begin, bytes.data(), bytes.size())) {
      return Fail(error, TensorErr(path, view.name) + "cannot read data: " + std::strerror(errno));
    }
    ConvertToFloat(e.dtype, bytes.data(), view.size, staged.data() + view.offset);
  }
  std::copy(staged.begin(), staged.end(), params->values());
  if (metadata != nullptr) *metadata = std::move(meta);
  return true;
}

bool SaveImpl(const std::string& path, const ParameterBuffer& params,
              const std::map<std::string, std::string>& metadata, std::string* error) {
  const std::string where = FileErr(path);
  // ordered_json keeps insertion order: "__metadata__" first, then the
  // tensors in buffer order, each as {"dtype","shape","data_offsets"} --
  // the same order and compact form the reference writer produces.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const ParameterView& view : params.views()) {
    if (view.name == kMetadataKey) {
      return Fail(error, where + "parameter name '__metadata__' is reserved");
    }
    const uint64_t bytes = static_cast<uint64_t>(view.size) * 4;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = "F32";
    entry["shape"] = view.shape;
    entry["data_offsets"] = {offset, offset + bytes};
    header[view.name] = std::move(entry);
    offset += bytes;
  }
  std::string text = header.dump();  // throws type_error on invalid UTF-8
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) {
    len_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  }

  // The whole file in memory (parameters are a few MB at most), then one
  // atomic write: temporary file, fsync, rename, fsync of the folder.
  std::string content(reinterpret_cast<const char*>(len_bytes), 8);
  content.reserve(8 + text.size() + offset);
  content += text;
  for (const ParameterView& view : params.views()) {
    content.append(reinterpret_cast<const char*>(params.value(view.offset)),
                   static_cast<size_t>(view.size) * 4);
  }
  std::string write_error;
  if (!WriteFileAtomically(path, content, &write_error)) {
    return Fail(error, write_error);
  }
  return true;
}

}  // namespace

std::map<std::string, std::string> TrainedParametersMetadata(const std::string& model,
                                                             const std::string& dataset,
                                                             int64_t epochs, uint64_t seed) {
  return {{"model", model},
          {"dataset", dataset},
          {"epochs", std::to_string(epochs)},
          {"seed", std::to_string(seed)},
          {"format", "pt"}};
}

bool SaveSafetensors(const std::string& path, const ParameterBuffer& params,
                     const std::map<std::string, std::string>& metadata, std::string* error) {
  try {
    return SaveImpl(path, params, metadata, error);
  } catch (const std::exception& e) {  // nlohmann type_error, bad_alloc
    return Fail(error, FileErr(path) + "cannot save: " + e.what());
  }
}

bool LoadSafetensors(const std::string& path, ParameterBuffer* params,
                     std::map<std::string, std::string>* metadata, std::string* error) {
  try {
    return LoadImpl(path, params, metadata, error);
  } catch (const std::exception& e) {  // nlohmann errors, bad_alloc
    return Fail(error, FileErr(path) + "cannot load: " + e.what());
  }
}

}  // namespace twophase
