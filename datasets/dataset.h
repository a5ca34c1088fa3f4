// Image classification data sets in memory, and how to load them.
//
// Readers return bool and fill *error with a message that names the file and
// the violated constraint (missing file, wrong magic number, wrong
// dimensions, counts that disagree with the file size or between images and
// labels, label out of range, truncated file, checksum mismatch). They never
// read out of bounds and never throw.
#ifndef TWOPHASE_DATASETS_DATASET_H_
#define TWOPHASE_DATASETS_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

namespace twophase {

struct Dataset {
  std::string name;  // "mnist/train", ...
  int64_t count = 0;
  int64_t channels = 0, height = 0, width = 0;
  int64_t classes = 0;
  std::vector<float> images;    // [count, channels, height, width] in [0, 1]
  std::vector<int32_t> labels;  // [count], each in [0, classes)

  int64_t image_size() const { return channels * height * width; }
  const float* image(int64_t i) const { return images.data() + i * image_size(); }
};

struct DataSplit {
  Dataset train;
  Dataset test;
};

// How to pick the training subset (--subset K).
enum class SubsetMode {
  kFirst,       // the first K training images, in file order
  kStratified,  // a seeded sample with each class's share kept (±1)
};

struct DataOptions {
  // Root folder; empty: $TWOPHASE_DATA_DIR if set, else the defaults
  // (MNIST: <source dir>/data/mnist; Fashion-MNIST:
  // /usr/share/datasets/fashion-mnist; CIFAR: <source dir>/data/cifar-10 or
  // cifar-100). With data_dir set, a data set is looked for in
  // data_dir/<name> and then in data_dir itself.
  std::string data_dir;
  int64_t subset = 0;  // 0: the whole training set
  SubsetMode subset_mode = SubsetMode::kFirst;
  uint64_t subset_seed = 0;
  // Compare decompressed MNIST/Fashion-MNIST files with their canonical
  // SHA-256 digests.
  bool verify_checksums = true;
};

// Names: "mnist", "fashion-mnist", "cifar10", "cifar100".
std::vector<std::string> DatasetNames();

// The image shape and class count of a named data set, without loading it
// (what a model is built for). False + *error for an unknown name.
struct DatasetShape {
  int64_t channels = 0, height = 0, width = 0, classes = 0;
  // The standard split's sizes (for cost estimates before loading).
  int64_t train_count = 0, test_count = 0;
};
bool FindDatasetShape(const std::string& name, DatasetShape* shape, std::string* error);

// Loads train and test split of a named data set. False + *error on any
// problem (unknown name, missing or corrupt files, ...).
bool LoadDataset(const std::string& name, const DataOptions& options, DataSplit* out,
                 std::string* error);

// --- Readers, exposed for tests and for users with files elsewhere. ---

// Reads an IDX file, raw or gzip-compressed (detected by content, not by
// name), into bytes. For images (magic 0x00000803): dims = {n, rows, cols};
// for labels (0x00000801): dims = {n}.
bool ReadIdxFile(const std::string& path, std::vector<int64_t>* dims, std::vector<uint8_t>* data,
                 std::string* error);

// Reads an IDX image/label file pair into a Dataset (1 channel, `classes`
// classes), checking that counts agree and labels are in range.
bool ReadIdxPair(const std::string& images_path, const std::string& labels_path, int64_t classes,
                 Dataset* out, std::string* error);

// CIFAR binary format: records of <label byte> (CIFAR-10) or <coarse byte>
// <fine byte> (CIFAR-100, fine labels used) followed by 3072 pixel bytes
// (1024 R, 1024 G, 1024 B, row-major 32x32). Several files are
// concatenated in order.
bool ReadCifarFiles(const std::vector<std::string>& paths, int64_t classes, Dataset* out,
                    std::string* error);

// Keeps `count` images of `data` (see SubsetMode). False + *error if count
// exceeds the data set.
bool TakeSubset(Dataset* data, int64_t count, SubsetMode mode, uint64_t seed, std::string* error);

// Lower-case hex SHA-256 of a byte string.
std::string Sha256Hex(const uint8_t* data, size_t size);

}  // namespace twophase

#endif  // TWOPHASE_DATASETS_DATASET_H_
