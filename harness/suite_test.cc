#include "harness/suite.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace twophase {
namespace {

using nlohmann::json;

json ValidSuite() {
  return json::parse(R"({
    "name": "t",
    "models": ["vit-mlp", "vgg5"],
    "datasets": ["mnist", {"name": "fashion-mnist", "subset": 100}],
    "subset": 500,
    "test_subset": 200,
    "algorithms": [
      {"optimizer": "adam", "lr": 0.002, "batch": 64},
      {"optimizer": "two-phase", "label": "tp-30", "swap_fraction": 0.3,
       "line_search": "golden", "beta": "polak-ribiere"},
      {"optimizer": "cg"}
    ],
    "backends": ["blas"],
    "seeds": [0, 7],
    "threads": 1,
    "micro_batch": 16,
    "budget": {"epochs": 10, "epochs_by_model": {"vit-mlp": 20}},
    "target_loss": 0.01
  })");
}

std::string Parse(const json& j, Suite* suite) {
  std::string error;
  if (!ParseSuite(j.dump(), "s.json", suite, &error)) return error;
  return "";
}

TEST(SuiteTest, ExpandsTheMatrixInOrderWithPerModelBudgetsAndSwapFraction) {
  Suite suite;
  ASSERT_EQ(Parse(ValidSuite(), &suite), "");
  const std::vector<Cell> cells = ExpandCells(suite);
  ASSERT_EQ(cells.size(), 2u * 2u * 3u * 1u * 2u);
  EXPECT_EQ(cells[0].id, "mnist.vit-mlp.adam.blas.s0");
  EXPECT_EQ(cells[1].id, "mnist.vit-mlp.adam.blas.s7");
  EXPECT_EQ(cells[2].id, "mnist.vit-mlp.tp-30.blas.s0");
  EXPECT_EQ(cells.back().id, "fashion-mnist.vgg5.cg.blas.s7");
  for (size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(cells[i].index, static_cast<int64_t>(i));

  const Cell& vit_tp = cells[2];
  EXPECT_EQ(vit_tp.train.epochs, 20);
  EXPECT_EQ(vit_tp.train.algorithm, Algorithm::kTwoPhase);
  EXPECT_EQ(vit_tp.train.detector.fixed_epoch, 6);  // 30 % of 20
  EXPECT_EQ(vit_tp.train.cg.line_search.kind, LineSearchKind::kGolden);
  EXPECT_EQ(vit_tp.train.cg.beta, BetaRule::kPolakRibiere);
  EXPECT_EQ(vit_tp.settings["swap_epoch"], 6);
  const Cell& vgg_tp = cells[8];
  EXPECT_EQ(vgg_tp.id, "mnist.vgg5.tp-30.blas.s0");
  EXPECT_EQ(vgg_tp.train.epochs, 10);
  EXPECT_EQ(vgg_tp.train.detector.fixed_epoch, 3);

  EXPECT_EQ(cells[0].train.adam.learning_rate, 0.002);
  EXPECT_EQ(cells[0].train.batch_size, 64);
  for (const Cell& cell : cells) EXPECT_EQ(cell.train.micro_batch, 16) << cell.id;
  EXPECT_EQ(cells[1].train.seed, 7u);
  EXPECT_EQ(cells[0].dataset.subset, 500);  // the top-level default
  EXPECT_EQ(cells[0].dataset.test_subset, 200);
  EXPECT_EQ(cells[12].dataset.name, "fashion-mnist");
  EXPECT_EQ(cells[12].dataset.subset, 100);  // its own
  EXPECT_EQ(cells[12].dataset.test_subset, 200);
  // Settings hold what matters for the optimizer, defaults filled in.
  EXPECT_TRUE(cells[0].settings.contains("lr"));
  EXPECT_FALSE(cells[0].settings.contains("beta"));
  EXPECT_FALSE(cells[4].settings.contains("lr"));  // cg
  EXPECT_EQ(cells[4].settings["line_search"], "strong-wolfe");
  EXPECT_EQ(suite.target_loss, 0.01);
}

// Each broken suite must be rejected with a message naming the field and
// the constraint.
TEST(SuiteTest, RejectsBadFieldsNamingFieldAndConstraint) {
  struct Case {
    std::string pointer;  // JSON pointer to change
    json value;           // new value (null: remove)
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"/models/1", "vgg6", "s.json: models[1]: unknown model 'vgg6' (known: vit-mlp"},
      {"/models/1", "vit-mlp", "models[1]: 'vit-mlp' is listed twice"},
      {"/models", json::array(), "models: must be a non-empty array, got []"},
      {"/models", nullptr, "models: is required"},
      {"/datasets/0", "svhn", "datasets[0]: unknown data set 'svhn'"},
      {"/datasets/1/subset", -5, "datasets[1].subset: must be an integer >= 0 (0: all), got -5"},
      {"/datasets/1/colour", true, "datasets[1].colour: unknown field"},
      {"/subset_mode", "random", "subset_mode: unknown subset mode 'random'"},
      // The type is the reader's; the limits are IsValid's, after the field's path.
      {"/algorithms/0/lr", "fast", "s.json: algorithms[0].lr: must be a number, got \"fast\""},
      {"/algorithms/0/lr", -1,
       "s.json: algorithms[0].lr: adam: learning_rate must be > 0 and finite, got -1"},
      {"/algorithms/0/batch", 0, "s.json: algorithms[0].batch: batch size must be >= 1, got 0"},
      {"/algorithms/0/batch", 1.5, "s.json: algorithms[0].batch: must be an integer, got 1.5"},
      {"/algorithms/0/drop_last", 1, "algorithms[0].drop_last: must be true or false, got 1"},
      {"/algorithms/0/adam_beta1", 1,
       "s.json: algorithms[0].adam_beta1: adam: beta1 must be in [0, 1), got 1"},
      {"/algorithms/0/adam_epsilon", -1,
       "algorithms[0].adam_epsilon: adam: epsilon must be >= 0 and finite, got -1"},
      // A field the optimizer does not read is still checked (cg: no Adam).
      {"/algorithms/2/lr", 0, "algorithms[2].lr: adam: learning_rate must be > 0"},
      {"/algorithms/2/cg_samples", -1, "algorithms[2].cg_samples: CG samples must be >= 0, got -1"},
      {"/algorithms/2/golden_tolerance", 0,
       "algorithms[2].golden_tolerance: cg: line search: 0 < golden_tolerance < 1 required"},
      {"/algorithms/2/cg_gradient_tolerance", -1,
       "algorithms[2].cg_gradient_tolerance: cg: gradient_tolerance must be >= 0 and finite"},
      {"/algorithms/2/initial_step", "newton",
       "algorithms[2].initial_step: unknown initial step rule 'newton'"},
      {"/algorithms/1/swap_min_epochs", 0,
       "algorithms[1].swap_min_epochs: swap detector: min_epochs must be >= 1, got 0"},
      {"/algorithms/1/swap_smoothing", 1,
       "algorithms[1].swap_smoothing: swap detector: smoothing must be in [0, 1), got 1"},
      {"/algorithms/1/swap_signal", "hessian", "algorithms[1].swap_signal: unknown swap signal"},
      // The curvature signal reads the probe, which is off by default.
      {"/algorithms/1/swap_signal", "curvature",
       "algorithms[1].swap_signal: swap detector: signal curvature reads the curvature probe: "
       "probe_every must be >= 1"},
      {"/algorithms/0/probe_every", -1,
       "algorithms[0].probe_every: curvature probe: probe_every must be >= 0 (0: off), got -1"},
      {"/algorithms/1/swap_curvature_probes", 0,
       "algorithms[1].swap_curvature_probes: swap detector: curvature_probes must be >= 1"},
      {"/algorithms/0/lrate", 1, "algorithms[0].lrate: unknown field (known:"},
      {"/algorithms/0/optimizer", "sgd", "algorithms[0].optimizer: unknown algorithm 'sgd'"},
      {"/algorithms/0/optimizer", nullptr, "algorithms[0].optimizer: is required"},
      {"/algorithms/1/beta", "newton", "algorithms[1].beta: unknown beta rule 'newton'"},
      {"/algorithms/1/line_search", "exact", "algorithms[1].line_search: unknown line search"},
      {"/algorithms/1/swap_fraction", 1.5,
       "algorithms[1].swap_fraction: must be a number in [0, 1)"},
      {"/algorithms/1/swap_epoch", 4, "algorithms[1]: swap_epoch and swap_fraction exclude"},
      {"/algorithms/1/label", "Two Phase", "algorithms[1].label: must be 1-64 characters"},
      {"/algorithms/1/label", "adam", "algorithms[1].label: 'adam' is used twice"},
      {"/algorithms/1/swap_factor", 1.0,
       "algorithms[1].swap_factor: swap detector: factor must be in (0, 1), got 1"},
      {"/backends/0", "cuda", "backends[0]: unknown backend 'cuda'"},
      {"/seeds/1", -1, "seeds[1]: must be an integer >= 0, got -1"},
      {"/seeds/1", 0, "seeds[1]: is listed twice"},
      {"/threads", 0, "threads: must be an integer in [1, 1024], got 0"},
      // 2^32 + 2 is no int: read with a cast it would be 2 threads.
      {"/threads", 4294967298u, "threads: must be an integer in [1, 1024], got 4294967298"},
      {"/micro_batch", 0, "s.json: micro_batch: micro-batch must be >= 1, got 0"},
      {"/ranks_per_cell", 3, "s.json: ranks_per_cell: must be 0 or a power of two, got 3"},
      {"/ranks_per_cell", -2, "s.json: ranks_per_cell: must be 0 or a power of two, got -2"},
      {"/ranks_per_cell", 1.5, "s.json: ranks_per_cell: must be an integer, got 1.5"},
      {"/micro_batch", 2.5, "s.json: micro_batch: must be an integer, got 2.5"},
      {"/eval_every", 0, "s.json: eval_every: eval_every must be >= 1, got 0"},
      {"/budget/epochs", 0, "budget.epochs: must be an integer >= 1, got 0"},
      {"/budget", nullptr, "budget: is required"},
      {"/budget/epochs_by_model/vgg6", 3, "budget.epochs_by_model.vgg6: unknown field"},
      {"/budget/max_seconds", -1,
       "s.json: budget.max_seconds: max seconds must be >= 0 and finite, got -1"},
      {"/budget/max_passes", "many", "s.json: budget.max_passes: must be a number, got \"many\""},
      {"/loss", "hinge", "loss: unknown loss"},
      {"/name", "", "name: is required"},
      {"/target_loss", "low", "target_loss: must be a number >= 0"},
      {"/extra", 1, "extra: unknown field"},
  };
  for (const Case& c : cases) {
    json j = ValidSuite();
    const json::json_pointer pointer(c.pointer);
    if (c.value.is_null()) {
      j[pointer.parent_pointer()].erase(pointer.back());
    } else {
      j[pointer] = c.value;
    }
    Suite suite;
    const std::string error = Parse(j, &suite);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << c.pointer << " = " << c.value.dump() << "\n  expected: " << c.expected
        << "\n  got:      " << error;
  }
}

// ranks_per_cell reaches every cell; the settings name the slot tree only
// where it is used, so that the cells of suites without it read as before.
TEST(SuiteTest, RanksPerCellReachesTheCellsAndTheirSettings) {
  Suite suite;
  ASSERT_EQ(Parse(ValidSuite(), &suite), "");
  for (const Cell& c : ExpandCells(suite)) {
    EXPECT_EQ(c.train.ranks_per_cell, 0) << c.id;
    EXPECT_FALSE(c.settings.contains("reduction")) << c.id;
  }
  json j = ValidSuite();
  j["ranks_per_cell"] = 4;
  ASSERT_EQ(Parse(j, &suite), "");
  for (const Cell& c : ExpandCells(suite)) {
    EXPECT_EQ(c.train.ranks_per_cell, 4) << c.id;
    EXPECT_EQ(c.settings["reduction"], "slot-tree") << c.id;
  }
}

// The cells are capped (suite.h, kMaxSuiteCells); the message names the
// fields whose lengths multiply.
// An entry's "models" runs it on those models only (issue 16: one extra
// cell for the smallest model), and names only models of the suite.
TEST(SuiteTest, AnEntryCanBeLimitedToSomeModels) {
  json j = ValidSuite();
  j["algorithms"][2]["models"] = {"vgg5"};
  Suite suite;
  ASSERT_EQ(Parse(j, &suite), "");
  int cg = 0;
  for (const Cell& c : ExpandCells(suite)) {
    if (c.algorithm != "cg") continue;
    ++cg;
    EXPECT_EQ(c.model, "vgg5") << c.id;
  }
  EXPECT_EQ(cg, 2 * 2);  // data sets x seeds
  EXPECT_EQ(ExpandCells(suite).size(), 2u * 2 * 2 * 2 + 4);
  j["algorithms"][2]["models"] = {"vit-nomlp"};
  EXPECT_EQ(Parse(j, &suite),
            "s.json: algorithms[2].models[0]: 'vit-nomlp' is not one of the suite's models");
  j["algorithms"][2]["models"] = {"resnet"};
  EXPECT_NE(Parse(j, &suite).find("algorithms[2].models[0]: unknown model 'resnet'"),
            std::string::npos);
}

TEST(SuiteTest, RefusesMoreCellsThanTheLimitNamingTheFactors) {
  json j = ValidSuite();  // 2 data sets x 2 models x 3 algorithms x 1 backend
  j["seeds"] = json::array();
  for (int s = 0; s < 833; ++s) j["seeds"].push_back(s);
  Suite suite;
  ASSERT_EQ(Parse(j, &suite), "");  // 9996 cells
  EXPECT_EQ(ExpandCells(suite).size(), 9996u);
  j["seeds"].push_back(833);
  EXPECT_EQ(Parse(j, &suite),
            "s.json: datasets (2) x models (2) x algorithms (3) x backends (1) x seeds (834) = "
            "10008 cells, more than the limit of 10000 per suite (split it into several suites)");
}

// A million seeds are refused in about a second: their duplicate check is
// O(n log n), not O(n^2) (which took minutes). A million algorithms are
// refused before their entries are parsed.
TEST(SuiteTest, HugeListsAreRefusedQuickly) {
  for (const char* list : {"seeds", "algorithms"}) {
    json j = ValidSuite();
    j[list] = json::array();
    const int n = list == std::string("seeds") ? 1000000 : 100000;
    for (int i = 0; i < n; ++i) {
      j[list].push_back(list == std::string("seeds")
                            ? json(i)
                            : json{{"optimizer", "adam"}, {"label", std::to_string(i)}});
    }
    const auto start = std::chrono::steady_clock::now();
    Suite suite;
    const std::string error = Parse(j, &suite);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(error.find(std::string(list) + " (" + std::to_string(n) + ")"), std::string::npos)
        << error;
    EXPECT_LT(seconds, 30.0) << list;
  }
}

TEST(SuiteTest, ChecksTheSwapEpochAgainstEachModelsBudget) {
  json j = ValidSuite();
  j["algorithms"][1].erase("swap_fraction");
  j["algorithms"][1]["swap_epoch"] = 15;  // fine for vit-mlp's 20, not for vgg5's 10
  Suite suite;
  const std::string error = Parse(j, &suite);
  EXPECT_NE(error.find("cell mnist.vgg5.tp-30.blas.s0: the swap epoch 15 leaves no epoch"),
            std::string::npos)
      << error;
}

TEST(SuiteTest, SyntaxErrorsNameTheLine) {
  Suite suite;
  std::string error;
  EXPECT_FALSE(ParseSuite("{\n  \"name\": \"x\",\n  \"models\": [\"vgg5\",]\n}", "bad.json", &suite,
                          &error));
  EXPECT_NE(error.find("bad.json: not valid JSON at line 3"), std::string::npos) << error;
  EXPECT_FALSE(ParseSuite("[1, 2]", "arr.json", &suite, &error));
  EXPECT_NE(error.find("arr.json: : must be an object"), std::string::npos) << error;
}

// 100,000 nested arrays in a field overflowed the stack (rc 139) when the
// error message printed the value.
TEST(SuiteTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Suite suite;
  std::string error;
  EXPECT_FALSE(ParseSuite(R"({"name": "x", "models": )" + deep + "}", "deep.json", &suite, &error));
  EXPECT_EQ(error,
            "deep.json: arrays and objects nest deeper than 64 levels (at "
            "models[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
            "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
            "[0][0][0][0][0][0][0][0][0][0][0][0])");
}

// A repeated key used to be accepted silently, the last one winning; at any
// level it is now an error naming the object.
TEST(SuiteTest, DuplicateKeysAreErrorsAtEveryLevel) {
  const std::string valid = ValidSuite().dump();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("name":"t")", R"("name":"t","name":"u")"},
      {R"("epochs":10)", R"("epochs":10,"epochs":3)"},
      {R"("lr":0.002)", R"("lr":0.002,"lr":1)"},
  };
  const std::vector<std::string> expected = {
      "s.json: key \"name\" appears twice in the object at the top level",
      "s.json: key \"epochs\" appears twice in the object at budget",
      "s.json: key \"lr\" appears twice in the object at algorithms[0]",
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string text = valid;
    const size_t at = text.find(cases[i].first);
    ASSERT_NE(at, std::string::npos) << cases[i].first << " in " << text;
    text.replace(at, cases[i].first.size(), cases[i].second);
    Suite suite;
    std::string error;
    EXPECT_FALSE(ParseSuite(text, "s.json", &suite, &error)) << text;
    EXPECT_EQ(error, expected[i]);
  }
}

TEST(SuiteTest, ShippedSuitesAreValid) {
  const std::vector<std::string> names = ShippedSuites();
  for (const char* required : {"smoke", "quick", "paper"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  }
  for (const std::string& name : names) {
    Suite suite;
    std::string error;
    EXPECT_TRUE(LoadSuite(name, &suite, &error)) << error;
    EXPECT_EQ(suite.name, name);
  }
  Suite suite;
  std::string error;
  EXPECT_FALSE(LoadSuite("no-such-suite", &suite, &error));
  EXPECT_NE(error.find("no shipped suite 'no-such-suite'"), std::string::npos) << error;
}

TEST(SuiteTest, PaperSuiteFollowsThePapersProtocol) {
  Suite suite;
  std::string error;
  ASSERT_TRUE(LoadSuite("paper", &suite, &error)) << error;
  for (const Cell& c : ExpandCells(suite)) {
    EXPECT_EQ(c.train.epochs, c.model == "vit-mlp" ? 700 : 1000) << c.id;
    EXPECT_EQ(c.dataset.subset, 0) << c.id;
    if (c.train.algorithm == Algorithm::kTwoPhase) {
      EXPECT_EQ(c.train.detector.fixed_epoch, c.model == "vit-mlp" ? 210 : 300) << c.id;
    }
    if (c.train.algorithm != Algorithm::kCg) {
      EXPECT_EQ(c.train.batch_size, 512) << c.id;
    }
  }
}

TEST(CellFilterTest, MatchesKeysGlobsAndAlternatives) {
  Suite suite;
  ASSERT_EQ(Parse(ValidSuite(), &suite), "");
  const std::vector<Cell> cells = ExpandCells(suite);
  auto count = [&](const std::string& expr) {
    CellFilter f;
    std::string error;
    EXPECT_TRUE(ParseCellFilter(expr, &f, &error)) << error;
    return std::count_if(cells.begin(), cells.end(),
                         [&](const Cell& c) { return CellMatches(f, c); });
  };
  EXPECT_EQ(count(""), 24);
  EXPECT_EQ(count("model=vgg5"), 12);
  EXPECT_EQ(count("model=vgg5,seed=7"), 6);
  EXPECT_EQ(count("algorithm=adam|cg"), 16);
  EXPECT_EQ(count("mnist.*"), 12);  // ids of fashion-mnist start with "fashion"
  EXPECT_EQ(count("*.tp-*.s0"), 4);
  EXPECT_EQ(count("dataset=fashion-mnist,algorithm=tp-30"), 4);
  EXPECT_EQ(count("model=vit"), 0);
  CellFilter f;
  std::string error;
  EXPECT_FALSE(ParseCellFilter("colour=red", &f, &error));
  EXPECT_NE(error.find("unknown key 'colour'"), std::string::npos) << error;
  EXPECT_FALSE(ParseCellFilter("model=", &f, &error));
}

TEST(CellFilterTest, GlobMatch) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*c", "abbbc"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_FALSE(GlobMatch("abc", "abcd"));
  EXPECT_TRUE(GlobMatch("*b*", "abc"));
  EXPECT_FALSE(GlobMatch("*x*", "abc"));
}

}  // namespace
}  // namespace twophase
