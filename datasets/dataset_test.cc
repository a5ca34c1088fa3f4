#include "datasets/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "datasets/dataset_test_util.h"

namespace twophase {
namespace {

using testing_util::Contains;
using testing_util::ScopedEnv;
using testing_util::ScratchDir;
using testing_util::WriteIdxSet;

std::vector<int64_t> Histogram(const Dataset& d) {
  std::vector<int64_t> counts(static_cast<size_t>(d.classes));
  for (int32_t label : d.labels) ++counts.at(label);
  return counts;
}

TEST(DatasetTest, NamesAndUnknownName) {
  EXPECT_EQ(DatasetNames(),
            (std::vector<std::string>{"mnist", "fashion-mnist", "cifar10", "cifar100"}));
  DataSplit split;
  std::string error;
  EXPECT_FALSE(LoadDataset("imagenet", DataOptions(), &split, &error));
  EXPECT_TRUE(Contains(error, "unknown data set 'imagenet'"));
  EXPECT_TRUE(Contains(error, "mnist, fashion-mnist, cifar10, cifar100"));
}

// --- The real files (fetched by scripts/setup.sh; present in CI). ---

// Loaded once per suite: the full sets take a noticeable fraction of a
// second each, and every test here only reads them.
class DatasetRealDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The defaults are under test, so an ambient override must not apply.
    ScopedEnv no_override("TWOPHASE_DATA_DIR", nullptr);
    for (const char* name : {"mnist", "fashion-mnist"}) {
      auto split = std::make_unique<DataSplit>();
      std::string error;
      const auto start = std::chrono::steady_clock::now();
      const bool ok = LoadDataset(name, DataOptions(), split.get(), &error);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("[ info     ] %s loaded with checksums in %.2f s\n", name, seconds);
      if (!ok) {
        errors_[name] = error;
        continue;
      }
      (std::string(name) == "mnist" ? mnist_ : fashion_) = std::move(split);
    }
  }
  static void TearDownTestSuite() {
    mnist_.reset();
    fashion_.reset();
  }
  static std::unique_ptr<DataSplit> mnist_, fashion_;
  static std::map<std::string, std::string> errors_;
};
std::unique_ptr<DataSplit> DatasetRealDataTest::mnist_, DatasetRealDataTest::fashion_;
std::map<std::string, std::string> DatasetRealDataTest::errors_;

void ExpectMnistShape(const DataSplit& s, const std::string& name) {
  EXPECT_EQ(s.train.name, name + "/train");
  EXPECT_EQ(s.test.name, name + "/test");
  EXPECT_EQ(s.train.count, 60000);
  EXPECT_EQ(s.test.count, 10000);
  for (const Dataset* d : {&s.train, &s.test}) {
    EXPECT_EQ(d->channels, 1);
    EXPECT_EQ(d->height, 28);
    EXPECT_EQ(d->width, 28);
    EXPECT_EQ(d->classes, 10);
    EXPECT_EQ(d->images.size(), static_cast<size_t>(d->count) * 784);
    EXPECT_EQ(d->labels.size(), static_cast<size_t>(d->count));
    const auto [lo, hi] = std::minmax_element(d->images.begin(), d->images.end());
    EXPECT_EQ(*lo, 0.0f);
    EXPECT_EQ(*hi, 1.0f);
  }
}

TEST_F(DatasetRealDataTest, Mnist) {
  ASSERT_NE(mnist_, nullptr) << errors_["mnist"];
  ExpectMnistShape(*mnist_, "mnist");
  EXPECT_EQ(std::vector<int32_t>(mnist_->train.labels.begin(), mnist_->train.labels.begin() + 10),
            (std::vector<int32_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  EXPECT_EQ(std::vector<int32_t>(mnist_->test.labels.begin(), mnist_->test.labels.begin() + 10),
            (std::vector<int32_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
  // Well-known MNIST class counts: 5923 zeros, 6742 ones in train; 980
  // zeros and 1135 ones in test.
  const std::vector<int64_t> train = Histogram(mnist_->train), test = Histogram(mnist_->test);
  EXPECT_EQ(train[0], 5923);
  EXPECT_EQ(train[1], 6742);
  EXPECT_EQ(test[0], 980);
  EXPECT_EQ(test[1], 1135);
  for (int64_t c : train) {
    EXPECT_GT(c, 5000);
    EXPECT_LT(c, 7000);
  }
  // The usual normalisation constant: mean pixel 0.1307.
  double sum = 0;
  for (float v : mnist_->train.images) sum += v;
  EXPECT_NEAR(sum / mnist_->train.images.size(), 0.1307, 0.0005);
}

TEST_F(DatasetRealDataTest, FashionMnist) {
  ASSERT_NE(fashion_, nullptr) << errors_["fashion-mnist"];
  ExpectMnistShape(*fashion_, "fashion-mnist");
  EXPECT_EQ(
      std::vector<int32_t>(fashion_->train.labels.begin(), fashion_->train.labels.begin() + 10),
      (std::vector<int32_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  EXPECT_EQ(std::vector<int32_t>(fashion_->test.labels.begin(), fashion_->test.labels.begin() + 10),
            (std::vector<int32_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  // Fashion-MNIST is exactly balanced.
  EXPECT_EQ(Histogram(fashion_->train), std::vector<int64_t>(10, 6000));
  EXPECT_EQ(Histogram(fashion_->test), std::vector<int64_t>(10, 1000));
}

// --- Lookup, checksums and overrides with small fake files. ---

TEST(DatasetTest, ChecksumMismatchNamesFileAndDigests) {
  ScratchDir dir;
  WriteIdxSet(dir.path(), 20, 10, 28, /*gzip=*/false);
  DataOptions options;
  options.data_dir = dir.path();
  DataSplit split;
  std::string error;
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, dir.path() + "/train-images-idx3-ubyte: checksum mismatch"));
  EXPECT_TRUE(
      Contains(error, "expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"));
  EXPECT_TRUE(Contains(error, "SHA-256 of the decompressed content is "));

  options.verify_checksums = false;
  ASSERT_TRUE(LoadDataset("mnist", options, &split, &error)) << error;
  EXPECT_EQ(split.train.count, 20);
  EXPECT_EQ(split.test.count, 10);
  EXPECT_EQ(split.train.name, "mnist/train");
}

TEST(DatasetTest, MnistTypeDataMustBe28x28) {
  ScratchDir dir;
  WriteIdxSet(dir.path() + "/fashion-mnist", 20, 10, 27, /*gzip=*/true);
  DataOptions options;
  options.data_dir = dir.path();
  options.verify_checksums = false;
  DataSplit split;
  std::string error;
  EXPECT_FALSE(LoadDataset("fashion-mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, dir.path() + "/fashion-mnist/train-images-idx3-ubyte.gz"));
  EXPECT_TRUE(Contains(error, "wrong dimensions: images are 27 x 27"));
  EXPECT_TRUE(Contains(error, "expects 28 x 28"));
}

TEST(DatasetTest, DataDirNamedSubfolderComesFirst) {
  ScratchDir dir;
  WriteIdxSet(dir.path(), 20, 10, 28, /*gzip=*/false);
  WriteIdxSet(dir.path() + "/mnist", 30, 5, 28, /*gzip=*/true, /*dotted_names=*/true);
  DataOptions options;
  options.data_dir = dir.path();
  options.verify_checksums = false;
  DataSplit split;
  std::string error;
  ASSERT_TRUE(LoadDataset("mnist", options, &split, &error)) << error;
  EXPECT_EQ(split.train.count, 30);  // from <dir>/mnist, gzip, dotted names
  EXPECT_EQ(split.test.count, 5);

  std::filesystem::remove_all(dir.path() + "/mnist");
  ASSERT_TRUE(LoadDataset("mnist", options, &split, &error)) << error;
  EXPECT_EQ(split.train.count, 20);  // from <dir> itself
}

TEST(DatasetTest, EnvironmentVariableOverridesDefaultButNotOption) {
  ScratchDir env_dir, option_dir;
  WriteIdxSet(env_dir.path(), 20, 10, 28, /*gzip=*/false);
  WriteIdxSet(option_dir.path(), 40, 10, 28, /*gzip=*/false);
  ScopedEnv env("TWOPHASE_DATA_DIR", env_dir.path().c_str());
  DataOptions options;
  options.verify_checksums = false;
  DataSplit split;
  std::string error;
  ASSERT_TRUE(LoadDataset("mnist", options, &split, &error)) << error;
  EXPECT_EQ(split.train.count, 20);
  options.data_dir = option_dir.path();
  ASSERT_TRUE(LoadDataset("mnist", options, &split, &error)) << error;
  EXPECT_EQ(split.train.count, 40);
}

TEST(DatasetTest, MissingFilesAreNamed) {
  ScratchDir dir;
  DataOptions options;
  options.data_dir = dir.path();
  options.verify_checksums = false;
  DataSplit split;
  std::string error;
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, "cannot find train-images-idx3-ubyte"));
  EXPECT_TRUE(Contains(error, dir.path() + "/mnist, " + dir.path()));
  EXPECT_TRUE(Contains(error, "scripts/setup.sh"));

  WriteIdxSet(dir.path(), 20, 10, 28, /*gzip=*/false);
  std::filesystem::remove(dir.path() + "/t10k-labels-idx1-ubyte");
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, dir.path() + "/t10k-labels-idx1-ubyte: missing file"));
}

// A symbolic-link loop is no missing folder: the error says what it is and
// names the path, for the data folder and for a file in it alike.
TEST(DatasetTest, SymbolicLinkLoopIsNamedNotCannotFind) {
  ScratchDir dir;
  DataOptions options;
  options.data_dir = dir.path();
  options.verify_checksums = false;
  std::filesystem::create_directory_symlink(dir.path() + "/mnist", dir.path() + "/mnist");
  DataSplit split;
  std::string error;
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(
      error, "mnist: " + dir.path() + "/mnist/train-images-idx3-ubyte: symbolic-link loop"))
      << error;
  EXPECT_FALSE(Contains(error, "cannot find")) << error;

  std::filesystem::remove(dir.path() + "/mnist");
  WriteIdxSet(dir.path(), 20, 10, 28, /*gzip=*/false);
  const std::string labels = dir.path() + "/t10k-labels-idx1-ubyte";
  std::filesystem::remove(labels);
  std::filesystem::create_symlink(labels, labels);
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, labels + ": symbolic-link loop")) << error;

  // CIFAR: a loop fails (it is not "was not found", which skips a cell).
  std::filesystem::create_directory_symlink(dir.path() + "/cifar10", dir.path() + "/cifar10");
  EXPECT_FALSE(LoadDataset("cifar10", options, &split, &error));
  EXPECT_TRUE(Contains(error, dir.path() + "/cifar10/data_batch_1.bin: symbolic-link loop"))
      << error;
  EXPECT_FALSE(Contains(error, "was not found")) << error;
}

// --- Subsets. ---

// 100 images; class c has 10 * (c + 1) of them for c < 4, interleaved;
// image i's pixels all equal i / 255 so tests can tell which were kept.
Dataset Unbalanced() {
  Dataset d;
  d.name = "unbalanced";
  d.channels = 1;
  d.height = d.width = 2;
  d.classes = 4;
  for (int c = 0; c < 4; ++c) {
    for (int k = 0; k < 10 * (c + 1); ++k) d.labels.push_back(c);
  }
  // Mixed so that the classes are not in blocks.
  Rng(1).Shuffle(d.labels.data(), static_cast<int64_t>(d.labels.size()));
  d.count = static_cast<int64_t>(d.labels.size());
  for (int64_t i = 0; i < d.count; ++i) {
    for (int p = 0; p < 4; ++p) d.images.push_back(static_cast<float>(i) / 255.0f);
  }
  return d;
}

std::vector<int64_t> KeptIndices(const Dataset& d) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < d.count; ++i) kept.push_back(std::lround(d.image(i)[0] * 255.0f));
  return kept;
}

TEST(DatasetSubsetTest, FirstKeepsFileOrder) {
  Dataset d = Unbalanced();
  const std::vector<int32_t> labels = d.labels;
  std::string error;
  ASSERT_TRUE(TakeSubset(&d, 7, SubsetMode::kFirst, 0, &error)) << error;
  EXPECT_EQ(d.count, 7);
  EXPECT_EQ(d.images.size(), 28u);
  EXPECT_EQ(KeptIndices(d), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.labels, std::vector<int32_t>(labels.begin(), labels.begin() + 7));
}

TEST(DatasetSubsetTest, StratifiedKeepsClassShares) {
  // Shares 10/100 .. 40/100; 25 images give exact quotas 2.5, 5, 7.5, 10.
  Dataset d = Unbalanced();
  const std::vector<int32_t> all_labels = d.labels;
  std::string error;
  ASSERT_TRUE(TakeSubset(&d, 25, SubsetMode::kStratified, 7, &error)) << error;
  EXPECT_EQ(d.count, 25);
  const std::vector<int64_t> h = Histogram(d);
  const double expected[] = {2.5, 5, 7.5, 10};
  for (int c = 0; c < 4; ++c) EXPECT_LE(std::abs(h[c] - expected[c]), 1.0) << "class " << c;
  EXPECT_EQ(h[0] + h[1] + h[2] + h[3], 25);
  // Ordered by original index, and each label still belongs to its image.
  const std::vector<int64_t> kept = KeptIndices(d);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_EQ(std::adjacent_find(kept.begin(), kept.end()), kept.end());
  for (int64_t i = 0; i < d.count; ++i) EXPECT_EQ(d.labels[i], all_labels[kept[i]]);
}

TEST(DatasetSubsetTest, StratifiedDependsOnlyOnSeed) {
  std::vector<std::vector<int64_t>> picks;
  for (uint64_t seed : {11, 11, 12}) {
    Dataset d = Unbalanced();
    std::string error;
    EXPECT_TRUE(TakeSubset(&d, 30, SubsetMode::kStratified, seed, &error)) << error;
    picks.push_back(KeptIndices(d));
  }
  EXPECT_EQ(picks[0], picks[1]);
  EXPECT_NE(picks[0], picks[2]);
}

TEST(DatasetSubsetTest, WholeSetAndEveryClassKept) {
  Dataset d = Unbalanced();
  std::string error;
  ASSERT_TRUE(TakeSubset(&d, d.count, SubsetMode::kStratified, 3, &error)) << error;
  std::vector<int64_t> all(100);
  for (int i = 0; i < 100; ++i) all[i] = i;
  EXPECT_EQ(KeptIndices(d), all);
}

TEST(DatasetSubsetTest, BadCounts) {
  for (int64_t count : {int64_t{0}, int64_t{-3}, int64_t{101}}) {
    Dataset d = Unbalanced();
    std::string error;
    EXPECT_FALSE(TakeSubset(&d, count, SubsetMode::kStratified, 0, &error));
    EXPECT_TRUE(Contains(error, "unbalanced: subset size"));
    EXPECT_EQ(d.count, 100);
  }
  Dataset d = Unbalanced();
  std::string error;
  EXPECT_FALSE(TakeSubset(&d, 101, SubsetMode::kFirst, 0, &error));
  EXPECT_TRUE(Contains(error, "exceeds the 100 images"));
}

TEST(DatasetSubsetTest, LoadDatasetAppliesSubsetToTrainOnly) {
  ScratchDir dir;
  WriteIdxSet(dir.path(), 50, 10, 28, /*gzip=*/false);
  DataOptions options;
  options.data_dir = dir.path();
  options.verify_checksums = false;
  options.subset = 20;
  options.subset_mode = SubsetMode::kStratified;
  options.subset_seed = 5;
  DataSplit split;
  std::string error;
  ASSERT_TRUE(LoadDataset("mnist", options, &split, &error)) << error;
  EXPECT_EQ(split.train.count, 20);
  EXPECT_EQ(split.test.count, 10);
  EXPECT_EQ(Histogram(split.train), std::vector<int64_t>(10, 2));

  options.subset = 51;
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, "mnist/train: subset size 51 exceeds the 50 images"));
  options.subset = -1;
  EXPECT_FALSE(LoadDataset("mnist", options, &split, &error));
  EXPECT_TRUE(Contains(error, "subset size must be positive"));
}

}  // namespace
}  // namespace twophase

namespace twophase {
namespace {

TEST(DatasetShapeTest, KnowsEveryDataSetWithoutLoadingIt) {
  DatasetShape shape;
  std::string error;
  ASSERT_TRUE(FindDatasetShape("fashion-mnist", &shape, &error)) << error;
  EXPECT_EQ(shape.channels, 1);
  EXPECT_EQ(shape.height, 28);
  EXPECT_EQ(shape.width, 28);
  EXPECT_EQ(shape.classes, 10);
  ASSERT_TRUE(FindDatasetShape("cifar100", &shape, &error)) << error;
  EXPECT_EQ(shape.channels, 3);
  EXPECT_EQ(shape.height, 32);
  EXPECT_EQ(shape.classes, 100);
  EXPECT_FALSE(FindDatasetShape("svhn", &shape, &error));
  EXPECT_NE(error.find("unknown data set 'svhn'"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase
