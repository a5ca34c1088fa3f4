#include "core/parameter_buffer.h"

#include <gtest/gtest.h>

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

TEST(ParameterBufferDeathTest, DuplicateNameAborts) {
  ParameterBuffer p;
  p.Add("w", {1});
  EXPECT_DEATH(p.Add("w", {2}), "duplicate parameter name 'w'");
}

}  // namespace
}  // namespace twophase
