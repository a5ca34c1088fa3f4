#include "core/enum_names.h"

#include <gtest/gtest.h>

#include <string>

namespace twophase {
namespace {

enum class Fruit { kApple, kBanana, kCherry, kDurian };

// kDurian has no row, to exercise EnumToName's fallback.
constexpr EnumName<Fruit> kFruits[] = {
    {Fruit::kApple, "apple"},
    {Fruit::kBanana, "banana"},
    {Fruit::kCherry, "cherry"},
    {Fruit::kApple, "a", /*alias=*/true},
    {Fruit::kCherry, "c", /*alias=*/true},
};

TEST(EnumNamesTest, RoundTripsCanonicalNames) {
  for (Fruit f : {Fruit::kApple, Fruit::kBanana, Fruit::kCherry}) {
    const std::string name = EnumToName(f, kFruits);
    Fruit parsed = Fruit::kDurian;
    std::string error;
    ASSERT_TRUE(ParseEnum(name, kFruits, "fruit", &parsed, &error)) << name << ": " << error;
    EXPECT_EQ(parsed, f) << name;
    EXPECT_TRUE(error.empty()) << error;
  }
  EXPECT_EQ(EnumToName(Fruit::kBanana, kFruits), "banana");
}

TEST(EnumNamesTest, AliasesParseButAreNeverPrinted) {
  Fruit parsed = Fruit::kDurian;
  ASSERT_TRUE(ParseEnum("a", kFruits, "fruit", &parsed, nullptr));
  EXPECT_EQ(parsed, Fruit::kApple);
  ASSERT_TRUE(ParseEnum("c", kFruits, "fruit", &parsed, nullptr));
  EXPECT_EQ(parsed, Fruit::kCherry);
  // The canonical name wins although the alias row also maps kApple/kCherry.
  EXPECT_EQ(EnumToName(Fruit::kApple, kFruits), "apple");
  EXPECT_EQ(EnumToName(Fruit::kCherry, kFruits), "cherry");
  EXPECT_EQ(KnownEnumNames(kFruits), "apple, banana, cherry");
}

TEST(EnumNamesTest, UnknownNameFailsWithKnownList) {
  Fruit parsed = Fruit::kBanana;
  std::string error;
  EXPECT_FALSE(ParseEnum("kiwi", kFruits, "fruit", &parsed, &error));
  EXPECT_EQ(error, "unknown fruit 'kiwi' (known: apple, banana, cherry)");
  EXPECT_EQ(parsed, Fruit::kBanana) << "*out must be untouched on failure";
}

TEST(EnumNamesTest, MatchIsExact) {
  Fruit parsed = Fruit::kDurian;
  for (const char* name : {"", "Apple", "apple ", "appl", "apples"}) {
    std::string error;
    EXPECT_FALSE(ParseEnum(name, kFruits, "fruit", &parsed, &error)) << name;
    EXPECT_EQ(error, "unknown fruit '" + std::string(name) + "' (known: apple, banana, cherry)");
  }
  EXPECT_EQ(parsed, Fruit::kDurian);
}

TEST(EnumNamesTest, NullErrorIsAllowed) {
  Fruit parsed = Fruit::kDurian;
  EXPECT_FALSE(ParseEnum("kiwi", kFruits, "fruit", &parsed, nullptr));
  EXPECT_EQ(parsed, Fruit::kDurian);
}

TEST(EnumNamesTest, ValueWithoutRowGivesFallback) {
  EXPECT_EQ(EnumToName(Fruit::kDurian, kFruits), "unknown");
  EXPECT_EQ(EnumToName(Fruit::kDurian, kFruits, "?"), "?");
  EXPECT_EQ(EnumToName(Fruit::kApple, kFruits, "?"), "apple");
}

TEST(EnumNamesTest, AliasOnlyValueHasNoName) {
  constexpr EnumName<Fruit> kOnlyAlias[] = {
      {Fruit::kApple, "apple"},
      {Fruit::kBanana, "b", /*alias=*/true},
  };
  Fruit parsed = Fruit::kDurian;
  ASSERT_TRUE(ParseEnum("b", kOnlyAlias, "fruit", &parsed, nullptr));
  EXPECT_EQ(parsed, Fruit::kBanana);
  EXPECT_EQ(EnumToName(Fruit::kBanana, kOnlyAlias), "unknown");
  EXPECT_EQ(KnownEnumNames(kOnlyAlias), "apple");
}

}  // namespace
}  // namespace twophase
