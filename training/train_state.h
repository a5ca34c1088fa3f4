// The parts of Train's saved state (train_loop.cc, TrainLoop::SaveState)
// that are the curve's: its records, and the lists later checkpoint format
// versions appended at the end (the scaled gradient norms in version 2, the
// curvature readings in 3), with the readers that check each field.
// Internal to training/.
#ifndef TWOPHASE_TRAINING_TRAIN_STATE_H_
#define TWOPHASE_TRAINING_TRAIN_STATE_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/state_io.h"
#include "optimizers/objective.h"
#include "training/trainer.h"

namespace twophase {

// snprintf into a std::string, for the loop's event and error messages.
std::string Printf(const char* format, auto... args) {
  char buf[320];
  std::snprintf(buf, sizeof(buf), format, args...);
  return buf;
}

void SaveRecord(const EpochRecord& r, StateWriter* w);
bool LoadRecord(StateReader* r, EpochRecord* e);

// The state's first fields, as SaveState writes them: also what
// StateParameters reads.
struct StateHead {
  int64_t epoch = 0;
  bool in_cg = false;
  double adam_forward = 0.0, adam_backward = 0.0, wall = 0.0;
  EvaluationCounts counts;
  std::vector<float> parameters;
};
bool ReadStateHead(StateReader* r, int64_t parameters, StateHead* head);

// A count stored before a list, checked against what the run can hold.
bool LoadCount(StateReader* r, const char* field, int64_t max, int64_t* n);

// The curve's scaled gradient norms and curvature readings, as (epoch,
// value) pairs: only the epochs that have one.
void SaveScaledNorms(const std::vector<EpochRecord>& curve, StateWriter* w);
bool LoadScaledNorms(StateReader* r, std::vector<EpochRecord>* curve);
void SaveCurvature(const std::vector<EpochRecord>& curve, StateWriter* w);
bool LoadCurvature(StateReader* r, std::vector<EpochRecord>* curve);

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_TRAIN_STATE_H_
