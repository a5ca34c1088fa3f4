#include "training/train_state.h"

#include <cstdio>
#include <string>

namespace twophase {

void SaveRecord(const EpochRecord& r, StateWriter* w) {
  w->I64(r.epoch);
  w->String(PhaseName(r.phase));
  for (const double v :
       {r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy, r.gradient_norm, r.step_size,
        r.forward_passes, r.backward_passes, r.seconds, r.eval_seconds, r.wall_seconds}) {
    w->F64(v);
  }
  w->I64(r.value_evaluations);
  w->I64(r.gradient_evaluations);
}

bool LoadRecord(StateReader* r, EpochRecord* e) {
  r->I64("curve.epoch", &e->epoch);
  r->Name("curve.phase", &e->phase, ParsePhase);
  for (double* v : {&e->train_loss, &e->train_accuracy, &e->test_loss, &e->test_accuracy,
                    &e->gradient_norm, &e->step_size, &e->forward_passes, &e->backward_passes,
                    &e->seconds, &e->eval_seconds, &e->wall_seconds}) {
    r->F64("curve.values", v);
  }
  r->I64("curve.value_evaluations", &e->value_evaluations);
  return r->I64("curve.gradient_evaluations", &e->gradient_evaluations);
}

bool ReadStateHead(StateReader* r, int64_t parameters, StateHead* head) {
  r->I64("epoch", &head->epoch);
  r->Bool("in_cg", &head->in_cg);
  for (double* v : {&head->adam_forward, &head->adam_backward, &head->wall}) r->F64("counters", v);
  r->I64("counts.values", &head->counts.values);
  r->I64("counts.gradients", &head->counts.gradients);
  r->F64("counts.forward_passes", &head->counts.forward_passes);
  r->F64("counts.backward_passes", &head->counts.backward_passes);
  return r->Floats("parameters", parameters, &head->parameters);
}

bool LoadCount(StateReader* r, const char* field, int64_t max, int64_t* n) {
  if (!r->I64(field, n)) return false;
  if (*n < 0 || *n > max) {
    return r->Fail(field, Printf("%lld is not in [0, %lld]", static_cast<long long>(*n),
                                 static_cast<long long>(max)));
  }
  return true;
}

// The curve's scaled gradient norms (EpochRecord::scaled_gradient_norm), as
// (epoch, norm) pairs after everything else: checkpoint format version 2
// added them at the end, so that a version-1 state becomes a version-2 one
// by appending an empty list (UpgradeState).
void SaveScaledNorms(const std::vector<EpochRecord>& curve, StateWriter* w) {
  int64_t n = 0;
  for (const EpochRecord& r : curve) n += r.scaled_gradient_norm.has_value();
  w->I64(n);
  for (const EpochRecord& r : curve) {
    if (!r.scaled_gradient_norm) continue;
    w->I64(r.epoch);
    w->F64(*r.scaled_gradient_norm);
  }
}

bool LoadScaledNorms(StateReader* r, std::vector<EpochRecord>* curve) {
  const int64_t size = static_cast<int64_t>(curve->size());
  int64_t n = 0;
  if (!LoadCount(r, "scaled_norms", size, &n)) return false;
  for (int64_t i = 0; i < n; ++i) {
    int64_t epoch = 0;
    double norm = 0.0;
    if (!r->I64("scaled_norms.epoch", &epoch) || !r->F64("scaled_norms.norm", &norm)) return false;
    // The curve holds epochs 1, 2, ... in order.
    if (epoch < 1 || epoch > size || (*curve)[epoch - 1].epoch != epoch) {
      return r->Fail("scaled_norms.epoch",
                     Printf("%lld is not an epoch of the curve", static_cast<long long>(epoch)));
    }
    (*curve)[epoch - 1].scaled_gradient_norm = norm;
  }
  return true;
}

// The curve's curvature readings (EpochRecord::curvature), as (epoch,
// reading) pairs after the scaled norms: checkpoint format version 3 added
// them at the end, as version 2 did the scaled norms.
void SaveCurvature(const std::vector<EpochRecord>& curve, StateWriter* w) {
  int64_t n = 0;
  for (const EpochRecord& r : curve) n += r.curvature.has_value();
  w->I64(n);
  for (const EpochRecord& r : curve) {
    if (!r.curvature) continue;
    const CurvatureReading& c = *r.curvature;
    w->I64(r.epoch);
    for (const double v : {c.lambda_min, c.lambda_max, c.along_gradient, c.along_update, c.seconds})
      w->F64(v);
  }
}

bool LoadCurvature(StateReader* r, std::vector<EpochRecord>* curve) {
  const int64_t size = static_cast<int64_t>(curve->size());
  int64_t n = 0;
  if (!LoadCount(r, "curvature", size, &n)) return false;
  for (int64_t i = 0; i < n; ++i) {
    int64_t epoch = 0;
    CurvatureReading c;
    r->I64("curvature.epoch", &epoch);
    for (double* v :
         {&c.lambda_min, &c.lambda_max, &c.along_gradient, &c.along_update, &c.seconds}) {
      r->F64("curvature.values", v);
    }
    if (!r->ok()) return false;
    if (epoch < 1 || epoch > size || (*curve)[epoch - 1].epoch != epoch) {
      return r->Fail("curvature.epoch",
                     Printf("%lld is not an epoch of the curve", static_cast<long long>(epoch)));
    }
    (*curve)[epoch - 1].curvature = c;
  }
  return true;
}

bool StateParameters(std::string_view state, int64_t size, std::vector<float>* parameters,
                     int64_t* epoch, std::string* error) {
  StateReader r(state);
  StateHead head;
  if (!ReadStateHead(&r, size, &head)) {
    *error = r.error();
    return false;
  }
  *parameters = std::move(head.parameters);
  *epoch = head.epoch;
  return true;
}

std::string UpgradeState(std::string_view state, int version) {
  StateWriter none;
  if (version < 2) SaveScaledNorms({}, &none);
  if (version < 3) SaveCurvature({}, &none);
  return std::string(state) + none.bytes();
}

}  // namespace twophase
