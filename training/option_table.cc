#include "training/option_table.h"

namespace twophase {
namespace {

using nlohmann::json;

bool ProbeOn(const TrainOptions& o) { return o.probe.every > 0; }
bool CurvatureSignal(const TrainOptions& o) { return o.detector.signal == SwapSignal::kCurvature; }

// Captureless lambdas, so that the table is constant data.
constexpr OptionField kFields[] = {
    // Adam (phase 1).
    {.key = "lr",
     .phase = OptionPhase::kAdam,
     .help = "Adam learning rate",
     .number = [](TrainOptions& o) -> double& { return o.adam.learning_rate; }},
    {.key = "batch",
     .phase = OptionPhase::kAdam,
     .help = "mini-batch size (the last partial batch is kept, as PyTorch's drop_last=False)",
     .integer = [](TrainOptions& o) -> int64_t& { return o.batch_size; }},
    {.key = "drop_last",
     .phase = OptionPhase::kAdam,
     .help = "skip the last partial batch of each epoch",
     .flag = [](TrainOptions& o) -> bool& { return o.drop_last; }},
    {.key = "adam_beta1",
     .phase = OptionPhase::kAdam,
     .help = "Adam's decay rate of the first moment",
     .number = [](TrainOptions& o) -> double& { return o.adam.beta1; }},
    {.key = "adam_beta2",
     .phase = OptionPhase::kAdam,
     .help = "Adam's decay rate of the second moment",
     .number = [](TrainOptions& o) -> double& { return o.adam.beta2; }},
    {.key = "adam_epsilon",
     .phase = OptionPhase::kAdam,
     .help = "Adam's epsilon, added after the square root",
     .number = [](TrainOptions& o) -> double& { return o.adam.epsilon; }},
    // CG (phase 2).
    {.key = "beta",
     .phase = OptionPhase::kCg,
     .help = "beta rule: fletcher-reeves, polak-ribiere, polak-ribiere+, hestenes-stiefel, "
             "dai-yuan, hager-zhang",
     .parse = [](std::string_view s, TrainOptions* o,
                 std::string* e) { return ParseBetaRule(s, &o->cg.beta, e); },
     .name = [](const TrainOptions& o) { return BetaRuleName(o.cg.beta); }},
    {.key = "line_search",
     .phase = OptionPhase::kCg,
     .help = "golden (the paper's), strong-wolfe or hager-zhang",
     .parse = [](std::string_view s, TrainOptions* o,
                 std::string* e) { return ParseLineSearchKind(s, &o->cg.line_search.kind, e); },
     .name = [](const TrainOptions& o) { return LineSearchKindName(o.cg.line_search.kind); }},
    {.key = "initial_step",
     .phase = OptionPhase::kCg,
     .help = "first trial step of each line search: previous, quadratic or quadstep",
     .parse = [](std::string_view s, TrainOptions* o,
                 std::string* e) { return ParseInitialStepRule(s, &o->cg.initial_step, e); },
     .name = [](const TrainOptions& o) { return InitialStepRuleName(o.cg.initial_step); }},
    {.key = "cg_gradient_tolerance",
     .phase = OptionPhase::kCg,
     .help = "stop when the full-batch gradient norm is below this (the paper's \"zero "
             "gradient\")",
     .number = [](TrainOptions& o) -> double& { return o.cg.gradient_tolerance; }},
    {.key = "golden_tolerance",
     .phase = OptionPhase::kCg,
     .help = "relative bracket size at which the golden-section search stops",
     .number = [](TrainOptions& o) -> double& { return o.cg.line_search.golden_tolerance; }},
    {.key = "cg_samples",
     .phase = OptionPhase::kCg,
     .help = "training images in CG's loss (0: all, full batch)",
     .integer = [](TrainOptions& o) -> int64_t& { return o.cg_samples; }},
    {.key = "cg_preconditioner",
     .phase = OptionPhase::kCg,
     .help = "none (plain CG, the paper's) or adam (two-phase: CG on variables scaled by Adam's "
             "second moment at the swap, a fixed diagonal preconditioner)",
     .parse = [](std::string_view s, TrainOptions* o,
                 std::string* e) { return ParseCgPreconditioner(s, &o->cg_preconditioner, e); },
     .name = [](const TrainOptions& o) { return CgPreconditionerName(o.cg_preconditioner); }},
    // The curvature probe (every algorithm): before the swap detector,
    // whose curvature signal needs it, so IsValidFieldByField blames the
    // signal only when the probe is off.
    {.key = "probe_every",
     .phase = OptionPhase::kProbe,
     .help = "probe the loss's curvature (Hessian eigenvalues by Lanczos) after epoch 1 and "
             "every N epochs (0: off; measurement, not counted in the passes)",
     .integer = [](TrainOptions& o) -> int64_t& { return o.probe.every; },
     .used = ProbeOn},
    {.key = "probe_samples",
     .phase = OptionPhase::kProbe,
     .help = "training images in the probe's loss (the first K; 0: all)",
     .integer = [](TrainOptions& o) -> int64_t& { return o.probe.samples; },
     .used = ProbeOn},
    {.key = "probe_steps",
     .phase = OptionPhase::kProbe,
     .help = "Lanczos steps per probe (each a Hessian-vector product: 2 gradients)",
     .integer = [](TrainOptions& o) -> int64_t& { return o.probe.steps; },
     .used = ProbeOn},
    // The swap detector (two-phase).
    {.key = "swap_signal",
     .phase = OptionPhase::kSwap,
     .help = "mean-gradient (free), mean-of-norms (free), full-batch (one extra pass per "
             "epoch) or curvature (the probe's eigenvalues; needs probe_every)",
     .parse = [](std::string_view s, TrainOptions* o,
                 std::string* e) { return ParseSwapSignal(s, &o->detector.signal, e); },
     .name = [](const TrainOptions& o) { return SwapSignalName(o.detector.signal); }},
    {.key = "swap_factor",
     .phase = OptionPhase::kSwap,
     .help = "swap when the norm falls to this fraction of its running maximum",
     .number = [](TrainOptions& o) -> double& { return o.detector.factor; }},
    {.key = "swap_smoothing",
     .phase = OptionPhase::kSwap,
     .help = "exponential smoothing weight of the signal (0: none)",
     .number = [](TrainOptions& o) -> double& { return o.detector.smoothing; }},
    {.key = "swap_min_epochs",
     .phase = OptionPhase::kSwap,
     .help = "never swap before this many Adam epochs",
     .integer = [](TrainOptions& o) -> int64_t& { return o.detector.min_epochs; }},
    {.key = "swap_epoch",
     .phase = OptionPhase::kSwap,
     .help = "swap after exactly this epoch instead (0: use the detector; the paper's runs: "
             "30 % of the budget)",
     .integer = [](TrainOptions& o) -> int64_t& { return o.detector.fixed_epoch; }},
    {.key = "swap_curvature_tolerance",
     .phase = OptionPhase::kSwap,
     .help = "curvature signal: swap when lambda_min >= -this x lambda_max ...",
     .number = [](TrainOptions& o) -> double& { return o.detector.curvature_tolerance; },
     .used = CurvatureSignal},
    {.key = "swap_curvature_probes",
     .phase = OptionPhase::kSwap,
     .help = "... at this many consecutive probes",
     .integer = [](TrainOptions& o) -> int64_t& { return o.detector.curvature_probes; },
     .used = CurvatureSignal},
};

void CopyField(const OptionField& field, const TrainOptions& from, TrainOptions* to) {
  TrainOptions& source = const_cast<TrainOptions&>(from);  // only read
  if (field.number != nullptr) field.number(*to) = field.number(source);
  if (field.integer != nullptr) field.integer(*to) = field.integer(source);
  if (field.flag != nullptr) field.flag(*to) = field.flag(source);
  std::string unused;  // a name the table wrote always parses
  if (field.parse != nullptr) field.parse(field.name(from), to, &unused);
}

}  // namespace

bool PhaseUsedBy(OptionPhase phase, Algorithm algorithm) {
  switch (phase) {
    case OptionPhase::kAdam:
      return algorithm != Algorithm::kCg;
    case OptionPhase::kCg:
      return algorithm != Algorithm::kAdam;
    case OptionPhase::kSwap:
      return algorithm == Algorithm::kTwoPhase;
    case OptionPhase::kProbe:
      return true;
  }
  return false;
}

bool FieldUsed(const OptionField& field, const TrainOptions& options) {
  return PhaseUsedBy(field.phase, options.algorithm) &&
         (field.used == nullptr || field.used(options));
}

std::span<const OptionField> TrainOptionFields() { return kFields; }

json OptionValue(const OptionField& field, const TrainOptions& options) {
  // The accessors hand out references for the readers that fill options;
  // here they are only read.
  TrainOptions& o = const_cast<TrainOptions&>(options);
  if (field.number != nullptr) return field.number(o);
  if (field.integer != nullptr) return field.integer(o);
  if (field.flag != nullptr) return field.flag(o);
  return field.name(options);
}

json OptionSettings(const TrainOptions& options) {
  json settings = json::object();
  for (const OptionField& field : kFields) {
    if (FieldUsed(field, options)) {
      settings[field.key] = OptionValue(field, options);
    }
  }
  // Only where used, as the fingerprint (TrainOptionsJson): the settings of
  // runs without it read as before. R itself is an execution fact.
  if (options.ranks_per_cell >= 1) settings["reduction"] = kSlotTreeReduction;
  return settings;
}

std::string OptionSettingsText(const TrainOptions& options) {
  std::string text;
  for (const OptionField& field : kFields) {
    if (!FieldUsed(field, options)) continue;
    const json value = OptionValue(field, options);
    text += (text.empty() ? "" : ", ") + std::string(field.key) + " " +
            (value.is_string() ? value.get<std::string>() : value.dump());
  }
  if (options.ranks_per_cell >= 1) text += std::string(", reduction ") + kSlotTreeReduction;
  return text;
}

bool IsValidForEveryAlgorithm(const TrainOptions& options, std::string* error) {
  TrainOptions all = options;
  all.algorithm = Algorithm::kTwoPhase;  // the one that checks every part
  return all.IsValid(error);
}

bool IsValidFieldByField(const TrainOptions& options, const OptionField** bad, std::string* error) {
  const TrainOptions defaults;
  TrainOptions checked = options;
  for (const OptionField& field : kFields) CopyField(field, defaults, &checked);
  *bad = nullptr;
  // The table's defaults are valid: a fault now lies outside the table.
  if (!IsValidForEveryAlgorithm(checked, error)) return false;
  for (const OptionField& field : kFields) {
    CopyField(field, options, &checked);
    if (!IsValidForEveryAlgorithm(checked, error)) {
      *bad = &field;
      return false;
    }
  }
  return IsValidForEveryAlgorithm(checked, error);
}

}  // namespace twophase
