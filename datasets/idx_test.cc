#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/dataset_test_util.h"

namespace twophase {
namespace {

using testing_util::Bytes;
using testing_util::Contains;
using testing_util::CyclicLabels;
using testing_util::Gzip;
using testing_util::IdxImages;
using testing_util::IdxLabels;
using testing_util::ScratchDir;
using testing_util::WriteBytes;

// Writes images and labels and reads them back as a pair.
bool ReadPair(const ScratchDir& dir, const Bytes& images, const Bytes& labels, int64_t classes,
              Dataset* out, std::string* error) {
  WriteBytes(dir.File("images"), images);
  WriteBytes(dir.File("labels"), labels);
  return ReadIdxPair(dir.File("images"), dir.File("labels"), classes, out, error);
}

TEST(IdxTest, ReadsRawImagesAndLabels) {
  ScratchDir dir;
  Dataset d;
  std::string error;
  ASSERT_TRUE(ReadPair(dir, IdxImages(12, 5, 4), IdxLabels(CyclicLabels(12)), 10, &d, &error))
      << error;
  EXPECT_EQ(d.count, 12);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.height, 5);
  EXPECT_EQ(d.width, 4);
  EXPECT_EQ(d.classes, 10);
  ASSERT_EQ(d.images.size(), 12u * 5 * 4);
  ASSERT_EQ(d.labels.size(), 12u);
  EXPECT_EQ(d.labels[0], 0);
  EXPECT_EQ(d.labels[11], 1);
  // Pixel (i, r, c) = 7i + 3r + c, scaled by 1/255.
  EXPECT_EQ(d.image(3)[2 * 4 + 1], (7.0f * 3 + 3 * 2 + 1) / 255.0f);
  EXPECT_EQ(d.image(0)[0], 0.0f);
  for (float v : d.images) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
}

TEST(IdxTest, ScalesFullByteRange) {
  ScratchDir dir;
  Bytes images = IdxImages(1, 1, 256);
  for (int i = 0; i < 256; ++i) images[16 + i] = static_cast<uint8_t>(i);
  Dataset d;
  std::string error;
  ASSERT_TRUE(ReadPair(dir, images, IdxLabels({9}), 10, &d, &error)) << error;
  EXPECT_EQ(d.images[0], 0.0f);
  EXPECT_EQ(d.images[128], 128 / 255.0f);
  EXPECT_EQ(d.images[255], 1.0f);
}

TEST(IdxTest, DetectsGzipByContentNotName) {
  ScratchDir dir;
  const Bytes images = IdxImages(6, 3, 3);
  // gzip content under a raw name, raw content under a .gz name.
  WriteBytes(dir.File("images-no-suffix"), Gzip(images));
  WriteBytes(dir.File("labels.gz"), IdxLabels(CyclicLabels(6)));
  Dataset d;
  std::string error;
  ASSERT_TRUE(ReadIdxPair(dir.File("images-no-suffix"), dir.File("labels.gz"), 10, &d, &error))
      << error;
  EXPECT_EQ(d.count, 6);
  EXPECT_EQ(d.image(5)[4], (7.0f * 5 + 3 + 1) / 255.0f);
}

TEST(IdxTest, ReadsMultiMemberGzip) {
  ScratchDir dir;
  const Bytes images = IdxImages(4, 2, 2);
  const Bytes head(images.begin(), images.begin() + 10), tail(images.begin() + 10, images.end());
  Bytes both = Gzip(head);
  const Bytes second = Gzip(tail);
  both.insert(both.end(), second.begin(), second.end());
  WriteBytes(dir.File("images.gz"), both);
  std::vector<int64_t> dims;
  Bytes data;
  std::string error;
  ASSERT_TRUE(ReadIdxFile(dir.File("images.gz"), &dims, &data, &error)) << error;
  EXPECT_EQ(dims, (std::vector<int64_t>{4, 2, 2}));
  EXPECT_EQ(data, Bytes(images.begin() + 16, images.end()));
}

TEST(IdxTest, ReadIdxFileGivesDimsAndPayload) {
  ScratchDir dir;
  WriteBytes(dir.File("labels"), IdxLabels({3, 1, 4}));
  std::vector<int64_t> dims;
  Bytes data;
  std::string error;
  ASSERT_TRUE(ReadIdxFile(dir.File("labels"), &dims, &data, &error)) << error;
  EXPECT_EQ(dims, (std::vector<int64_t>{3}));
  EXPECT_EQ(data, (Bytes{3, 1, 4}));
}

TEST(IdxTest, MissingFile) {
  ScratchDir dir;
  std::vector<int64_t> dims;
  Bytes data;
  std::string error;
  const std::string path = dir.File("nope-idx3-ubyte");
  EXPECT_FALSE(ReadIdxFile(path, &dims, &data, &error));
  EXPECT_TRUE(Contains(error, path));
  EXPECT_TRUE(Contains(error, "missing file"));
}

TEST(IdxTest, DirectoryIsNotAFile) {
  ScratchDir dir;
  std::vector<int64_t> dims;
  Bytes data;
  std::string error;
  EXPECT_FALSE(ReadIdxFile(dir.path(), &dims, &data, &error));
  EXPECT_TRUE(Contains(error, "not a regular file"));
}

TEST(IdxTest, WrongMagicNumber) {
  ScratchDir dir;
  Bytes images = IdxImages(2, 2, 2);
  images[2] = 0x0d;  // float data type, not unsigned byte
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, images, IdxLabels({0, 1}), 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("images")));
  EXPECT_TRUE(Contains(error, "wrong magic number 0x00000d03"));
}

TEST(IdxTest, ImageAndLabelFilesSwapped) {
  ScratchDir dir;
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, IdxLabels({0, 1}), IdxImages(2, 2, 2), 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("images")));
  EXPECT_TRUE(Contains(error, "expected images"));
}

TEST(IdxTest, TruncatedHeader) {
  ScratchDir dir;
  const Bytes images = IdxImages(2, 2, 2);
  for (size_t size : {0, 3, 10}) {
    Dataset d;
    std::string error;
    EXPECT_FALSE(ReadPair(dir, Bytes(images.begin(), images.begin() + size), IdxLabels({0, 1}), 10,
                          &d, &error));
    EXPECT_TRUE(Contains(error, dir.File("images")));
    EXPECT_TRUE(Contains(error, "truncated file")) << "size " << size;
  }
}

TEST(IdxTest, TruncatedData) {
  ScratchDir dir;
  Bytes images = IdxImages(3, 4, 4);
  images.resize(images.size() - 5);
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, images, IdxLabels({0, 1, 2}), 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("images")));
  EXPECT_TRUE(Contains(error, "truncated file: header dimensions 3 x 4 x 4"));
}

TEST(IdxTest, ExtraBytesDisagreeWithHeader) {
  ScratchDir dir;
  Bytes labels = IdxLabels({0, 1, 2});
  labels.push_back(7);
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, IdxImages(3, 2, 2), labels, 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("labels")));
  EXPECT_TRUE(Contains(error, "file size disagrees with the header"));
  EXPECT_TRUE(Contains(error, "need 3 data bytes, but 4 follow"));
}

TEST(IdxTest, HugeDimensionsDoNotOverflow) {
  ScratchDir dir;
  // 0xffffffff^3 overflows 64 bits; 2^31 * 2^30 * 4 = 2^63 overflows int64.
  for (uint32_t d0 : {0xffffffffu, 0x80000000u}) {
    Bytes images = IdxImages(0, 0, 0);
    images.resize(4);
    testing_util::PutBigEndian32(&images, d0);
    testing_util::PutBigEndian32(&images, d0 == 0x80000000u ? 0x40000000u : d0);
    testing_util::PutBigEndian32(&images, d0 == 0x80000000u ? 4u : d0);
    images.resize(images.size() + 64, 1);
    Dataset d;
    std::string error;
    EXPECT_FALSE(ReadPair(dir, images, IdxLabels({0}), 10, &d, &error));
    EXPECT_TRUE(Contains(error, "truncated file: header dimensions"));
    EXPECT_TRUE(Contains(error, std::to_string(d0)));
  }
}

TEST(IdxTest, ZeroRowsOrColumns) {
  ScratchDir dir;
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, IdxImages(3, 0, 28), IdxLabels({0, 1, 2}), 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("images")));
  EXPECT_TRUE(Contains(error, "wrong dimensions: images are 0 x 28"));
}

TEST(IdxTest, NoImages) {
  ScratchDir dir;
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, IdxImages(0, 28, 28), IdxLabels({}), 10, &d, &error));
  EXPECT_TRUE(Contains(error, "holds no images"));
}

TEST(IdxTest, CountsDisagreeBetweenImagesAndLabels) {
  ScratchDir dir;
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, IdxImages(4, 2, 2), IdxLabels({0, 1, 2}), 10, &d, &error));
  EXPECT_TRUE(Contains(error, "image count 4 in " + dir.File("images")));
  EXPECT_TRUE(Contains(error, "label count 3 in " + dir.File("labels")));
}

TEST(IdxTest, LabelOutOfRange) {
  ScratchDir dir;
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadPair(dir, IdxImages(3, 2, 2), IdxLabels({0, 10, 2}), 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("labels")));
  EXPECT_TRUE(Contains(error, "label 10 at index 1 is out of range [0, 10)"));
  // The same file is fine with more classes.
  EXPECT_TRUE(ReadPair(dir, IdxImages(3, 2, 2), IdxLabels({0, 10, 2}), 11, &d, &error));
}

TEST(IdxTest, TruncatedGzipStream) {
  ScratchDir dir;
  const Bytes gz = Gzip(IdxImages(50, 8, 8));
  for (size_t keep : {gz.size() / 2, gz.size() - 4, size_t{11}}) {
    WriteBytes(dir.File("images.gz"), Bytes(gz.begin(), gz.begin() + keep));
    std::vector<int64_t> dims;
    Bytes data;
    std::string error;
    EXPECT_FALSE(ReadIdxFile(dir.File("images.gz"), &dims, &data, &error));
    EXPECT_TRUE(Contains(error, dir.File("images.gz")));
    EXPECT_TRUE(Contains(error, "truncated gzip stream")) << "kept " << keep;
  }
}

TEST(IdxTest, CorruptGzipData) {
  ScratchDir dir;
  Bytes gz = Gzip(IdxImages(50, 8, 8));
  gz[gz.size() - 6] ^= 0xff;  // inside the CRC-32 trailer
  WriteBytes(dir.File("images.gz"), gz);
  std::vector<int64_t> dims;
  Bytes data;
  std::string error;
  EXPECT_FALSE(ReadIdxFile(dir.File("images.gz"), &dims, &data, &error));
  EXPECT_TRUE(Contains(error, dir.File("images.gz")));
  EXPECT_TRUE(Contains(error, "corrupt gzip data"));
}

// Random truncations and byte flips of valid files, raw and gzip: each
// read must either succeed or fail with a message naming the file (and, under
// sanitizers, never read out of bounds).
TEST(IdxTest, MangledFilesNeverCrash) {
  ScratchDir dir;
  const Bytes images = IdxImages(5, 3, 3), labels = IdxLabels(CyclicLabels(5));
  const std::string images_path = dir.File("images"), labels_path = dir.File("labels");
  Rng rng(42);
  int failures = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Bytes mangled = trial % 2 == 0 ? images : labels;
    if (trial % 3 == 0) mangled = Gzip(mangled);
    if (rng.Below(2) == 0) {
      mangled.resize(rng.Below(mangled.size() + 1));
    } else {
      for (int k = 0; k < 3 && !mangled.empty(); ++k) {
        mangled[rng.Below(std::min<uint64_t>(mangled.size(), 24))] ^=
            static_cast<uint8_t>(1 + rng.Below(255));
      }
    }
    WriteBytes(images_path, trial % 2 == 0 ? mangled : images);
    WriteBytes(labels_path, trial % 2 == 0 ? labels : mangled);
    Dataset d;
    std::string error;
    if (ReadIdxPair(images_path, labels_path, 10, &d, &error)) {
      EXPECT_EQ(d.images.size(), static_cast<size_t>(d.count * d.image_size()));
      EXPECT_EQ(d.labels.size(), static_cast<size_t>(d.count));
    } else {
      ++failures;
      EXPECT_TRUE(Contains(error, dir.path())) << "trial " << trial;
    }
  }
  EXPECT_GT(failures, 200);
}

}  // namespace
}  // namespace twophase
