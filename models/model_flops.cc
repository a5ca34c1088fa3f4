#include "models/model_flops.h"

#include "models/vgg5.h"
#include "models/vit.h"

namespace twophase {
namespace {

// 2 FLOPs per multiply-add of an [m, k] x [k, n] product.
double MatMul(double m, double k, double n) { return 2.0 * m * k * n; }

ModelFlops CountVit(const VitConfig& c, const InputShape& input) {
  const double patches = static_cast<double>(input.height / c.patch) * (input.width / c.patch);
  const double tokens = patches + 1;
  const double patch_size = static_cast<double>(input.channels) * c.patch * c.patch;
  const double dim = static_cast<double>(c.dim);
  ModelFlops f;
  // Patch embedding: forward, and the weight gradient only (first layer).
  const double embed = MatMul(patches, patch_size, dim);
  f.forward += embed;
  f.backward += embed;
  const double projections = (c.shared_query_key ? 1 : 2) + (c.no_value_output ? 0 : 2);
  const double input_projections = c.no_value_output ? projections : projections - 1;
  for (int64_t b = 0; b < c.depth; ++b) {
    // The last block runs for the class token alone (models/vit.h): one
    // query row, one output row; K and V (and Q, packed with them) still
    // for every token. The work done, not that of a model computing every
    // row.
    const double rows = b + 1 == c.depth ? 1 : tokens;
    const double proj = input_projections * MatMul(tokens, dim, dim) +
                        (projections - input_projections) * MatMul(rows, dim, dim);
    // Per head [rows, d] x [d, T] and [rows, T] x [T, d]; summed over the
    // heads the width d becomes dim, whatever the head count.
    const double attention = MatMul(rows, dim, tokens) + MatMul(rows, tokens, dim);
    const double mlp_rows = rows;
    const double mlp =
        c.mlp ? MatMul(mlp_rows, dim, c.mlp_dim) + MatMul(mlp_rows, c.mlp_dim, dim) : 0;
    f.forward += proj + attention + mlp;
    f.backward += 2 * (proj + attention + mlp);
  }
  const double head = MatMul(1, dim, input.classes);
  f.forward += head;
  f.backward += 2 * head;
  return f;
}

ModelFlops CountVgg5(const InputShape& input) {
  ModelFlops f;
  double cin = input.channels;
  int64_t h = input.height, w = input.width;
  for (size_t s = 0; s < Vgg5::kChannels.size(); ++s) {
    const double cout = Vgg5::kChannels[s];
    // Per output pixel a [cout, cin*9] x [cin*9] product (im2col's GEMM).
    const double conv = MatMul(static_cast<double>(h) * w, cin * 9, cout);
    f.forward += conv;
    f.backward += (s == 0 ? 1 : 2) * conv;  // no image gradient for conv1
    cin = cout;
    h /= 2;
    w /= 2;
  }
  const double flat = cin * h * w;
  const double dense = MatMul(1, flat, Vgg5::kHidden) + MatMul(1, Vgg5::kHidden, input.classes);
  f.forward += dense;
  f.backward += 2 * dense;
  return f;
}

}  // namespace

bool CountModelFlops(const std::string& model, const InputShape& input, ModelFlops* flops) {
  VitConfig config;
  if (VitConfig::ForVariant(model, &config)) {
    *flops = CountVit(config, input);
    return true;
  }
  if (model == "vgg5") {
    *flops = CountVgg5(input);
    return true;
  }
  return false;
}

}  // namespace twophase
