// IDX reader (the MNIST file format, also used by Fashion-MNIST) and the
// shared file reading with transparent gzip decompression.
//
// Every size in a header is checked against the actual file size before
// anything is allocated or read, so a corrupt or hostile header can cause
// neither an out-of-bounds read nor a huge allocation.
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/dataset_internal.h"

namespace twophase {
namespace internal {
namespace {

constexpr uint32_t kIdxLabelMagic = 0x00000801;  // unsigned bytes, 1 dim
constexpr uint32_t kIdxImageMagic = 0x00000803;  // unsigned bytes, 3 dims
// Far above any real data set; stops a crafted gzip stream from filling RAM.
constexpr size_t kMaxDecompressedBytes = size_t{4} << 30;
// zlib counts in 32-bit uInt; feed and drain it in pieces of this size.
constexpr size_t kZlibChunk = size_t{1} << 30;

uint32_t LoadBigEndian32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

std::string Hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "0x%08x", value);
  return buffer;
}

std::string DimsToString(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += " x ";
    s += std::to_string(dims[i]);
  }
  return s;
}

bool ReadRawFile(const std::string& path, std::vector<uint8_t>* bytes, std::string* error) {
  std::string problem;
  if (!IsRegularFile(path, &problem)) {
    std::error_code ec;
    *error = !problem.empty()                    ? problem
             : std::filesystem::exists(path, ec) ? path + ": not a regular file"
                                                 : path + ": missing file (no such file)";
    return false;
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = path + ": cannot open file: " + std::strerror(errno);
    return false;
  }
  // Read the size reported beforehand in one go, then keep reading in case
  // the file grew meanwhile: the result is exactly what was read.
  std::error_code size_ec;
  const uintmax_t size_hint = std::filesystem::file_size(path, size_ec);
  bytes->resize(size_ec ? 0 : static_cast<size_t>(size_hint));
  size_t used = std::fread(bytes->data(), 1, bytes->size(), f);
  bytes->resize(used);
  uint8_t block[1 << 16];
  for (size_t got; (got = std::fread(block, 1, sizeof(block), f)) > 0;) {
    bytes->insert(bytes->end(), block, block + got);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    *error = path + ": read error";
    return false;
  }
  return true;
}

// Inflates a gzip file (one or more members) held in memory.
bool Gunzip(const std::string& path, const std::vector<uint8_t>& in, std::vector<uint8_t>* out,
            std::string* error) {
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    *error = path + ": zlib initialisation failed";
    return false;
  }
  // The gzip trailer stores the uncompressed size mod 2^32; use it as a first
  // guess (bounded by deflate's best ratio of about 1032:1), then grow.
  size_t guess = in.size() * 4;
  if (in.size() >= 18) {
    const uint8_t* t = in.data() + in.size() - 4;
    const size_t isize = static_cast<size_t>(t[0]) | (static_cast<size_t>(t[1]) << 8) |
                         (static_cast<size_t>(t[2]) << 16) | (static_cast<size_t>(t[3]) << 24);
    if (isize > 0 && isize <= in.size() * 1032 + 1024) guess = isize;
  }
  out->resize(std::min(std::max<size_t>(guess, 1024), kMaxDecompressedBytes));

  const uint8_t* const in_begin = in.data();
  const uint8_t* const in_end = in.data() + in.size();
  stream.next_in = const_cast<Bytef*>(in_begin);
  stream.avail_in = 0;
  size_t produced = 0;
  std::string problem;
  for (;;) {
    if (stream.avail_in == 0) {
      const uint8_t* next = stream.next_in;
      stream.avail_in = static_cast<uInt>(std::min<size_t>(in_end - next, kZlibChunk));
    }
    if (produced == out->size()) {
      if (out->size() >= kMaxDecompressedBytes) {
        problem = "decompressed size exceeds the 4 GiB limit";
        break;
      }
      out->resize(std::min(out->size() * 2, kMaxDecompressedBytes));
    }
    stream.next_out = out->data() + produced;
    stream.avail_out = static_cast<uInt>(std::min(out->size() - produced, kZlibChunk));
    const int ret = inflate(&stream, Z_NO_FLUSH);
    produced = stream.next_out - out->data();
    if (ret == Z_OK) continue;
    if (ret == Z_STREAM_END) {
      // Another member may follow (as `cat a.gz b.gz` makes); trailing zero
      // padding is tolerated as gzip(1) does; anything else is corruption.
      const uint8_t* rest = stream.next_in;
      const size_t left = in_end - rest;
      if (left == 0 || std::all_of(rest, in_end, [](uint8_t b) { return b == 0; })) {
        inflateEnd(&stream);
        out->resize(produced);
        return true;
      }
      if (left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b) {
        inflateReset(&stream);
        stream.avail_in = 0;
        continue;
      }
      problem = "unexpected data after the end of the gzip stream";
      break;
    }
    if (ret == Z_BUF_ERROR && stream.avail_in == 0 && stream.next_in == in_end) {
      problem = "truncated gzip stream (compressed data ends early after " +
                std::to_string(produced) + " decompressed bytes)";
      break;
    }
    if (ret == Z_BUF_ERROR) continue;  // output full; grown above
    problem = std::string("corrupt gzip data (") +
              (stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(ret)) + ")";
    break;
  }
  inflateEnd(&stream);
  out->clear();
  *error = path + ": " + problem;
  return false;
}

}  // namespace

bool IsRegularFile(const std::string& path, std::string* problem) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return S_ISREG(st.st_mode);
  // Absent, or a file where a folder was expected: simply not there.
  if (problem == nullptr || errno == ENOENT || errno == ENOTDIR) return false;
  const bool loop = errno == ELOOP;
  const std::string why = std::strerror(errno);
  *problem = path + ": " + (loop ? "symbolic-link loop in the path (" + why + ")" : why);
  return false;
}

bool ReadFileBytes(const std::string& path, std::vector<uint8_t>* bytes, std::string* error) {
  std::vector<uint8_t> raw;
  if (!ReadRawFile(path, &raw, error)) return false;
  // Decide by content, not by name: some mirrors ship raw files called
  // *.gz and vice versa.
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
    return Gunzip(path, raw, bytes, error);
  }
  *bytes = std::move(raw);
  return true;
}

void BytesToUnitFloats(const uint8_t* bytes, size_t n, float* out) {
  // A table keeps the values bit-identical to byte / 255.0f while avoiding
  // a division per pixel.
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = static_cast<float>(i) / 255.0f;
    return t;
  }();
  for (size_t i = 0; i < n; ++i) out[i] = table[bytes[i]];
}

bool ParseIdxHeader(const std::string& path, const std::vector<uint8_t>& file,
                    std::vector<int64_t>* dims, size_t* payload_offset, std::string* error) {
  if (file.size() < 4) {
    *error = path + ": truncated file: " + std::to_string(file.size()) +
             " bytes, but an IDX header needs at least 4";
    return false;
  }
  const uint32_t magic = LoadBigEndian32(file.data());
  if (magic != kIdxImageMagic && magic != kIdxLabelMagic) {
    *error = path + ": wrong magic number " + Hex32(magic) + ", expected " + Hex32(kIdxImageMagic) +
             " (IDX images) or " + Hex32(kIdxLabelMagic) + " (IDX labels)";
    return false;
  }
  const size_t ndims = magic & 0xff;
  const size_t header = 4 + 4 * ndims;
  if (file.size() < header) {
    *error = path + ": truncated file: " + std::to_string(file.size()) +
             " bytes, but the IDX header with " + std::to_string(ndims) + " dimensions needs " +
             std::to_string(header);
    return false;
  }
  dims->clear();
  // At most 3 factors below 2^32 each: the product fits in 128 bits.
  unsigned __int128 needed = 1;
  for (size_t i = 0; i < ndims; ++i) {
    const uint32_t d = LoadBigEndian32(file.data() + 4 + 4 * i);
    dims->push_back(d);
    needed *= d;
  }
  const size_t available = file.size() - header;
  if (needed > available) {
    *error = path + ": truncated file: header dimensions " + DimsToString(*dims) +
             " need more data bytes than the " + std::to_string(available) +
             " that follow the header";
    return false;
  }
  if (needed < available) {
    *error = path + ": file size disagrees with the header: dimensions " + DimsToString(*dims) +
             " need " + std::to_string(static_cast<uint64_t>(needed)) + " data bytes, but " +
             std::to_string(available) + " follow the header";
    return false;
  }
  *payload_offset = header;
  return true;
}

bool IdxBytesToDataset(const std::string& images_path, const std::vector<uint8_t>& images_file,
                       const std::string& labels_path, const std::vector<uint8_t>& labels_file,
                       int64_t classes, Dataset* out, std::string* error) {
  if (classes < 1 || classes > 256) {
    *error = "IDX reader: classes must be in [1, 256], got " + std::to_string(classes);
    return false;
  }
  std::vector<int64_t> image_dims, label_dims;
  size_t image_offset = 0, label_offset = 0;
  if (!ParseIdxHeader(images_path, images_file, &image_dims, &image_offset, error) ||
      !ParseIdxHeader(labels_path, labels_file, &label_dims, &label_offset, error)) {
    return false;
  }
  if (image_dims.size() != 3) {
    *error = images_path + ": wrong magic number: this is an IDX label file (" +
             Hex32(kIdxLabelMagic) + "), expected images (" + Hex32(kIdxImageMagic) + ")";
    return false;
  }
  if (label_dims.size() != 1) {
    *error = labels_path + ": wrong magic number: this is an IDX image file (" +
             Hex32(kIdxImageMagic) + "), expected labels (" + Hex32(kIdxLabelMagic) + ")";
    return false;
  }
  const int64_t count = image_dims[0], rows = image_dims[1], cols = image_dims[2];
  if (rows == 0 || cols == 0) {
    *error = images_path + ": wrong dimensions: images are " + std::to_string(rows) + " x " +
             std::to_string(cols) + "; rows and columns must be positive";
    return false;
  }
  if (count == 0) {
    *error = images_path + ": the file holds no images (count 0)";
    return false;
  }
  if (count != label_dims[0]) {
    *error = "image count " + std::to_string(count) + " in " + images_path +
             " disagrees with label count " + std::to_string(label_dims[0]) + " in " + labels_path;
    return false;
  }
  const uint8_t* label_bytes = labels_file.data() + label_offset;
  for (int64_t i = 0; i < count; ++i) {
    if (label_bytes[i] >= classes) {
      *error = labels_path + ": label " + std::to_string(label_bytes[i]) + " at index " +
               std::to_string(i) + " is out of range [0, " + std::to_string(classes) + ")";
      return false;
    }
  }
  out->name = images_path;
  out->count = count;
  out->channels = 1;
  out->height = rows;
  out->width = cols;
  out->classes = classes;
  const size_t pixels = static_cast<size_t>(count * rows * cols);
  out->images.resize(pixels);
  BytesToUnitFloats(images_file.data() + image_offset, pixels, out->images.data());
  out->labels.assign(label_bytes, label_bytes + count);
  return true;
}

}  // namespace internal

bool ReadIdxFile(const std::string& path, std::vector<int64_t>* dims, std::vector<uint8_t>* data,
                 std::string* error) {
  std::vector<uint8_t> file;
  size_t offset = 0;
  if (!internal::ReadFileBytes(path, &file, error) ||
      !internal::ParseIdxHeader(path, file, dims, &offset, error)) {
    return false;
  }
  // Dropping the header in place avoids a second copy of the payload.
  file.erase(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(offset));
  *data = std::move(file);
  return true;
}

bool ReadIdxPair(const std::string& images_path, const std::string& labels_path, int64_t classes,
                 Dataset* out, std::string* error) {
  std::vector<uint8_t> images_file, labels_file;
  if (!internal::ReadFileBytes(images_path, &images_file, error) ||
      !internal::ReadFileBytes(labels_path, &labels_file, error)) {
    return false;
  }
  return internal::IdxBytesToDataset(images_path, images_file, labels_path, labels_file, classes,
                                     out, error);
}

}  // namespace twophase
