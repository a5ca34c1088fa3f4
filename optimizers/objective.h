// An objective function over a flat float32 vector -- the model's parameter
// buffer, or a classic test problem -- with counters of its evaluations.
//
// Values and dot products are accumulated in double: the parameters are
// float32 (what the models train), but CG's beta and the line searches'
// curvature tests compare differences of nearly equal numbers.
#ifndef TWOPHASE_OPTIMIZERS_OBJECTIVE_H_
#define TWOPHASE_OPTIMIZERS_OBJECTIVE_H_

#include <cstdint>
#include <string>

namespace twophase {

struct EvaluationCounts {
  int64_t values = 0;     // value-only evaluations (line-search probes)
  int64_t gradients = 0;  // value-with-gradient evaluations
  // For objectives over data: forward and backward passes, in units of one
  // pass over the whole training set (a chunked full-batch gradient adds 1
  // to both; a mini-batch of B of N samples adds B/N).
  double forward_passes = 0.0;
  double backward_passes = 0.0;
};

class Objective {
 public:
  virtual ~Objective() = default;

  virtual int64_t size() const = 0;
  virtual std::string name() const = 0;

  // f(x). A NaN or Inf is returned as is (callers treat it as a failed
  // probe), never thrown.
  double Value(const float* x) {
    ++counts_.values;
    return DoValue(x);
  }
  // f(x) and its gradient g (size() entries).
  double ValueAndGradient(const float* x, float* g) {
    ++counts_.gradients;
    return DoValueAndGradient(x, g);
  }

  const EvaluationCounts& counts() const { return counts_; }
  void ResetCounts() { counts_ = EvaluationCounts{}; }
  // A resumed run continues the counts of the run it resumes.
  void RestoreCounts(const EvaluationCounts& counts) { counts_ = counts; }

 protected:
  virtual double DoValue(const float* x) = 0;
  virtual double DoValueAndGradient(const float* x, float* g) = 0;
  // For subclasses over data.
  EvaluationCounts& mutable_counts() { return counts_; }

 private:
  EvaluationCounts counts_;
};

// Helpers on flat float32 vectors with double accumulation, in a fixed
// order (bit-identical for a given thread count).
double Dot(const float* a, const float* b, int64_t n);
double Norm(const float* a, int64_t n);
// y = x + alpha * d (y may alias x).
void AxpyInto(const float* x, double alpha, const float* d, float* y, int64_t n);

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_OBJECTIVE_H_
