// Pieces shared by the data set readers (idx.cc, cifar.cc, dataset.cc); not
// part of the public API in dataset.h.
//
// They are split out so that LoadDataset can checksum the decompressed bytes
// of a file and parse those same bytes, instead of reading every file twice.
#ifndef TWOPHASE_DATASETS_DATASET_INTERNAL_H_
#define TWOPHASE_DATASETS_DATASET_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace twophase::internal {

// The CIFAR binary format's images: 3 x 32 x 32.
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarChannels = 3;

// Reads a whole file; gzip content (magic bytes 1f 8b) is decompressed,
// including multi-member streams. Truncated or corrupt gzip data is an error.
bool ReadFileBytes(const std::string& path, std::vector<uint8_t>* bytes, std::string* error);

// Parses the IDX header of an in-memory file (`path` is only used in
// messages). On success *payload_offset is where the data starts, and the
// payload size equals the product of the dims exactly.
bool ParseIdxHeader(const std::string& path, const std::vector<uint8_t>& file,
                    std::vector<int64_t>* dims, size_t* payload_offset, std::string* error);

// Builds a 1-channel Dataset from in-memory IDX image and label files.
bool IdxBytesToDataset(const std::string& images_path, const std::vector<uint8_t>& images_file,
                       const std::string& labels_path, const std::vector<uint8_t>& labels_file,
                       int64_t classes, Dataset* out, std::string* error);

// Converts bytes to floats in [0, 1] (byte / 255).
void BytesToUnitFloats(const uint8_t* bytes, size_t n, float* out);

// True if `path` names an existing regular file (or a link to one). When it
// is not one for a reason other than absence -- a symbolic-link loop, no
// permission -- *problem (if given) says so, naming the path: a data folder
// that is there but unusable must not be reported as "cannot find".
bool IsRegularFile(const std::string& path, std::string* problem = nullptr);

}  // namespace twophase::internal

#endif  // TWOPHASE_DATASETS_DATASET_INTERNAL_H_
