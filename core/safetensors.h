// Saving and loading a ParameterBuffer as a safetensors file, the format of
// PyTorch's and Hugging Face's `safetensors` package:
//   8 bytes little-endian u64 N | N bytes JSON header | raw tensor data.
// The header maps each name to {"dtype": "F32", "shape": [...],
// "data_offsets": [begin, end]} (offsets relative to the data section) and
// may carry a "__metadata__" object of string to string.
#ifndef TWOPHASE_CORE_SAFETENSORS_H_
#define TWOPHASE_CORE_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <string>

#include "core/parameter_buffer.h"

namespace twophase {

// Writes every parameter of `params` (values, not gradients) atomically
// (temporary file, then rename). False + *error naming the file on failure.
bool SaveSafetensors(const std::string& path, const ParameterBuffer& params,
                     const std::map<std::string, std::string>& metadata, std::string* error);

// The metadata saved with trained parameters, by `twophase train --save` and
// as a suite cell's final.safetensors: model, data set, epochs, seed, and
// "format": "pt" (what PyTorch's safetensors.torch.save_file writes).
std::map<std::string, std::string> TrainedParametersMetadata(const std::string& model,
                                                             const std::string& dataset,
                                                             int64_t epochs, uint64_t seed);

// Loads values into `params`. The file must hold exactly the model's
// parameter names, each F32 with the model's shape; otherwise false and an
// error naming the file and the first offending tensor (missing, unexpected,
// wrong dtype or shape, offsets out of range) -- `params` is then unchanged.
// F64 and F16/BF16 tensors of the right shape are converted. Metadata, if
// requested, is returned.
bool LoadSafetensors(const std::string& path, ParameterBuffer* params,
                     std::map<std::string, std::string>* metadata, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_CORE_SAFETENSORS_H_
