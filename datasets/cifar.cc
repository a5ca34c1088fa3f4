// CIFAR-10/100 binary format reader.
//
// The files have no header, so the only structural checks possible are the
// file size (a whole number of records) and the label bytes (in range).
// CIFAR is not checksummed: users bring their own copy, and there is more
// than one packaging of it in circulation.
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/dataset_internal.h"

namespace twophase {
namespace {

using internal::kCifarChannels;
using internal::kCifarSide;
constexpr int64_t kCifarPixels = kCifarChannels * kCifarSide * kCifarSide;  // 3072
// CIFAR-100 has 20 coarse classes (super-classes); only checked, not used.
constexpr int kCifar100CoarseClasses = 20;

}  // namespace

bool ReadCifarFiles(const std::vector<std::string>& paths, int64_t classes, Dataset* out,
                    std::string* error) {
  if (paths.empty()) {
    *error = "CIFAR reader: no files given";
    return false;
  }
  if (classes < 1 || classes > 256) {
    *error = "CIFAR reader: classes must be in [1, 256], got " + std::to_string(classes);
    return false;
  }
  // CIFAR-100 records carry <coarse label><fine label>; CIFAR-10 one label.
  const bool cifar100 = classes == 100;
  const int64_t label_bytes = cifar100 ? 2 : 1;
  const int64_t record = label_bytes + kCifarPixels;
  const std::string record_text = std::to_string(record) + " bytes (" +
                                  std::to_string(label_bytes) +
                                  (cifar100 ? " label bytes" : " label byte") + " + " +
                                  std::to_string(kCifarPixels) + " pixel bytes)";

  // Built aside and moved into *out only on success, so a failure never
  // leaves a half-filled data set behind.
  Dataset result;
  result.channels = kCifarChannels;
  result.height = kCifarSide;
  result.width = kCifarSide;
  result.classes = classes;
  std::vector<uint8_t> file;
  for (const std::string& path : paths) {
    if (!internal::ReadFileBytes(path, &file, error)) {
      if (!internal::IsRegularFile(path)) {
        *error += " (expected a CIFAR binary-format file)";
      }
      return false;
    }
    const int64_t size = static_cast<int64_t>(file.size());
    if (size == 0) {
      *error = path + ": empty file (expected CIFAR records of " + record_text + ")";
      return false;
    }
    if (size % record != 0) {
      *error = path + ": file size " + std::to_string(size) +
               " is not a multiple of the CIFAR record size " + record_text +
               "; the file is truncated or not in CIFAR binary format";
      return false;
    }
    const int64_t n = size / record;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* r = file.data() + i * record;
      if (cifar100 && r[0] >= kCifar100CoarseClasses) {
        *error = path + ": coarse label " + std::to_string(r[0]) + " in record " +
                 std::to_string(i) + " is out of range [0, " +
                 std::to_string(kCifar100CoarseClasses) + ")";
        return false;
      }
      const uint8_t label = r[label_bytes - 1];
      if (label >= classes) {
        *error = path + ": label " + std::to_string(label) + " in record " + std::to_string(i) +
                 " is out of range [0, " + std::to_string(classes) + ")";
        return false;
      }
    }
    // The pixel bytes are already planar R, G, B planes of 32x32 rows, i.e.
    // NCHW for one image, so each record converts as one block.
    const size_t first = result.images.size();
    result.images.resize(first + static_cast<size_t>(n * kCifarPixels));
    result.labels.reserve(result.labels.size() + n);
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* r = file.data() + i * record;
      result.labels.push_back(r[label_bytes - 1]);
      internal::BytesToUnitFloats(r + label_bytes, kCifarPixels,
                                  result.images.data() + first + i * kCifarPixels);
    }
    result.count += n;
  }
  result.name = paths.front();
  *out = std::move(result);
  return true;
}

}  // namespace twophase
