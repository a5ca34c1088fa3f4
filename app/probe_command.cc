// twophase probe: the curvature of the training loss at a point (issue 17).
// The extreme Hessian eigenvalues by Lanczos on central-difference
// Hessian-vector products of the loss over the first --subset training
// samples (optimizers/curvature.h), the curvature along the gradient, and
// their costs. Ends with one key=value line; --json FILE writes the same.
#include <chrono>
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
  LanczosResult lanczos;
  double loss = 0, gradient_norm = 0, curvature_gradient = 0;
  double step = 0, rounding_error = 0, passes = 0, seconds = 0;
  int64_t samples = 0, products = 0;
};

ProbeResult Probe(ModelAndData* run, const LanczosOptions& options, double fd_step) {
  const auto start = std::chrono::steady_clock::now();
  ProbeResult r;
  TrainingObjective objective(run->model.get(), &run->data.train, run->loss, 0, run->micro_batch);
  r.samples = objective.samples();
  ParameterBuffer& params = run->model->params();
  const std::vector<float> x(params.values(), params.values() + params.size());
  std::vector<float> g(x.size());
  r.loss = objective.ValueAndGradient(x.data(), g.data());
  r.gradient_norm = Norm(g.data(), static_cast<int64_t>(g.size()));
  HessianVectorProduct hvp(&objective, x.data(), fd_step);
  r.lanczos = Lanczos(hvp.AsOperator(), objective.size(), options);
  r.rounding_error = hvp.last_rounding_error();
  r.curvature_gradient = CurvatureAlong(&hvp, std::vector<double>(g.begin(), g.end()));
  r.step = hvp.step();
  r.products = hvp.products();
  r.passes = objective.counts().forward_passes;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::string KeyValues(const ProbeResult& r) {
  char line[640];
  std::snprintf(line, sizeof(line),
                "lambda_max=%.9g lambda_min=%.9g lambda_max_error=%.3g lambda_min_error=%.3g "
                "min_over_max=%.6g curvature_gradient=%.9g loss=%.9g gradient_norm=%.9g "
                "samples=%lld hvp_products=%lld hvp_step=%.3g rounding_error=%.3g passes=%.6g "
                "seconds=%.3f",
                r.lanczos.lambda_max, r.lanczos.lambda_min, r.lanczos.lambda_max_error,
                r.lanczos.lambda_min_error, r.lanczos.lambda_min / r.lanczos.lambda_max,
                r.curvature_gradient, r.loss, r.gradient_norm, static_cast<long long>(r.samples),
                static_cast<long long>(r.products), r.step, r.rounding_error, r.passes, r.seconds);
  return line;
}

nlohmann::json ProbeJson(const ProbeResult& r) {
  return {{"lambda_max", r.lanczos.lambda_max},
          {"lambda_min", r.lanczos.lambda_min},
          {"lambda_max_error", r.lanczos.lambda_max_error},
          {"lambda_min_error", r.lanczos.lambda_min_error},
          {"ritz_values", r.lanczos.ritz_values},
          {"curvature_gradient", r.curvature_gradient},
          {"loss", r.loss},
          {"gradient_norm", r.gradient_norm},
          {"samples", r.samples},
          {"hvp_products", r.products},
          {"hvp_step", r.step},
          {"rounding_error", r.rounding_error},
          {"passes", r.passes},
          {"seconds", r.seconds}};
}

}  // namespace

int ProbeCommand(const std::vector<std::string>& args) {
  ModelAndData run;
  LanczosOptions lanczos;
  lanczos.steps = 20;
  double fd_step = 0;
  std::string json_path;
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "steps", po::value(&lanczos.steps)->default_value(20),
      "Lanczos steps (Hessian-vector products, 2 gradients each)")(
      "hvp-step", po::value(&fd_step)->default_value(0),
      "central-difference step (0: eps_float^(1/2) * max(1, |x|/sqrt(n)))")(
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
  const ProbeResult r = Probe(&run, lanczos, fd_step);
  std::printf("# Hessian of the %s loss over %lld training samples, %lld parameters\n",
              run.loss_name.c_str(), static_cast<long long>(r.samples),
              static_cast<long long>(run.model->params().size()));
  std::printf("# lambda_max %.6g (+- %.2g), lambda_min %.6g (+- %.2g), ratio %.4g\n",
              r.lanczos.lambda_max, r.lanczos.lambda_max_error, r.lanczos.lambda_min,
              r.lanczos.lambda_min_error, r.lanczos.lambda_min / r.lanczos.lambda_max);
  std::printf("%s\n", KeyValues(r).c_str());
  if (!json_path.empty() && !WriteFileAtomically(json_path, ProbeJson(r).dump(2) + "\n", &error)) {
    std::fprintf(stderr, "twophase probe: --json: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace twophase
