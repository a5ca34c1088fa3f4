#include "training/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/bounded_json.h"
#include "core/state_io.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kMagic[] = "twophase-checkpoint";
// 2: the state ends with the curve's scaled gradient norms; 3: then with its
// curvature readings. Older files are still read (UpgradeState), so that a
// run paused by an older build resumes.
constexpr uint64_t kVersion = 3;
constexpr uint64_t kOldestVersion = 1;

uint64_t Checksum(const std::string& fingerprint, const std::string& state) {
  return Fnv1a64(state, Fnv1a64(fingerprint));
}

}  // namespace

json TrainOptionsJson(const TrainOptions& o) {
  const LineSearchOptions& ls = o.cg.line_search;
  json j{
      {"algorithm", AlgorithmName(o.algorithm)},
      {"epochs", o.epochs},
      {"batch_size", o.batch_size},
      {"drop_last", o.drop_last},
      {"adam",
       {{"learning_rate", o.adam.learning_rate},
        {"beta1", o.adam.beta1},
        {"beta2", o.adam.beta2},
        {"epsilon", o.adam.epsilon},
        {"weight_decay", o.adam.weight_decay}}},
      {"loss", LossKindName(o.loss)},
      {"seed", o.seed},
      {"micro_batch", o.micro_batch},
      {"cg",
       {{"beta", BetaRuleName(o.cg.beta)},
        {"line_search",
         {{"kind", LineSearchKindName(ls.kind)},
          {"c1", ls.c1},
          {"c2", ls.c2},
          {"hz_delta", ls.hz_delta},
          {"hz_sigma", ls.hz_sigma},
          {"hz_epsilon", ls.hz_epsilon},
          {"hz_theta", ls.hz_theta},
          {"hz_gamma", ls.hz_gamma},
          {"golden_tolerance", ls.golden_tolerance},
          {"max_evaluations", ls.max_evaluations},
          {"max_step_factor", ls.max_step_factor}}},
        {"initial_step", InitialStepRuleName(o.cg.initial_step)},
        {"first_step_length", o.cg.first_step_length},
        {"restart_every", o.cg.restart_every},
        {"powell_restart_threshold", o.cg.powell_restart_threshold},
        {"hager_zhang_eta", o.cg.hager_zhang_eta},
        {"gradient_tolerance", o.cg.gradient_tolerance},
        {"function_tolerance", o.cg.function_tolerance}}},
      {"cg_samples", o.cg_samples},
      {"cg_preconditioner", CgPreconditionerName(o.cg_preconditioner)},
      {"cg_preconditioner_epsilon", o.cg_preconditioner_epsilon},
      {"detector",
       {{"signal", SwapSignalName(o.detector.signal)},
        {"factor", o.detector.factor},
        {"smoothing", o.detector.smoothing},
        {"min_epochs", o.detector.min_epochs},
        {"fixed_epoch", o.detector.fixed_epoch}}},
      {"max_seconds", o.max_seconds},
      {"max_forward_passes", o.max_forward_passes},
      {"eval_every", o.eval_every},
  };
  // Only where used, so that the fingerprints of runs without the probe
  // and the curvature signal stay those older builds wrote: their
  // checkpoints still resume.
  if (o.probe.every > 0) {
    j["probe"] = {{"every", o.probe.every}, {"samples", o.probe.samples}, {"steps", o.probe.steps}};
  }
  if (o.detector.signal == SwapSignal::kCurvature) {
    j["detector"]["curvature_tolerance"] = o.detector.curvature_tolerance;
    j["detector"]["curvature_probes"] = o.detector.curvature_probes;
  }
  // The slot tree's sums differ from the accumulating passes' in the last
  // bits, but not with the rank count: the tree, not R, is recorded.
  if (o.ranks_per_cell >= 1) j["reduction"] = kSlotTreeReduction;
  return j;
}

bool SaveCheckpoint(const std::string& dir, const json& fingerprint, const std::string& state,
                    std::string* error) {
  const std::string print = fingerprint.dump();
  StateWriter w;
  w.String(kMagic);
  w.U64(kVersion);
  w.String(print);
  w.U64(Checksum(print, state));
  w.String(state);
  const std::string latest = dir + "/" + kCheckpointFile;
  std::error_code ec;
  if (fs::exists(latest, ec)) {
    fs::rename(latest, dir + "/" + kPreviousCheckpointFile, ec);
    if (ec) {
      *error = latest + ": cannot keep it as " + kPreviousCheckpointFile + ": " + ec.message();
      return false;
    }
  }
  return WriteFileAtomically(latest, w.bytes(), error);
}

bool ReadCheckpoint(const std::string& path, Checkpoint* checkpoint, std::string* error) {
  std::string bytes;
  if (!ReadWholeFile(path, &bytes, error)) return false;
  StateReader r(bytes);
  std::string magic, print;
  uint64_t version = 0, checksum = 0;
  if (!r.String("magic", &magic) || magic != kMagic) {
    *error = path + ": not a twophase checkpoint";
    return false;
  }
  if (r.U64("version", &version) && (version < kOldestVersion || version > kVersion)) {
    r.Fail("version", std::to_string(version) + " (this build reads versions " +
                          std::to_string(kOldestVersion) + " to " + std::to_string(kVersion) + ")");
  }
  r.String("fingerprint", &print);
  r.U64("checksum", &checksum);
  r.String("state", &checkpoint->state);
  if (r.ok() && !r.AtEnd()) r.Fail("end", "unexpected bytes after the state");
  if (r.ok() && checksum != Checksum(print, checkpoint->state)) {
    r.Fail("checksum", "mismatch: the file is corrupted");
  }
  if (!r.ok()) {
    *error = path + ": " + r.error();
    return false;
  }
  if (version < kVersion) {
    checkpoint->state = UpgradeState(checkpoint->state, static_cast<int>(version));
  }
  JsonReadError why;
  if (!ParseBoundedJson(print, &checkpoint->fingerprint, &why)) {
    *error = path + ": fingerprint: " + why.message;
    return false;
  }
  checkpoint->path = path;
  return true;
}

bool FirstJsonDifference(const json& a, const json& b, const Labels& labels,
                         const std::string& path, std::string* why) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : b.items()) {
      const std::string field = path.empty() ? key : path + "." + key;
      if (!a.contains(key)) {
        *why =
            field + ": " + labels.a + " has no such field, " + labels.b + " " + ShowJson(value, 60);
        return true;
      }
      if (FirstJsonDifference(a[key], value, labels, field, why)) return true;
    }
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) {
        *why = (path.empty() ? key : path + "." + key) + ": " + labels.a + " has " +
               ShowJson(value, 60) + ", " + labels.b + " has no such field";
        return true;
      }
    }
    return false;
  }
  if (a == b) return false;
  *why =
      path + ": " + labels.a + " has " + ShowJson(a, 60) + ", " + labels.b + " " + ShowJson(b, 60);
  return true;
}

bool FingerprintsMatch(const json& saved, const json& wanted, bool allow_other_commit,
                       std::string* why) {
  json a = saved, b = wanted;
  if (allow_other_commit && a.is_object() && b.is_object()) {
    a.erase("commit");
    b.erase("commit");
  }
  if (!FirstJsonDifference(a, b, {"the checkpoint", "this run"}, "", why)) return true;
  if (why->rfind("commit:", 0) == 0) {
    *why += " (another commit's state: --allow-other-commit uses it)";
  }
  return false;
}

std::vector<Checkpoint> FindCheckpoints(const std::string& dir, const json& wanted,
                                        bool allow_other_commit,
                                        std::vector<std::string>* refusals) {
  std::vector<Checkpoint> found;
  for (const char* name : {kCheckpointFile, kPreviousCheckpointFile}) {
    const std::string path = dir + "/" + name;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    Checkpoint checkpoint;
    std::string why;
    if (!ReadCheckpoint(path, &checkpoint, &why)) {
      refusals->push_back(why + ": refused");
    } else if (!FingerprintsMatch(checkpoint.fingerprint, wanted, allow_other_commit, &why)) {
      refusals->push_back(path + ": refused, it does not fit: " + why);
    } else {
      found.push_back(std::move(checkpoint));
    }
  }
  return found;
}

bool IsCheckpointFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char head[8 + sizeof(kMagic) - 1] = {};
  const size_t got = std::fread(head, 1, sizeof(head), f);
  std::fclose(f);
  return got == sizeof(head) && std::memcmp(head + 8, kMagic, sizeof(kMagic) - 1) == 0;
}

void RemoveCheckpoints(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {kCheckpointFile, kPreviousCheckpointFile}) {
    fs::remove(dir + "/" + name, ec);
  }
}

bool CheckpointCadence::Due(int64_t epoch) const {
  if (epochs_ > 0 && epoch % epochs_ == 0) return true;
  return seconds_ > 0 && epoch % align_ == 0 &&
         std::chrono::duration<double>(Clock::now() - last_).count() >= seconds_;
}

}  // namespace twophase
