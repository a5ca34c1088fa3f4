// The one way an Options::IsValid reports a violated constraint:
// "<name> must be <what>, got <value>".
#ifndef TWOPHASE_CORE_OPTION_CHECK_H_
#define TWOPHASE_CORE_OPTION_CHECK_H_

#include <cstdio>
#include <string>

namespace twophase {

// True if ok; otherwise writes the message to *error (if non-null) and
// returns false. %.17g so that the offending value is shown exactly.
inline bool CheckOption(bool ok, const char* name, const char* what, double value,
                        std::string* error) {
  if (ok) return true;
  if (error != nullptr) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%s must be %s, got %.17g", name, what, value);
    *error = buf;
  }
  return false;
}

}  // namespace twophase

#endif  // TWOPHASE_CORE_OPTION_CHECK_H_
