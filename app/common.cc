#include "app/common.h"

#include <cstdio>
#include <iostream>

#include "datasets/dataset.h"

namespace po = boost::program_options;

namespace twophase {

bool DatasetInputShape(const std::string& dataset, InputShape* shape,
                       std::string* error) {
  if (dataset == "mnist" || dataset == "fashion-mnist") {
    *shape = InputShape{1, 28, 28, 10};
  } else if (dataset == "cifar10") {
    *shape = InputShape{3, 32, 32, 10};
  } else if (dataset == "cifar100") {
    *shape = InputShape{3, 32, 32, 100};
  } else {
    *error = "unknown dataset '" + dataset +
             "' (known: " + JoinNames(DatasetNames()) + ")";
    return false;
  }
  return true;
}

bool ParseCommandLine(const std::string& command, const std::string& synopsis,
                      const po::options_description& options,
                      const std::vector<std::string>& args,
                      po::variables_map* vm, int* exit_code) {
  try {
    po::store(po::command_line_parser(args).options(options).run(), *vm);
    if (vm->count("help")) {
      std::cout << "usage: twophase " << command << " " << synopsis << "\n\n"
                << options << "\n";
      *exit_code = 0;
      return false;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "twophase %s: %s\n(see 'twophase %s --help')\n",
                 command.c_str(), e.what(), command.c_str());
    *exit_code = 2;
    return false;
  }
  return true;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace twophase
