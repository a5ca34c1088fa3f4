// Files written and read whole. Writing a file so that readers see either the old or the whole new
// content, never a torn one: write a temporary file beside it, flush it to
// disk, then rename it over the target (rename is atomic within a folder).
#ifndef TWOPHASE_CORE_ATOMIC_FILE_H_
#define TWOPHASE_CORE_ATOMIC_FILE_H_

#include <string>
#include <string_view>

namespace twophase {

// False + *error naming the file on any failure; the target is then
// untouched and the temporary file removed.
bool WriteFileAtomically(const std::string& path, std::string_view content, std::string* error);

// Whether WriteFileAtomically(path, ...) can succeed, for commands that
// check their output paths before hours of work end in that write: the
// path is not a folder and its folder takes a new file (the temporary file
// is created and removed again, which also catches read-only and full file
// systems that permission bits do not show). False + *error naming the path.
bool CheckWritable(const std::string& path, std::string* error);

// The whole file as bytes. False + *error ("<path>: cannot open: <why>" or
// "<path>: read error") when it cannot be read.
bool ReadWholeFile(const std::string& path, std::string* text, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_CORE_ATOMIC_FILE_H_
