// Checkpoint files: a training run's whole state after an epoch (Train's
// TrainControl), with what it belongs to, so that a resumed run continues
// bit-identically or refuses the file and says why.
//
// The file: a magic string, a format version, the fingerprint (JSON: the
// model, data, options, backend, threads, commit -- everything that must be
// equal for the state to fit), a checksum (FNV-1a 64 over fingerprint and
// state) and the state. A folder holds the latest (checkpoint.bin) and the
// one before (checkpoint.prev.bin): saving renames the latest to the
// previous one and then writes the new one atomically, so a kill at any
// moment leaves at least one whole file.
#ifndef TWOPHASE_TRAINING_CHECKPOINT_H_
#define TWOPHASE_TRAINING_CHECKPOINT_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "training/trainer.h"

namespace twophase {

inline constexpr char kCheckpointFile[] = "checkpoint.bin";
inline constexpr char kPreviousCheckpointFile[] = "checkpoint.prev.bin";

// Every training option as JSON, by the options' own names: the part of a
// fingerprint that says how the run trains.
nlohmann::json TrainOptionsJson(const TrainOptions& options);

// Writes `state` with its fingerprint into `dir` (see above).
bool SaveCheckpoint(const std::string& dir, const nlohmann::json& fingerprint,
                    const std::string& state, std::string* error);

// A checkpoint read back whole: the checksum matched.
struct Checkpoint {
  std::string path;
  nlohmann::json fingerprint;
  std::string state;
};
bool ReadCheckpoint(const std::string& path, Checkpoint* checkpoint, std::string* error);

// The first field in which two JSON documents differ, as "<path>: <a> has
// X, <b> Y" (labels name the two); false when they are equal.
struct Labels {
  std::string a, b;
};
bool FirstJsonDifference(const nlohmann::json& a, const nlohmann::json& b, const Labels& labels,
                         const std::string& path, std::string* why);

// Whether a checkpoint's fingerprint fits this run's: the first field that
// differs is named ("options.adam.learning_rate: the checkpoint has 0.001,
// this run 0.002"). The commit ("commit") may differ only when
// `allow_other_commit`.
bool FingerprintsMatch(const nlohmann::json& saved, const nlohmann::json& wanted,
                       bool allow_other_commit, std::string* why);

// The checkpoints in `dir` that a run may resume from, newest first
// (checkpoint.bin, then checkpoint.prev.bin): whole files whose fingerprint
// fits. Each refused file adds a line to *refusals naming it and why.
// Empty when none fits (start afresh).
std::vector<Checkpoint> FindCheckpoints(const std::string& dir, const nlohmann::json& wanted,
                                        bool allow_other_commit,
                                        std::vector<std::string>* refusals);

// Whether `path` starts like a checkpoint file (for --init, which takes a
// checkpoint or a safetensors file).
bool IsCheckpointFile(const std::string& path);

// Removes a folder's checkpoints (the run they belong to has finished).
void RemoveCheckpoints(const std::string& dir);

// When to save: every `epochs` epochs (0: never by count) and at the first
// epoch end at least `seconds` after the last save or the start (0: never
// by time) whose epoch is a multiple of `align`. Train evaluates every
// epoch it saves at; aligning the time-based saves to eval_every keeps
// which epochs are evaluated independent of the machine's speed, so
// reruns give the same curve.
class CheckpointCadence {
 public:
  CheckpointCadence(int64_t epochs, double seconds, int64_t align = 1)
      : epochs_(epochs), seconds_(seconds), align_(std::max<int64_t>(align, 1)) {}
  bool Due(int64_t epoch) const;
  void Saved() { last_ = Clock::now(); }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t epochs_;
  double seconds_;
  int64_t align_;
  Clock::time_point last_ = Clock::now();
};

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_CHECKPOINT_H_
