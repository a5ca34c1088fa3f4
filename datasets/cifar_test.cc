#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/dataset_test_util.h"

namespace twophase {
namespace {

using testing_util::Bytes;
using testing_util::CifarRecords;
using testing_util::Contains;
using testing_util::ScratchDir;
using testing_util::WriteBytes;

TEST(CifarTest, ReadsCifar10FilesInOrderAsNchw) {
  ScratchDir dir;
  WriteBytes(dir.File("a.bin"), CifarRecords({3, 9}));
  WriteBytes(dir.File("b.bin"), CifarRecords({0, 5, 7}, {}, 2));
  Dataset d;
  std::string error;
  ASSERT_TRUE(ReadCifarFiles({dir.File("a.bin"), dir.File("b.bin")}, 10, &d, &error)) << error;
  EXPECT_EQ(d.count, 5);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 32);
  EXPECT_EQ(d.width, 32);
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{3, 9, 0, 5, 7}));
  ASSERT_EQ(d.images.size(), 5u * 3072);
  // Pixel p of record i is (i + p) mod 256: channel c, row y, column x is
  // p = 1024 c + 32 y + x (planar R, G, B).
  const int i = 3, c = 2, y = 5, x = 7;
  const int p = 1024 * c + 32 * y + x;
  EXPECT_EQ(d.image(i)[(c * 32 + y) * 32 + x], static_cast<float>((i + p) % 256) / 255.0f);
  EXPECT_EQ(d.image(0)[0], 0.0f);
  EXPECT_EQ(d.image(0)[255], 1.0f);
}

TEST(CifarTest, Cifar100UsesFineLabels) {
  ScratchDir dir;
  WriteBytes(dir.File("train.bin"), CifarRecords({99, 0, 42}, {19, 3, 7}));
  Dataset d;
  std::string error;
  ASSERT_TRUE(ReadCifarFiles({dir.File("train.bin")}, 100, &d, &error)) << error;
  EXPECT_EQ(d.count, 3);
  EXPECT_EQ(d.classes, 100);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{99, 0, 42}));
  // The two label bytes are not pixels: record 1 starts with pixel value 1.
  EXPECT_EQ(d.image(1)[0], 1.0f / 255.0f);
}

TEST(CifarTest, SizeNotMultipleOfRecord) {
  ScratchDir dir;
  Bytes records = CifarRecords({1, 2});
  records.pop_back();
  WriteBytes(dir.File("data_batch_1.bin"), records);
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadCifarFiles({dir.File("data_batch_1.bin")}, 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("data_batch_1.bin")));
  EXPECT_TRUE(Contains(error, "file size 6145 is not a multiple of the CIFAR record size 3073"));
  // A CIFAR-10 file read as CIFAR-100 is caught the same way.
  WriteBytes(dir.File("data_batch_1.bin"), CifarRecords({1, 2}));
  EXPECT_FALSE(ReadCifarFiles({dir.File("data_batch_1.bin")}, 100, &d, &error));
  EXPECT_TRUE(Contains(error, "not a multiple of the CIFAR record size 3074"));
}

TEST(CifarTest, LabelOutOfRange) {
  ScratchDir dir;
  WriteBytes(dir.File("test_batch.bin"), CifarRecords({1, 10}));
  Dataset d;
  std::string error;
  EXPECT_FALSE(ReadCifarFiles({dir.File("test_batch.bin")}, 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("test_batch.bin")));
  EXPECT_TRUE(Contains(error, "label 10 in record 1 is out of range [0, 10)"));

  WriteBytes(dir.File("test.bin"), CifarRecords({1, 2}, {20, 0}));
  EXPECT_FALSE(ReadCifarFiles({dir.File("test.bin")}, 100, &d, &error));
  EXPECT_TRUE(Contains(error, "coarse label 20 in record 0 is out of range [0, 20)"));
}

TEST(CifarTest, MissingAndEmptyFiles) {
  ScratchDir dir;
  WriteBytes(dir.File("ok.bin"), CifarRecords({1}));
  Dataset d;
  d.count = 77;  // must stay untouched on failure
  std::string error;
  EXPECT_FALSE(ReadCifarFiles({dir.File("ok.bin"), dir.File("gone.bin")}, 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("gone.bin")));
  EXPECT_TRUE(Contains(error, "missing file"));
  EXPECT_EQ(d.count, 77);

  WriteBytes(dir.File("empty.bin"), {});
  EXPECT_FALSE(ReadCifarFiles({dir.File("empty.bin")}, 10, &d, &error));
  EXPECT_TRUE(Contains(error, dir.File("empty.bin")));
  EXPECT_TRUE(Contains(error, "empty file"));

  EXPECT_FALSE(ReadCifarFiles({}, 10, &d, &error));
  EXPECT_TRUE(Contains(error, "no files"));
}

TEST(CifarTest, LoadDatasetFindsBatchesSubfolder) {
  ScratchDir dir;
  const std::string folder = dir.path() + "/cifar10/cifar-10-batches-bin/";
  for (int b = 1; b <= 5; ++b) {
    WriteBytes(dir.File("cifar10/cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin"),
               CifarRecords({static_cast<uint8_t>(b), 0}));
  }
  WriteBytes(dir.File("cifar10/cifar-10-batches-bin/test_batch.bin"), CifarRecords({4, 2, 1}));
  DataOptions options;
  options.data_dir = dir.path();
  DataSplit split;
  std::string error;
  ASSERT_TRUE(LoadDataset("cifar10", options, &split, &error)) << error;
  EXPECT_EQ(split.train.name, "cifar10/train");
  EXPECT_EQ(split.test.name, "cifar10/test");
  EXPECT_EQ(split.train.count, 10);
  EXPECT_EQ(split.test.count, 3);
  EXPECT_EQ(split.train.labels, (std::vector<int32_t>{1, 0, 2, 0, 3, 0, 4, 0, 5, 0}));
  EXPECT_EQ(split.train.image_size(), 3072);

  // A missing batch is named.
  std::filesystem::remove(folder + "data_batch_4.bin");
  EXPECT_FALSE(LoadDataset("cifar10", options, &split, &error));
  EXPECT_TRUE(Contains(error, folder + "data_batch_4.bin"));
}

TEST(CifarTest, LoadDatasetCifar100InDataDirItself) {
  ScratchDir dir;
  WriteBytes(dir.File("train.bin"), CifarRecords({5, 99, 42, 0}, {1, 2, 3, 4}));
  WriteBytes(dir.File("test.bin"), CifarRecords({7}, {0}));
  DataOptions options;
  options.data_dir = dir.path();
  DataSplit split;
  std::string error;
  ASSERT_TRUE(LoadDataset("cifar100", options, &split, &error)) << error;
  EXPECT_EQ(split.train.classes, 100);
  EXPECT_EQ(split.train.labels, (std::vector<int32_t>{5, 99, 42, 0}));
  EXPECT_EQ(split.test.labels, (std::vector<int32_t>{7}));
}

TEST(CifarTest, AbsentCifarSaysNotShippedAndWhereToPutFiles) {
  ScratchDir dir;
  DataOptions options;
  options.data_dir = dir.path();
  DataSplit split;
  std::string error;
  EXPECT_FALSE(LoadDataset("cifar10", options, &split, &error));
  EXPECT_TRUE(Contains(error, "CIFAR-10 is not shipped"));
  EXPECT_TRUE(Contains(error, "binary"));
  EXPECT_TRUE(Contains(error, "into the folder " + dir.path() + "/cifar10"));
  EXPECT_TRUE(Contains(error, "data_batch_1.bin"));
  EXPECT_TRUE(Contains(error, "data_batch_5.bin"));
  EXPECT_TRUE(Contains(error, "test_batch.bin"));

  EXPECT_FALSE(LoadDataset("cifar100", options, &split, &error));
  EXPECT_TRUE(Contains(error, "CIFAR-100 is not shipped"));
  EXPECT_TRUE(Contains(error, "train.bin and test.bin"));
  EXPECT_TRUE(Contains(error, dir.path() + "/cifar100"));
}

}  // namespace
}  // namespace twophase
