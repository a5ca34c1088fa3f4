// `twophase probe` as a user runs it: the real binary on real MNIST images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "app/cli_test_util.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;

const char kBase[] = "probe --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 128 --threads 1 ";
const std::string kProbe = std::string(kBase) + "--steps 6 ";

// The key=value line less its wall time.
std::string Results(const std::string& output) {
  const size_t at = output.find("lambda_max=");
  if (at == std::string::npos) return "";
  const std::string line = output.substr(at, output.find('\n', at) - at);
  return line.substr(0, line.find(" seconds="));
}

TEST(ProbeCommandTest, PrintsTheExtremesAndRerunsBitIdentically) {
  const fs::path json =
      fs::temp_directory_path() / ("twophase_probe_" + std::to_string(getpid()) + ".json");
  fs::remove(json);
  const CommandResult first = RunTwophase(kProbe + "--json " + json.string());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string results = Results(first.output);
  ASSERT_FALSE(results.empty()) << first.output;
  EXPECT_NE(results.find("hvp_products=7 "), std::string::npos) << results;  // 6 + the gradient
  const CommandResult second = RunTwophase(kProbe);
  EXPECT_EQ(Results(second.output), results);
  std::ifstream in(json);
  const nlohmann::json doc = nlohmann::json::parse(in);
  const double lambda_max = doc.at("lambda_max"), lambda_min = doc.at("lambda_min");
  EXPECT_GT(lambda_max, 0);
  EXPECT_LE(lambda_min, lambda_max);
  EXPECT_EQ(doc.at("ritz_values").size(), 6u);
  EXPECT_EQ(doc.at("samples"), 128);
  fs::remove(json);
}

// --previous: the curvature along the last update, one more product.
TEST(ProbeCommandTest, PreviousAddsTheCurvatureAlongTheUpdate) {
  const fs::path dir =
      fs::temp_directory_path() / ("twophase_probe_previous_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string before = (dir / "before.safetensors").string();
  const std::string after = (dir / "after.safetensors").string();
  const std::string train =
      "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 128 --batch 64 --threads 1 ";
  ASSERT_EQ(RunTwophase(train + "--epochs 0 --save " + before).exit_code, 0);
  ASSERT_EQ(RunTwophase(train + "--epochs 1 --save " + after).exit_code, 0);
  const CommandResult r = RunTwophase(kProbe + "--init " + after + " --previous " + before);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string results = Results(r.output);
  EXPECT_NE(results.find("hvp_products=8 "), std::string::npos) << results;
  EXPECT_EQ(results.find("curvature_update=nan"), std::string::npos) << results;
  // Without it there is no update to follow.
  EXPECT_NE(Results(RunTwophase(kProbe + "--init " + after).output).find("curvature_update=nan"),
            std::string::npos);
  const CommandResult missing = RunTwophase(kProbe + "--previous " + (dir / "no").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("twophase probe: --previous: "), std::string::npos)
      << missing.output;
  fs::remove_all(dir);
}

TEST(ProbeCommandTest, BadOptionsNameTheFlag) {
  CommandResult r = RunTwophase(std::string(kBase) + "--steps 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--steps must be >= 1, got 0"), std::string::npos) << r.output;
  r = RunTwophase(kProbe + "--hvp-step -1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--hvp-step must be >= 0 and finite, got -1"), std::string::npos)
      << r.output;
  r = RunTwophase(kProbe + "--json /nonexistent-dir/x.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--json: cannot write '/nonexistent-dir/x.json'"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace twophase
