// Writing a file so that readers see either the old or the whole new
// content, never a torn one: write a temporary file beside it, flush it to
// disk, then rename it over the target (rename is atomic within a folder).
#ifndef TWOPHASE_CORE_ATOMIC_FILE_H_
#define TWOPHASE_CORE_ATOMIC_FILE_H_

#include <string>
#include <string_view>

namespace twophase {

// False + *error naming the file on any failure; the target is then
// untouched and the temporary file removed.
bool WriteFileAtomically(const std::string& path, std::string_view content,
                         std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_CORE_ATOMIC_FILE_H_
