#include "harness/shard.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace twophase {
namespace {

// Nine cells: three algorithms by three seeds (seeds innermost).
Suite NineCells() {
  Suite suite;
  std::string error;
  EXPECT_TRUE(ParseSuite(R"({
    "name": "nine",
    "models": ["vit-nomlp-wkewq-wvwo"],
    "datasets": ["mnist"],
    "algorithms": [{"optimizer": "adam"}, {"optimizer": "cg"}, {"optimizer": "two-phase"}],
    "seeds": [0, 1, 2],
    "budget": {"epochs": 1}
  })",
                         "nine.json", &suite, &error))
      << error;
  return suite;
}

std::vector<int64_t> Indices(const std::vector<Cell>& cells) {
  std::vector<int64_t> out;
  for (const Cell& c : cells) out.push_back(c.index);
  return out;
}

CellFilter Filter(const std::string& expr) {
  CellFilter filter;
  std::string error;
  EXPECT_TRUE(ParseCellFilter(expr, &filter, &error)) << error;
  return filter;
}

TEST(ShardTest, ParsesIOfNAndNamesTheViolatedConstraint) {
  Shard shard;
  std::string error;
  ASSERT_TRUE(ParseShard("2/8", &shard, &error)) << error;
  EXPECT_EQ(shard.index, 2);
  EXPECT_EQ(shard.count, 8);
  EXPECT_EQ(shard.Name(), "2/8");
  ASSERT_TRUE(ParseShard("1/1", &shard, &error)) << error;
  const struct {
    const char* text;
    const char* expected;
  } bad[] = {
      {"0/2", "--shard 0/2: i must be in [1, n] (shard i of n)"},
      {"3/2", "--shard 3/2: i must be in [1, n] (shard i of n)"},
      {"1/0", "--shard 1/0: n must be >= 1 (shard i of n)"},
      {"x/2", "--shard x/2: must be i/n, two whole numbers with 1 <= i <= n (e.g. 2/8)"},
      {"1/2/3", "--shard 1/2/3: must be i/n"},
      {"-1/2", "--shard -1/2: i must be in [1, n]"},
      {"2", "--shard 2: must be i/n"},
      {"1/", "--shard 1/: must be i/n"},
      {"1/99999999999999999999", "--shard 1/99999999999999999999: must be i/n"},
  };
  for (const auto& c : bad) {
    EXPECT_FALSE(ParseShard(c.text, &shard, &error)) << c.text;
    EXPECT_EQ(error.rfind(c.expected, 0), 0u) << c.text << ": " << error;
  }
}

// Cell k of the whole suite belongs to shard (k mod n) + 1, whatever the
// filter: the shards of one filter are disjoint and cover what it selects.
TEST(ShardTest, PartitionIsOverTheWholeSuiteAndTheFilterAppliesWithin) {
  const Suite suite = NineCells();
  EXPECT_EQ(Indices(SelectCells(suite, CellFilter(), Shard{1, 4})),
            (std::vector<int64_t>{0, 4, 8}));
  EXPECT_EQ(Indices(SelectCells(suite, CellFilter(), Shard{4, 4})), (std::vector<int64_t>{3, 7}));
  // seed=1 holds cells 1, 4 and 7: of shard 2/3 (k mod 3 = 1) all three,
  // none of shard 1/3. Partitioning the filtered list instead would give
  // shard 1/3 cell 1.
  const CellFilter seed1 = Filter("seed=1");
  EXPECT_EQ(Indices(SelectCells(suite, seed1, Shard{2, 3})), (std::vector<int64_t>{1, 4, 7}));
  EXPECT_TRUE(SelectCells(suite, seed1, Shard{1, 3}).empty());
  for (const char* expr : {"", "seed=1", "algorithm=cg|adam", "*two-phase*"}) {
    const CellFilter filter = Filter(expr);
    for (int64_t n : {1, 2, 3, 5, 12}) {
      std::multiset<int64_t> all;
      for (int64_t i = 1; i <= n; ++i) {
        for (int64_t k : Indices(SelectCells(suite, filter, Shard{i, n}))) all.insert(k);
      }
      const std::vector<int64_t> whole = Indices(SelectCells(suite, filter, Shard()));
      EXPECT_EQ(std::vector<int64_t>(all.begin(), all.end()), whole) << expr << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace twophase
