// Helpers for the datasets tests: a scratch folder, and builders for small
// IDX and CIFAR files (raw or gzip) so that every reader path, good and bad,
// can be exercised without the real data.
#ifndef TWOPHASE_DATASETS_DATASET_TEST_UTIL_H_
#define TWOPHASE_DATASETS_DATASET_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace twophase::testing_util {

using Bytes = std::vector<uint8_t>;

// A fresh folder under the test temp dir, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "twophase_data_XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const char* made = mkdtemp(buffer.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed for " << pattern;
    path_ = made != nullptr ? made : pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // Path of `name` inside, creating the parent folders.
  std::string File(const std::string& name) const {
    const std::filesystem::path p = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(p.parent_path());
    return p.string();
  }

 private:
  std::string path_;
};

inline void WriteBytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// gzip (not zlib) framing, as gzip(1) writes it.
inline Bytes Gzip(const Bytes& raw) {
  z_stream s;
  std::memset(&s, 0, sizeof(s));
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&s, raw.size()) + 64);
  s.next_in = const_cast<Bytef*>(raw.data());
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

inline void PutBigEndian32(Bytes* b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b->push_back(static_cast<uint8_t>(v >> shift));
}

// IDX image file; pixel (i, r, c) = (7 * i + 3 * r + c) mod 256.
inline Bytes IdxImages(uint32_t n, uint32_t rows, uint32_t cols) {
  Bytes b;
  PutBigEndian32(&b, 0x00000803);
  PutBigEndian32(&b, n);
  PutBigEndian32(&b, rows);
  PutBigEndian32(&b, cols);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t c = 0; c < cols; ++c) b.push_back(static_cast<uint8_t>(7 * i + 3 * r + c));
  return b;
}

inline Bytes IdxLabels(const std::vector<uint8_t>& labels) {
  Bytes b;
  PutBigEndian32(&b, 0x00000801);
  PutBigEndian32(&b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// Labels 0, 1, ..., 9, 0, 1, ... for n images.
inline std::vector<uint8_t> CyclicLabels(int n) {
  std::vector<uint8_t> labels;
  for (int i = 0; i < n; ++i) labels.push_back(static_cast<uint8_t>(i % 10));
  return labels;
}

// Writes an MNIST-like set of four IDX files into `dir` (side x side images,
// cyclic labels), raw or gzip, under either spelling of the names.
inline void WriteIdxSet(const std::string& dir, int n_train, int n_test, int side, bool gzip,
                        bool dotted_names = false) {
  std::filesystem::create_directories(dir);
  auto name = [&](const std::string& stem, const std::string& kind) {
    return dir + "/" + stem + (dotted_names ? "." : "-") + kind + (gzip ? ".gz" : "");
  };
  auto write = [&](const std::string& path, const Bytes& raw) {
    WriteBytes(path, gzip ? Gzip(raw) : raw);
  };
  write(name("train-images", "idx3-ubyte"), IdxImages(n_train, side, side));
  write(name("train-labels", "idx1-ubyte"), IdxLabels(CyclicLabels(n_train)));
  write(name("t10k-images", "idx3-ubyte"), IdxImages(n_test, side, side));
  write(name("t10k-labels", "idx1-ubyte"), IdxLabels(CyclicLabels(n_test)));
}

// CIFAR records: label byte(s), then 3072 pixels; pixel p of record i is
// (i + p) mod 256. `coarse` empty: CIFAR-10 layout.
inline Bytes CifarRecords(const std::vector<uint8_t>& labels,
                          const std::vector<uint8_t>& coarse = {}, int first_index = 0) {
  Bytes b;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!coarse.empty()) b.push_back(coarse[i]);
    b.push_back(labels[i]);
    for (int p = 0; p < 3072; ++p) {
      b.push_back(static_cast<uint8_t>(first_index + static_cast<int>(i) + p));
    }
  }
  return b;
}

// EXPECT_TRUE(Contains(error, "...")) prints the whole message on failure.
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Sets or unsets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_old_) {
      setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_, old_;
  bool had_old_ = false;
};

}  // namespace twophase::testing_util

#endif  // TWOPHASE_DATASETS_DATASET_TEST_UTIL_H_
