// Pieces shared by the subcommands.
#ifndef TWOPHASE_APP_COMMON_H_
#define TWOPHASE_APP_COMMON_H_

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "models/model.h"

namespace twophase {

// The input shape of a named data set without loading it.
bool DatasetInputShape(const std::string& dataset, InputShape* shape,
                       std::string* error);

// Parses `args` against `options`; handles --help (prints usage to stdout,
// *exit_code = 0) and errors (prints to stderr, *exit_code = 2). Returns
// false when the caller should return *exit_code.
bool ParseCommandLine(const std::string& command, const std::string& synopsis,
                      const boost::program_options::options_description& options,
                      const std::vector<std::string>& args,
                      boost::program_options::variables_map* vm,
                      int* exit_code);

// "a, b, c"
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace twophase

#endif  // TWOPHASE_APP_COMMON_H_
