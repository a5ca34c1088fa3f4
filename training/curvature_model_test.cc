// The Hessian-vector products on a real model's training loss: a ViT small
// enough (~470 parameters) that its whole Hessian can be built column by
// column from products, on real Fashion-MNIST images. The assembled matrix
// must be symmetric (a product that differenced the wrong gradients, or
// mixed up its step, is not), and Lanczos on the products must find the
// extremes of its eigendecomposition.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/threads.h"
#include "datasets/dataset.h"
#include "models/vit.h"
#include "optimizers/curvature.h"
#include "training/training_objective.h"

namespace twophase {
namespace {

TEST(CurvatureModelTest, FullHessianFromProductsIsSymmetricAndLanczosFindsItsExtremes) {
  SetThreads(1);
  DataSplit data;
  DataOptions options;
  options.subset = 64;
  std::string error;
  ASSERT_TRUE(LoadDataset("fashion-mnist", options, &data, &error)) << error;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  VitConfig config;
  config.patch = 14;
  config.dim = 4;
  config.depth = 1;
  config.heads = 1;
  config.mlp = false;
  config.shared_query_key = true;
  config.no_value_output = true;
  VisionTransformer model("tiny-vit", InputShape{1, 28, 28, 10}, config, backend.get());
  model.Initialize(3);
  const int64_t n = model.params().size();
  ASSERT_LT(n, 1200);
  TrainingObjective f(&model, &data.train, LossKind::kSoftmaxMse);
  const std::vector<float> x(model.params().values(), model.params().values() + n);

  HessianVectorProduct hvp(&f, x.data());
  std::vector<double> h(n * n), e(n, 0.0), column(n);
  for (int64_t j = 0; j < n; ++j) {
    e[j] = 1;
    hvp.Apply(e.data(), column.data());
    e[j] = 0;
    for (int64_t i = 0; i < n; ++i) h[i * n + j] = column[i];
  }
  double scale = 0, asymmetry = 0;
  std::vector<double> symmetric(n * n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      scale = std::max(scale, std::abs(h[i * n + j]));
      asymmetry = std::max(asymmetry, std::abs(h[i * n + j] - h[j * n + i]));
      symmetric[i * n + j] = (h[i * n + j] + h[j * n + i]) / 2;
    }
  }
  ASSERT_GT(scale, 0);
  EXPECT_LT(asymmetry, 2e-3 * scale) << "max |H - H^T| " << asymmetry << " of max |H| " << scale;

  const std::vector<double> eigenvalues = SymmetricEigenvalues(symmetric, n);
  const double lambda_min = eigenvalues.front(), lambda_max = eigenvalues.back();
  LanczosOptions lanczos;
  lanczos.steps = 60;
  const LanczosResult r = Lanczos(hvp.AsOperator(), n, lanczos);
  const double spread = std::max(std::abs(lambda_max), std::abs(lambda_min));
  EXPECT_NEAR(r.lambda_max, lambda_max, 1e-3 * spread);
  EXPECT_NEAR(r.lambda_min, lambda_min, 1e-3 * spread);
  std::printf(
      "tiny ViT, %lld parameters: lambda_max %.6g (Lanczos %.6g), lambda_min %.6g "
      "(Lanczos %.6g), asymmetry %.3g of %.3g\n",
      static_cast<long long>(n), lambda_max, r.lambda_max, lambda_min, r.lambda_min, asymmetry,
      scale);
}

}  // namespace
}  // namespace twophase
