// twophase minimize: runs nonlinear conjugate gradient on a classic test
// problem (optimizers/test_problems.h) and reports iterations, evaluations,
// the final value and gradient norm and why it stopped, ending in one
// key=value line. With --all, one key=value line per problem and a total:
// the efficiency report of a beta rule and line search.
//
// Exit codes: 0 when the runs completed (whatever their termination: it is
// reported, and non-convergence on e.g. Freudenstein-Roth is expected),
// 1 when a problem could not be built, 2 for usage errors.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/common.h"
#include "optimizers/conjugate_gradient.h"
#include "optimizers/line_search.h"
#include "optimizers/test_problems.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

constexpr char kCommand[] = "minimize";

int UsageError(const std::string& option, const std::string& what) {
  std::fprintf(stderr, "twophase %s: %s: %s\n(see 'twophase %s --help')\n", kCommand,
               option.c_str(), what.c_str(), kCommand);
  return 2;
}

// One key=value line: the machine-readable result of one run.
void PrintKeyValues(const std::string& problem, int64_t n, const ConjugateGradientOptions& options,
                    const std::string& initial_step, const ConjugateGradientSummary& s) {
  std::printf("problem=%s n=%" PRId64 " beta=%s line_search=%s initial_step=%s iterations=%" PRId64
              " value_evaluations=%" PRId64 " gradient_evaluations=%" PRId64
              " f=%.6g gradient_norm=%.6g termination=%s\n",
              problem.c_str(), n, BetaRuleName(options.beta).c_str(),
              LineSearchKindName(options.line_search.kind).c_str(), initial_step.c_str(),
              s.iterations, s.value_evaluations, s.gradient_evaluations, s.final_value,
              s.final_gradient_norm, TerminationTypeName(s.termination).c_str());
}

void PrintIteration(const CgIterationRecord& r) {
  std::printf("%6" PRId64 " %14.7g %12.5g %12.5g %10.4g %-20s %4d %4d %s\n", r.iteration, r.value,
              r.gradient_norm, r.step, r.beta,
              r.restart_reason == CgRestart::kNone ? "-" : CgRestartName(r.restart_reason).c_str(),
              r.value_evaluations, r.gradient_evaluations,
              r.line_search_status == LineSearchStatus::kSuccess
                  ? ""
                  : LineSearchStatusName(r.line_search_status).c_str());
}

}  // namespace

int MinimizeCommand(const std::vector<std::string>& args) {
  std::string problem_name, beta_name = "polak-ribiere+", line_search_name = "strong-wolfe";
  std::string initial_step_name = "quadstep";
  TestProblemOptions problem_options;
  ConjugateGradientOptions cg;
  bool verbose = false, all = false;
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "problem", po::value(&problem_name),
      ("test problem: " + JoinNames(TestProblemNames())).c_str())(
      "all", po::bool_switch(&all),
      "run every test problem at its default size, one key=value line each (the efficiency "
      "report)")("n", po::value(&problem_options.n)->default_value(problem_options.n),
                 "problem size (0: the problem's default)")(
      "condition",
      po::value(&problem_options.condition_number)->default_value(problem_options.condition_number),
      "condition number of the quadratic")(
      "seed", UnsignedValue(&problem_options.seed)->default_value(problem_options.seed),
      "seed of the quadratic's random eigenbasis")(
      "beta", po::value(&beta_name)->default_value(beta_name),
      "beta rule: fletcher-reeves, polak-ribiere, polak-ribiere+, hestenes-stiefel, dai-yuan, "
      "hager-zhang")("line-search", po::value(&line_search_name)->default_value(line_search_name),
                     "line search: strong-wolfe, golden, hager-zhang")(
      "initial-step", po::value(&initial_step_name)->default_value(initial_step_name),
      "first trial step of each search after the first: previous (Nocedal-Wright 3.60), "
      "quadratic (3.60a) or quadstep (CG_DESCENT: one value-only probe, quadratic fit)")(
      "max-iterations", po::value(&cg.max_iterations)->default_value(cg.max_iterations),
      "iteration limit")("gradient-tolerance",
                         po::value(&cg.gradient_tolerance)->default_value(cg.gradient_tolerance),
                         "stop when |g| <= this")("verbose", po::bool_switch(&verbose),
                                                  "print one line per iteration");
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(kCommand, "--problem NAME | --all [options]", options, args, &vm, &code)) {
    return code;
  }

  std::string error;
  if (all && vm.count("problem")) return UsageError("--all", "cannot be combined with --problem");
  if (!all && !vm.count("problem")) {
    return UsageError("--problem", "required (or --all): " + JoinNames(TestProblemNames()));
  }
  if (all && !vm["n"].defaulted()) return UsageError("--n", "cannot be combined with --all");
  if (problem_options.n < 0) return UsageError("--n", "must be >= 0 (0: the default size)");
  if (!(problem_options.condition_number >= 1.0) || !(problem_options.condition_number < 1e300)) {
    return UsageError("--condition", "must be >= 1 and finite");
  }
  if (!ParseBetaRule(beta_name, &cg.beta, &error)) return UsageError("--beta", error);
  if (!ParseLineSearchKind(line_search_name, &cg.line_search.kind, &error)) {
    return UsageError("--line-search", error);
  }
  if (!ParseInitialStepRule(initial_step_name, &cg.initial_step, &error)) {
    return UsageError("--initial-step", error);
  }
  if (cg.max_iterations <= 0) return UsageError("--max-iterations", "must be > 0");
  if (!(cg.gradient_tolerance >= 0) || !(cg.gradient_tolerance < 1e300)) {
    return UsageError("--gradient-tolerance", "must be >= 0 and finite");
  }
  if (!cg.IsValid(&error)) {
    std::fprintf(stderr, "twophase %s: %s\n", kCommand, error.c_str());
    return 2;
  }

  std::vector<std::string> names;
  if (all) {
    names = TestProblemNames();
  } else {
    bool known = false;
    for (const std::string& name : TestProblemNames()) known = known || name == problem_name;
    if (!known) {
      return UsageError("--problem", "unknown problem '" + problem_name +
                                         "' (known: " + JoinNames(TestProblemNames()) + ")");
    }
    names = {problem_name};
  }

  int64_t total_iterations = 0, total_values = 0, total_gradients = 0, converged = 0;
  int64_t runs_with_iterations = 0;
  double ratio_sum = 0.0;
  for (const std::string& name : names) {
    TestProblem problem;
    if (!MakeTestProblem(name, problem_options, &problem, &error)) {
      // The name is known, so what was refused is the size (or the
      // quadratic's condition number).
      if (!all) return UsageError(problem_options.n != 0 ? "--n" : "--problem", error);
      std::fprintf(stderr, "twophase %s: %s: %s\n", kCommand, name.c_str(), error.c_str());
      return 1;
    }
    std::vector<float> x = problem.start;
    ConjugateGradient solver(cg);
    if (!all) {
      std::string quadratic;
      if (name == "quadratic") {
        char buf[96];
        std::snprintf(buf, sizeof(buf), ", condition %g, seed %" PRIu64,
                      problem_options.condition_number, problem_options.seed);
        quadratic = buf;
      }
      std::printf("# problem %s, n = %" PRId64 "%s, known minimum %.10g%s%s\n", name.c_str(),
                  problem.n, quadratic.c_str(), problem.minimum_value,
                  problem.notes.empty() ? "" : "; ", problem.notes.c_str());
      std::printf("# beta %s, line search %s, initial step %s\n", BetaRuleName(cg.beta).c_str(),
                  LineSearchKindName(cg.line_search.kind).c_str(), initial_step_name.c_str());
    }
    solver.Begin(problem.objective.get(), x.data());
    if (!all && verbose) {
      std::printf("%6s %14s %12s %12s %10s %-20s %4s %4s %s\n", "k", "f", "|g|", "step", "beta",
                  "restart", "nval", "ngrd", "search");
      std::printf("%6d %14.7g %12.5g\n", 0, solver.value(), solver.summary().final_gradient_norm);
    }
    while (solver.summary().termination == TerminationType::kNotTerminated) {
      const CgIterationRecord record = solver.Iterate();
      if (!all && verbose) PrintIteration(record);
    }
    const ConjugateGradientSummary& s = solver.summary();
    if (!all) {
      std::printf("iterations %" PRId64 " (restarts %" PRId64 ", failed line searches %" PRId64
                  ")\n",
                  s.iterations, s.restarts, s.line_search_failures);
      std::printf("value evaluations %" PRId64 ", gradient evaluations %" PRId64 "\n",
                  s.value_evaluations, s.gradient_evaluations);
      std::printf("final f %.10g (initial %.10g, known minimum %.10g)\n", s.final_value,
                  s.initial_value, problem.minimum_value);
      std::printf("final gradient norm %.6g\n", s.final_gradient_norm);
      std::printf("termination %s: %s\n", TerminationTypeName(s.termination).c_str(),
                  s.message.c_str());
      std::printf("time %.6f s (line search %.6f s)\n", s.total_seconds, s.line_search_seconds);
    }
    PrintKeyValues(name, problem.n, cg, initial_step_name, s);
    total_iterations += s.iterations;
    total_values += s.value_evaluations;
    total_gradients += s.gradient_evaluations;
    converged += s.converged() ? 1 : 0;
    // Gradient evaluations per iteration, the initial one (Begin) excluded:
    // the line search's cost per CG iteration.
    if (s.iterations > 0) {
      ratio_sum +=
          static_cast<double>(s.gradient_evaluations - 1) / static_cast<double>(s.iterations);
      ++runs_with_iterations;
    }
  }
  if (all) {
    // Per iteration, the initial evaluation of each run (Begin) excluded:
    // pooled (sums over the problem set) and the mean of the per-problem
    // ratios (runs with at least one iteration).
    const int64_t search_gradients = total_gradients - static_cast<int64_t>(names.size());
    std::printf("problems=%zu converged=%" PRId64
                " beta=%s line_search=%s initial_step=%s"
                " iterations=%" PRId64 " value_evaluations=%" PRId64
                " gradient_evaluations=%" PRId64
                " gradient_evaluations_per_iteration=%.3f"
                " value_evaluations_per_iteration=%.3f"
                " mean_gradient_evaluations_per_iteration=%.3f\n",
                names.size(), converged, BetaRuleName(cg.beta).c_str(),
                LineSearchKindName(cg.line_search.kind).c_str(), initial_step_name.c_str(),
                total_iterations, total_values, total_gradients,
                static_cast<double>(search_gradients) / static_cast<double>(total_iterations),
                static_cast<double>(total_values) / static_cast<double>(total_iterations),
                ratio_sum / static_cast<double>(runs_with_iterations));
  }
  return 0;
}

}  // namespace twophase
