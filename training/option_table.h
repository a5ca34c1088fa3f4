// The training options that a suite's algorithm entry, the train command's
// flags and a result's metadata "settings" name, declared once: one row per
// field with its key, where it lives in TrainOptions, which phase reads it
// and its help text. Limits are not here: they live in the IsValid methods
// (TrainOptions, AdamOptions, ConjugateGradientOptions, LineSearchOptions,
// SwapDetectorOptions), so the suite and the CLI refuse the same values with
// the same words (Ceres' Options::IsValid; Google Benchmark declares each
// flag once in the same spirit).
//
// The checkpoint fingerprint (TrainOptionsJson) is not driven by this table:
// it records every option, nested as TrainOptions is, and its bytes must
// not change (old checkpoints would stop resuming).
#ifndef TWOPHASE_TRAINING_OPTION_TABLE_H_
#define TWOPHASE_TRAINING_OPTION_TABLE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "training/trainer.h"

namespace twophase {

// The phase that reads a field, which decides the algorithms that use it:
// kAdam adam and two-phase, kCg cg and two-phase, kSwap two-phase only,
// kProbe (the curvature probe, a measurement) all three.
enum class OptionPhase { kAdam, kCg, kSwap, kProbe };
bool PhaseUsedBy(OptionPhase phase, Algorithm algorithm);

struct OptionField {
  // The suite key and the metadata key ("cg_samples"); the flag is the key
  // with '-' for '_' (--cg-samples).
  const char* key;
  OptionPhase phase;
  const char* help;
  // Exactly one of the four accessors is set, by the field's type.
  double& (*number)(TrainOptions&) = nullptr;
  int64_t& (*integer)(TrainOptions&) = nullptr;
  bool& (*flag)(TrainOptions&) = nullptr;
  // An enum by its name: the parser's error reads "unknown beta rule 'x'
  // (known: ...)".
  bool (*parse)(std::string_view name, TrainOptions* options, std::string* error) = nullptr;
  std::string (*name)(const TrainOptions&) = nullptr;
  // A further condition for the field to count as used (null: none), for
  // fields that only matter when another one switches them on: the probe's
  // when probe_every > 0, the curvature rule's with swap_signal curvature.
  // Unused fields stay out of the metadata's settings, so that results of
  // runs without them read as before.
  bool (*used)(const TrainOptions&) = nullptr;
};

// The field counts in `options`: its phase's algorithms and its `used`.
bool FieldUsed(const OptionField& field, const TrainOptions& options);

// The fields in the order a suite entry and the help list them.
std::span<const OptionField> TrainOptionFields();

// The field's value in `options`: a number, an integer, a bool or a name.
nlohmann::json OptionValue(const OptionField& field, const TrainOptions& options);

// The metadata's "settings": every field used (FieldUsed), by key.
nlohmann::json OptionSettings(const TrainOptions& options);

// "lr 0.001, batch 512, ...": the same fields as OptionSettings, in table
// order, for a log's banner.
std::string OptionSettingsText(const TrainOptions& options);

// IsValid with every part checked, whatever the algorithm: a suite entry
// that sets a field its optimizer does not read must still give a valid
// value (a cg entry's "lr": -1 is refused, not ignored).
bool IsValidForEveryAlgorithm(const TrainOptions& options, std::string* error);

// IsValidForEveryAlgorithm, with the table field to blame: the fields are
// put into the options one by one in table order, each checked as it
// comes, so *bad is the first that makes them invalid (null when the fault
// lies outside the table's fields, e.g. the epochs). For the suite and the
// CLI to put the field's path or flag before IsValid's message.
bool IsValidFieldByField(const TrainOptions& options, const OptionField** bad, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_OPTION_TABLE_H_
