// twophase probe: the curvature of the training loss at a point (issue 17).
// The extreme Hessian eigenvalues by Lanczos on central-difference
// Hessian-vector products of the loss over the first --subset training
// samples (optimizers/curvature.h), the curvature along the gradient, and
// their costs. Ends with one key=value line; --json FILE writes the same.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "app/commands.h"
#include "app/common.h"
#include "core/atomic_file.h"
#include "core/option_check.h"
#include "optimizers/curvature.h"
#include "training/training_objective.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

struct ProbeResult {
  CurvatureReading reading;
  ProbeDetails details;
  int64_t samples = 0;
};

// The parameters of --previous (the point before the last update), as
// --init reads a file: a safetensors file or a checkpoint.
bool ReadPrevious(const std::string& path, Model* model, std::vector<float>* previous,
                  std::string* error) {
  ParameterBuffer& params = model->params();
  const std::vector<float> x(params.values(), params.values() + params.size());
  const bool ok = LoadParameterFile(path, &params, error);
  if (ok) previous->assign(params.values(), params.values() + params.size());
  std::copy(x.begin(), x.end(), params.values());
  return ok;
}

ProbeResult Probe(ModelAndData* run, const LanczosOptions& options, double fd_step,
                  const std::vector<float>& previous) {
  ProbeResult r;
  TrainingObjective objective(run->model.get(), &run->data.train, run->loss, 0, run->micro_batch);
  r.samples = objective.samples();
  ParameterBuffer& params = run->model->params();
  const std::vector<float> x(params.values(), params.values() + params.size());
  r.reading = ProbeCurvature(&objective, x.data(), previous.empty() ? nullptr : previous.data(),
                             options, fd_step, &r.details);
  return r;
}

std::string KeyValues(const ProbeResult& r) {
  const LanczosResult& l = r.details.lanczos;
  const ProbeDetails& d = r.details;
  char line[720];
  std::snprintf(line, sizeof(line),
                "lambda_max=%.9g lambda_min=%.9g lambda_max_error=%.3g lambda_min_error=%.3g "
                "min_over_max=%.6g curvature_gradient=%.9g curvature_update=%.9g loss=%.9g "
                "gradient_norm=%.9g samples=%lld hvp_products=%lld hvp_step=%.3g "
                "rounding_error=%.3g passes=%.6g seconds=%.3f",
                l.lambda_max, l.lambda_min, l.lambda_max_error, l.lambda_min_error,
                l.lambda_min / l.lambda_max, r.reading.along_gradient, r.reading.along_update,
                d.loss, d.gradient_norm, static_cast<long long>(r.samples),
                static_cast<long long>(d.products), d.step, d.rounding_error, d.passes,
                r.reading.seconds);
  return line;
}

nlohmann::json ProbeJson(const ProbeResult& r) {
  const LanczosResult& l = r.details.lanczos;
  const ProbeDetails& d = r.details;
  // JSON has no NaN: no update direction is null.
  const double update = r.reading.along_update;
  return {{"lambda_max", l.lambda_max},
          {"lambda_min", l.lambda_min},
          {"lambda_max_error", l.lambda_max_error},
          {"lambda_min_error", l.lambda_min_error},
          {"ritz_values", l.ritz_values},
          {"curvature_gradient", r.reading.along_gradient},
          {"curvature_update", std::isnan(update) ? nlohmann::json() : nlohmann::json(update)},
          {"loss", d.loss},
          {"gradient_norm", d.gradient_norm},
          {"samples", r.samples},
          {"hvp_products", d.products},
          {"hvp_step", d.step},
          {"rounding_error", d.rounding_error},
          {"passes", d.passes},
          {"seconds", r.reading.seconds}};
}

}  // namespace

int ProbeCommand(const std::vector<std::string>& args) {
  ModelAndData run;
  LanczosOptions lanczos;
  lanczos.steps = 20;
  double fd_step = 0;
  std::string json_path, previous_path;
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "steps", po::value(&lanczos.steps)->default_value(20),
      "Lanczos steps (Hessian-vector products, 2 gradients each)")(
      "hvp-step", po::value(&fd_step)->default_value(0),
      "central-difference step (0: eps_float^(1/2) * max(1, |x|/sqrt(n)))")(
      "previous", po::value(&previous_path),
      "the point before the last update (a safetensors file or a checkpoint, as --init): "
      "adds the curvature along the update, --init minus this")(
      "json", po::value(&json_path), "also write the results as JSON to FILE");
  run.AddOptions(&options);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("probe", "--model M --dataset D [--init FILE] [--subset K] [options]",
                        options, args, &vm, &code)) {
    return code;
  }
  std::string error;
  if (!lanczos.IsValid(&error) || !CheckOption(std::isfinite(fd_step) && fd_step >= 0, "hvp-step",
                                               ">= 0 and finite", fd_step, &error)) {
    std::fprintf(stderr, "twophase probe: --%s\n", error.c_str());
    return 2;
  }
  lanczos.seed = run.seed;
  if (!json_path.empty() && !CheckWritable(json_path, &error)) {
    std::fprintf(stderr, "twophase probe: --json: %s\n", error.c_str());
    return 2;
  }
  if (!run.Build("probe", &code)) return code;
  std::vector<float> previous;
  if (!previous_path.empty() && !ReadPrevious(previous_path, run.model.get(), &previous, &error)) {
    std::fprintf(stderr, "twophase probe: --previous: %s\n", error.c_str());
    return 1;
  }
  const ProbeResult r = Probe(&run, lanczos, fd_step, previous);
  const LanczosResult& l = r.details.lanczos;
  std::printf("# Hessian of the %s loss over %lld training samples, %lld parameters\n",
              run.loss_name.c_str(), static_cast<long long>(r.samples),
              static_cast<long long>(run.model->params().size()));
  std::printf("# lambda_max %.6g (+- %.2g), lambda_min %.6g (+- %.2g), ratio %.4g\n", l.lambda_max,
              l.lambda_max_error, l.lambda_min, l.lambda_min_error, l.lambda_min / l.lambda_max);
  std::printf("%s\n", KeyValues(r).c_str());
  if (!json_path.empty() && !WriteFileAtomically(json_path, ProbeJson(r).dump(2) + "\n", &error)) {
    std::fprintf(stderr, "twophase probe: --json: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace twophase
