#include "core/bounded_json.h"

#include <gtest/gtest.h>

#include <string>

namespace twophase {
namespace {

using nlohmann::json;

TEST(BoundedJsonTest, ParsesWithinTheBounds) {
  json out;
  JsonReadError error;
  const std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  ASSERT_TRUE(ParseBoundedJson(R"({"a": [1, {"b": null}], "c": {"a": 2}})", &out, &error))
      << error.message;
  EXPECT_EQ(out["c"]["a"], 2);
  EXPECT_TRUE(ParseBoundedJson(at_limit, &out, &error)) << error.message;
}

TEST(BoundedJsonTest, RejectsDeepNestingWithItsPath) {
  json out;
  JsonReadError error;
  const std::string over =
      std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ParseBoundedJson(over, &out, &error));
  EXPECT_FALSE(error.syntax);
  EXPECT_EQ(error.message.rfind("arrays and objects nest deeper than 64 levels (at [0][0]", 0), 0u)
      << error.message;
  // Far deeper, and unbalanced: rejected at the limit, before the end.
  EXPECT_FALSE(ParseBoundedJson(R"({"x": [1, 2, )" + std::string(1000000, '['), &out, &error));
  EXPECT_EQ(error.message.rfind("arrays and objects nest deeper than 64 levels (at x[2]", 0), 0u)
      << error.message;
}

TEST(BoundedJsonTest, RejectsDuplicateKeysAtAnyLevel) {
  json out;
  JsonReadError error;
  EXPECT_FALSE(ParseBoundedJson(R"({"a": 1, "a": 2})", &out, &error));
  EXPECT_EQ(error.message, "key \"a\" appears twice in the object at the top level");
  EXPECT_FALSE(ParseBoundedJson(R"([0, {"k": [{}, {"x": 1, "y": 2, "x": 3}]}])", &out, &error));
  EXPECT_EQ(error.message, "key \"x\" appears twice in the object at [1].k[1]");
  // The same key in sibling objects is fine.
  EXPECT_TRUE(ParseBoundedJson(R"([{"x": 1}, {"x": 2}])", &out, &error)) << error.message;
}

TEST(BoundedJsonTest, SyntaxErrorsKeepTheirOffset) {
  json out;
  JsonReadError error;
  EXPECT_FALSE(ParseBoundedJson("{\"a\": [1,,]}", &out, &error));
  EXPECT_TRUE(error.syntax);
  EXPECT_EQ(error.byte, 9u);
  EXPECT_EQ(error.message.rfind("parse error at line 1, column 10: syntax error", 0), 0u)
      << error.message;
  EXPECT_FALSE(ParseBoundedJson("[1e999]", &out, &error));  // beyond double
  EXPECT_NE(error.message.find("number overflow"), std::string::npos) << error.message;
}

TEST(BoundedJsonTest, ShowJsonIsShortWhateverTheValue) {
  EXPECT_EQ(ShowJson(json::parse(R"({"a":[1,2],"b":"x"})"), 60), R"({"a":[1,2],"b":"x"})");
  EXPECT_EQ(ShowJson(json(std::string(1000000, 'y')), 10), "\"yyyyyy...");
  json big = json::array();
  for (int i = 0; i < 100000; ++i) big.push_back(i);
  EXPECT_EQ(ShowJson(big, 12), "[0,1,2,3,...");
  // Cut on a character boundary: "é" is two bytes, never split.
  EXPECT_EQ(ShowJson(json("ééééé"), 8), "\"éé...");
  // Nesting built in memory (not parsed) is printed to kMaxJsonDepth only.
  json deep = json::array();
  for (int i = 0; i < 100000; ++i) deep = json::array({std::move(deep)});
  EXPECT_EQ(ShowJson(deep, 400),
            std::string(kMaxJsonDepth, '[') + "..." + std::string(kMaxJsonDepth, ']'));
}

}  // namespace
}  // namespace twophase
