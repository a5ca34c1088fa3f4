#include "core/parameter_buffer.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace twophase {
namespace {

TEST(ParameterBufferTest, ViewsAreContiguousAndNamed) {
  ParameterBuffer p;
  EXPECT_EQ(p.Add("fc.weight", {3, 4}), 0);
  EXPECT_EQ(p.Add("fc.bias", {3}), 12);
  EXPECT_EQ(p.size(), 15);
  ASSERT_NE(p.Find("fc.bias"), nullptr);
  EXPECT_EQ(p.Find("fc.bias")->offset, 12);
  EXPECT_EQ(p.Find("fc.bias")->shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(p.Find("nope"), nullptr);
  p.grads()[5] = 2.0f;
  p.ZeroGrads();
  EXPECT_EQ(p.grads()[5], 0.0f);
  EXPECT_EQ(ShapeToString({64, 16}), "[64, 16]");
}

TEST(ParameterBufferTest, CheckFiniteNamesTheTensorAndTheElement) {
  ParameterBuffer p;
  p.Add("fc.weight", {2, 2});
  p.Add("fc.bias", {3});
  std::string error;
  EXPECT_TRUE(p.CheckFinite(&error)) << error;
  p.values()[6] = -std::numeric_limits<float>::infinity();  // fc.bias[2]
  EXPECT_FALSE(p.CheckFinite(&error));
  EXPECT_EQ(error, "tensor 'fc.bias': element 2 is -inf: parameters must be finite");
  p.values()[1] = std::numeric_limits<float>::quiet_NaN();  // the first one is named
  EXPECT_FALSE(p.CheckFinite(&error));
  EXPECT_EQ(error, "tensor 'fc.weight': element 1 is NaN: parameters must be finite");
}

TEST(ParameterBufferDeathTest, DuplicateNameAborts) {
  ParameterBuffer p;
  p.Add("w", {1});
  EXPECT_DEATH(p.Add("w", {2}), "duplicate parameter name 'w'");
}

}  // namespace
}  // namespace twophase
