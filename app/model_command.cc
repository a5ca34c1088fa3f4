// twophase model --model M --dataset D: every parameter's name, shape and
// count, and the total.
#include <cstdio>

#include "app/commands.h"
#include "app/common.h"
#include "core/backend.h"
#include "datasets/dataset.h"

namespace po = boost::program_options;

namespace twophase {

int ModelCommand(const std::vector<std::string>& args) {
  std::string model_name, dataset;
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("model", po::value(&model_name)->required(),
                                                    ("model: " + JoinNames(ModelNames())).c_str())(
      "dataset", po::value(&dataset)->required(),
      ("data set whose input shape and class count the model is built for: " +
       JoinNames(DatasetNames()))
          .c_str());
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("model", "--model M --dataset D", options, args, &vm, &code)) {
    return code;
  }
  std::string error;
  InputShape shape;
  if (!DatasetInputShape(dataset, &shape, &error)) {
    std::fprintf(stderr, "twophase model: --dataset: %s\n", error.c_str());
    return 2;
  }
  auto backend = MakeBlasBackend();
  auto model = CreateModel(model_name, shape, backend.get(), &error);
  if (!model) {
    std::fprintf(stderr, "twophase model: --model: %s\n", error.c_str());
    return 2;
  }
  std::printf("%-36s %-18s %10s\n", "name", "shape", "count");
  for (const ParameterView& v : model->params().views()) {
    std::printf("%-36s %-18s %10lld\n", v.name.c_str(), ShapeToString(v.shape).c_str(),
                static_cast<long long>(v.size));
  }
  std::printf("total %lld parameters (%s on %s: %lldx%lldx%lld, %lld classes)\n",
              static_cast<long long>(model->params().size()), model_name.c_str(), dataset.c_str(),
              static_cast<long long>(shape.channels), static_cast<long long>(shape.height),
              static_cast<long long>(shape.width), static_cast<long long>(shape.classes));
  return 0;
}

}  // namespace twophase
