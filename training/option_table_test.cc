#include "training/option_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "training/checkpoint.h"

namespace twophase {
namespace {

using nlohmann::json;

TEST(OptionTableTest, EachFieldHasOneKeyOneTypeAndHelp) {
  std::set<std::string> keys;
  for (const OptionField& field : TrainOptionFields()) {
    EXPECT_TRUE(keys.insert(field.key).second) << field.key << " is declared twice";
    const int accessors = (field.number != nullptr) + (field.integer != nullptr) +
                          (field.flag != nullptr) + (field.parse != nullptr);
    EXPECT_EQ(accessors, 1) << field.key;
    EXPECT_EQ(field.parse != nullptr, field.name != nullptr) << field.key;
    EXPECT_GT(std::string(field.help).size(), 10u) << field.key;
  }
  EXPECT_EQ(keys.size(), 23u);
}

// Each accessor reaches its own member: a value set through the table is
// the one TrainOptions holds and the one the settings report.
TEST(OptionTableTest, AccessorsReachTheirMembers) {
  TrainOptions o;
  o.algorithm = Algorithm::kTwoPhase;
  for (const OptionField& field : TrainOptionFields()) {
    if (field.number != nullptr) field.number(o) += 0.25;
    if (field.integer != nullptr) field.integer(o) += 3;
    if (field.flag != nullptr) field.flag(o) = !field.flag(o);
  }
  std::string error;
  ASSERT_TRUE(TrainOptionFields()[6].parse("dai-yuan", &o, &error)) << error;
  EXPECT_EQ(o.adam.learning_rate, 1e-3 + 0.25);
  EXPECT_EQ(o.adam.beta2, 0.999 + 0.25);
  EXPECT_EQ(o.batch_size, 515);
  EXPECT_TRUE(o.drop_last);
  EXPECT_EQ(o.cg.beta, BetaRule::kDaiYuan);
  EXPECT_EQ(o.cg.line_search.golden_tolerance, 1e-3 + 0.25);
  EXPECT_EQ(o.cg_samples, 3);
  EXPECT_EQ(o.detector.min_epochs, 4);
  EXPECT_EQ(o.detector.fixed_epoch, 3);
  const json settings = OptionSettings(o);
  EXPECT_EQ(settings["swap_smoothing"], 0.25);
  EXPECT_EQ(settings["beta"], "dai-yuan");
  EXPECT_EQ(OptionSettingsText(o).substr(0, 29), "lr 0.251, batch 515, drop_las");
}

// The metadata's settings, byte for byte as the suite wrote them before the
// table (results/quick's two-phase cells, "optimizer" and "swap_fraction"
// being the suite's own), and only the fields the algorithm reads.
TEST(OptionTableTest, SettingsAreTheAlgorithmsFieldsAsBefore) {
  TrainOptions o;
  o.algorithm = Algorithm::kTwoPhase;
  o.batch_size = 128;
  EXPECT_EQ(OptionSettings(o).dump(),
            R"({"adam_beta1":0.9,"adam_beta2":0.999,"adam_epsilon":1e-08,"batch":128,)"
            R"("beta":"polak-ribiere+","cg_gradient_tolerance":1e-06,"cg_preconditioner":"none",)"
            R"("cg_samples":0,"drop_last":false,"golden_tolerance":0.001,)"
            R"("initial_step":"quadstep","line_search":"strong-wolfe","lr":0.001,)"
            R"("swap_epoch":0,"swap_factor":0.9,"swap_min_epochs":1,)"
            R"("swap_signal":"mean-gradient","swap_smoothing":0.0})");
  o.algorithm = Algorithm::kAdam;
  EXPECT_EQ(OptionSettings(o).dump(),
            R"({"adam_beta1":0.9,"adam_beta2":0.999,"adam_epsilon":1e-08,"batch":128,)"
            R"("drop_last":false,"lr":0.001})");
  o.algorithm = Algorithm::kCg;
  const json cg = OptionSettings(o);
  EXPECT_EQ(cg.size(), 7u);
  EXPECT_FALSE(cg.contains("lr"));
  EXPECT_FALSE(cg.contains("swap_factor"));
}

TEST(OptionTableTest, EveryPartIsCheckedWhateverTheAlgorithm) {
  TrainOptions o;
  o.algorithm = Algorithm::kCg;
  o.adam.beta1 = 1.0;
  std::string error;
  EXPECT_TRUE(o.IsValid(&error)) << error;  // cg does not read Adam's options
  EXPECT_FALSE(IsValidForEveryAlgorithm(o, &error));
  EXPECT_EQ(error, "adam: beta1 must be in [0, 1), got 1");
  EXPECT_EQ(o.algorithm, Algorithm::kCg);
}

// The field to blame is the first, in table order, that makes the options
// invalid; a fault outside the table blames none.
TEST(OptionTableTest, FieldByFieldBlamesTheFirstBadField) {
  TrainOptions o;
  o.algorithm = Algorithm::kCg;
  o.detector.factor = 2.0;
  o.cg.line_search.golden_tolerance = 0.0;
  const OptionField* bad = nullptr;
  std::string error;
  ASSERT_FALSE(IsValidFieldByField(o, &bad, &error));
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(std::string(bad->key), "golden_tolerance");
  EXPECT_EQ(error.find("cg: line search: 0 < golden_tolerance < 1 required"), 0u) << error;
  o.cg.line_search.golden_tolerance = 0.5;
  ASSERT_FALSE(IsValidFieldByField(o, &bad, &error));
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(std::string(bad->key), "swap_factor");
  EXPECT_EQ(error, "swap detector: factor must be in (0, 1), got 2");
  o.detector.factor = 0.5;
  o.epochs = -1;
  EXPECT_FALSE(IsValidFieldByField(o, &bad, &error));
  EXPECT_EQ(bad, nullptr);
  EXPECT_EQ(error, "epochs must be >= 0, got -1");
  o.epochs = 3;
  EXPECT_TRUE(IsValidFieldByField(o, &bad, &error)) << error;
}

// TrainOptionsJson is the checkpoint fingerprint: a paused run written by
// an earlier commit resumes only while these bytes stay the same.
TEST(OptionTableTest, TrainOptionsJsonKeepsItsBytes) {
  EXPECT_EQ(
      TrainOptionsJson(TrainOptions{}).dump(),
      R"({"adam":{"beta1":0.9,"beta2":0.999,"epsilon":1e-08,"learning_rate":0.001,)"
      R"("weight_decay":0.0},"algorithm":"adam","batch_size":512,"cg":{"beta":"polak-ribiere+",)"
      R"("first_step_length":1.0,"function_tolerance":1e-12,"gradient_tolerance":1e-06,)"
      R"("hager_zhang_eta":0.01,"initial_step":"quadstep","line_search":{"c1":0.0001,"c2":0.1,)"
      R"("golden_tolerance":0.001,"hz_delta":0.1,"hz_epsilon":1e-06,"hz_gamma":0.66,)"
      R"("hz_sigma":0.9,"hz_theta":0.5,"kind":"strong-wolfe","max_evaluations":30,)"
      R"("max_step_factor":)"
      R"(10000000000.0},"powell_restart_threshold":0.2,"restart_every":0},"cg_preconditioner":)"
      R"("none","cg_preconditioner_epsilon":1e-06,"cg_samples":0,"detector":{"factor":0.9,)"
      R"("fixed_epoch":0,"min_epochs":1,"signal":"mean-gradient","smoothing":0.0},)"
      R"("drop_last":false,"epochs":10,"eval_every":1,"loss":"mse","max_forward_passes":0.0,)"
      R"("max_seconds":0.0,"micro_batch":32,"seed":0})");
}

}  // namespace
}  // namespace twophase
