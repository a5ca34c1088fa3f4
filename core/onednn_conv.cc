// The oneDNN backend's convolution (forward, backward data, backward
// weights) and 2x2 max-pool (forward, backward).
//
// Convolution layouts: the interface's tensors are NCHW/OIHW, but oneDNN's
// fast convolution kernels work on channel-blocked layouts (nChw16c). The
// primitives are created with format "any", so oneDNN picks its preferred
// layout, and reorders convert the caller's tensors on the way in and out
// (Tensor in onednn_internal.h); where oneDNN takes the plain layout as is
// (e.g. a first layer with one input channel) there is no reorder. Reorders
// are pure copies, so they do not change any value.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/onednn_backend.h"
#include "core/onednn_internal.h"
#include "kernels/kernels.h"

namespace twophase {

using onednn::Args;
using onednn::Attr;
using onednn::Cached;
using onednn::Dims;
using onednn::Guarded;
using onednn::kF32;
using onednn::Op;
using onednn::Plain;
using onednn::Tag;
using onednn::Tensor;
using onednn::Wrap;

namespace {

struct ConvForwardOp : Cached {
  dnnl::convolution_forward prim;
  Tensor x, w, y;
  dnnl::memory b;
  Args args;
};

struct ConvBackwardOp : Cached {
  dnnl::convolution_backward_data data;
  dnnl::convolution_backward_weights weights;
  Tensor data_dy, w, dx;     // backward data
  Tensor weights_dy, x, dw;  // backward weights
  bool share_dy = false;     // weights_dy is data_dy's memory
  dnnl::memory db;
  std::vector<float> dw_scratch, db_scratch;
  Args data_args, weights_args;
};

struct PoolOp : Cached {
  dnnl::pooling_forward forward;
  dnnl::pooling_backward backward;
  dnnl::memory x, y, dy, dx, workspace;  // workspace: the caller's argmax
  Args forward_args, backward_args;
};

// The convolution's shapes: x [n, cin, h, w], w [cout, cin, k, k],
// b [cout], y [n, cout, h, w]; stride 1, padding k/2 on every side.
struct ConvDescs {
  dnnl::memory::desc x, w, b, y;           // the caller's layouts
  dnnl::memory::desc x_any, w_any, y_any;  // oneDNN's choice
  Dims strides{1, 1}, padding;
  ConvDescs(int64_t n, int64_t cin, int64_t h, int64_t width, int64_t cout, int64_t kernel)
      : x(Plain({n, cin, h, width}, Tag::nchw)),
        w(Plain({cout, cin, kernel, kernel}, Tag::oihw)),
        b(Plain({cout}, Tag::x)),
        y(Plain({n, cout, h, width}, Tag::nchw)),
        x_any(Plain({n, cin, h, width}, Tag::any)),
        w_any(Plain({cout, cin, kernel, kernel}, Tag::any)),
        y_any(Plain({n, cout, h, width}, Tag::any)),
        padding{kernel / 2, kernel / 2} {}

  dnnl::convolution_forward::primitive_desc Forward(const dnnl::engine& engine, bool bias) const {
    using Desc = dnnl::convolution_forward::desc;
    const auto prop = dnnl::prop_kind::forward_training;
    const auto algo = dnnl::algorithm::convolution_direct;
    return {bias ? Desc(prop, algo, x_any, w_any, b, y_any, strides, padding, padding)
                 : Desc(prop, algo, x_any, w_any, y_any, strides, padding, padding),
            Attr(), engine};
  }
};

}  // namespace

void OnednnBackend::ConvSameForward(const float* x, const float* w, const float* b, float* y,
                                    int64_t n, int64_t cin, int64_t h, int64_t width, int64_t cout,
                                    int64_t kernel) {
  const bool bias = b != nullptr;
  Guarded("ConvSameForward", [&] {
    ConvForwardOp& c =
        Get<ConvForwardOp>(Op::kConvForward, {n, cin, h, width, cout, kernel, bias}, [&] {
          auto c = std::make_unique<ConvForwardOp>();
          const ConvDescs d(n, cin, h, width, cout, kernel);
          const auto pd = d.Forward(engine_, bias);
          c->prim = dnnl::convolution_forward(pd);
          c->x = Tensor(engine_, d.x, pd.src_desc(), true);
          c->w = Tensor(engine_, d.w, pd.weights_desc(), true);
          c->y = Tensor(engine_, d.y, pd.dst_desc(), false);
          c->args = {{DNNL_ARG_SRC, c->x.mem()},
                     {DNNL_ARG_WEIGHTS, c->w.mem()},
                     {DNNL_ARG_DST, c->y.mem()}};
          if (bias) {
            c->b = Wrap(engine_, d.b);
            c->args[DNNL_ARG_BIAS] = c->b;
          }
          return c;
        });
    c.x.Read(stream_, x);
    c.w.Read(stream_, w);
    if (bias) c.b.set_data_handle(const_cast<float*>(b));
    c.y.Bind(y);
    c.prim.execute(stream_, c.args);
    c.y.Write(stream_);
    stream_.wait();
  });
}

// Backward data writes dx; backward weights writes the weight and bias
// gradients into scratch (in the caller's OIHW layout, reordered from
// oneDNN's), which is then added to dw and db.
void OnednnBackend::ConvSameBackward(const float* x, const float* w, const float* dy, float* dx,
                                     float* dw, float* db, int64_t n, int64_t cin, int64_t h,
                                     int64_t width, int64_t cout, int64_t kernel) {
  const bool need_dx = dx != nullptr, need_weights = dw != nullptr || db != nullptr;
  if (!need_dx && !need_weights) return;
  Guarded("ConvSameBackward", [&] {
    ConvBackwardOp& c = Get<ConvBackwardOp>(
        Op::kConvBackward, {n, cin, h, width, cout, kernel, need_dx, need_weights}, [&] {
          auto c = std::make_unique<ConvBackwardOp>();
          const ConvDescs d(n, cin, h, width, cout, kernel);
          const auto hint = d.Forward(engine_, true);
          const auto algo = dnnl::algorithm::convolution_direct;
          if (need_dx) {
            const dnnl::convolution_backward_data::primitive_desc pd(
                {algo, d.x_any, d.w_any, d.y_any, d.strides, d.padding, d.padding}, Attr(), engine_,
                hint);
            c->data = dnnl::convolution_backward_data(pd);
            c->data_dy = Tensor(engine_, d.y, pd.diff_dst_desc(), true);
            c->w = Tensor(engine_, d.w, pd.weights_desc(), true);
            c->dx = Tensor(engine_, d.x, pd.diff_src_desc(), false);
            c->data_args = {{DNNL_ARG_DIFF_DST, c->data_dy.mem()},
                            {DNNL_ARG_WEIGHTS, c->w.mem()},
                            {DNNL_ARG_DIFF_SRC, c->dx.mem()}};
          }
          if (need_weights) {
            const dnnl::convolution_backward_weights::primitive_desc pd(
                {algo, d.x_any, d.w_any, d.b, d.y_any, d.strides, d.padding, d.padding}, Attr(),
                engine_, hint);
            c->weights = dnnl::convolution_backward_weights(pd);
            c->share_dy = need_dx && pd.diff_dst_desc() == c->data_dy.mem().get_desc();
            if (!c->share_dy) c->weights_dy = Tensor(engine_, d.y, pd.diff_dst_desc(), true);
            c->x = Tensor(engine_, d.x, pd.src_desc(), true);
            c->dw = Tensor(engine_, d.w, pd.diff_weights_desc(), false);
            c->dw_scratch.resize(cout * cin * kernel * kernel);
            c->dw.Bind(c->dw_scratch.data());
            c->db_scratch.resize(cout);
            c->db = dnnl::memory(d.b, engine_, c->db_scratch.data());
            c->weights_args = {
                {DNNL_ARG_SRC, c->x.mem()},
                {DNNL_ARG_DIFF_DST, c->share_dy ? c->data_dy.mem() : c->weights_dy.mem()},
                {DNNL_ARG_DIFF_WEIGHTS, c->dw.mem()},
                {DNNL_ARG_DIFF_BIAS, c->db}};
          }
          return c;
        });
    if (need_dx) {
      c.data_dy.Read(stream_, dy);
      c.w.Read(stream_, w);
      c.dx.Bind(dx);
      c.data.execute(stream_, c.data_args);
      c.dx.Write(stream_);
    }
    if (need_weights) {
      if (!c.share_dy) c.weights_dy.Read(stream_, dy);
      c.x.Read(stream_, x);
      c.weights.execute(stream_, c.weights_args);
      c.dw.Write(stream_);
      stream_.wait();
      if (dw != nullptr) kernels::AddTo(dw, c.dw_scratch.data(), cout * cin * kernel * kernel);
      if (db != nullptr) kernels::AddTo(db, c.db_scratch.data(), cout);
    }
    stream_.wait();
  });
}

namespace {
// 2x2 windows, stride 2, no padding: oneDNN's output size
// (h - 2) / 2 + 1 = floor(h / 2) is PyTorch's floor mode.
dnnl::pooling_forward::primitive_desc PoolForward(const dnnl::engine& engine, dnnl::prop_kind prop,
                                                  const dnnl::memory::desc& x,
                                                  const dnnl::memory::desc& y) {
  return {
      {prop, dnnl::algorithm::pooling_max, x, y, {2, 2}, {2, 2}, {0, 0}, {0, 0}}, Attr(), engine};
}

// The workspace of a max-pool forward_training primitive on NCHW data is
// what the interface calls argmax: one byte per output, NCHW order, holding
// the window index kh * 2 + kw of the maximum (oneDNN's u8 workspace for
// windows under 256 elements). That it is exactly this is checked against
// the BLAS backend's argmax in backend_consistency_test.cc; a oneDNN whose
// workspace has another layout fails here, loudly, rather than silently.
dnnl::memory::desc PoolArgmaxDesc(const dnnl::pooling_forward::primitive_desc& pd,
                                  const dnnl::memory::desc& y) {
  const dnnl::memory::desc argmax(y.dims(), dnnl::memory::data_type::u8, Tag::nchw);
  if (pd.workspace_desc() != argmax) {
    throw std::runtime_error(
        "the max-pool workspace is not one byte per output in NCHW order, so it cannot serve "
        "as the interface's argmax");
  }
  return argmax;
}

}  // namespace

void OnednnBackend::MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n,
                                      int64_t c, int64_t h, int64_t width) {
  if (n * c * (h / 2) * (width / 2) <= 0) return;
  const bool training = argmax != nullptr;
  Guarded("MaxPool2x2Forward", [&] {
    PoolOp& p = Get<PoolOp>(Op::kPoolForward, {n, c, h, width, training}, [&] {
      auto p = std::make_unique<PoolOp>();
      const auto x_md = Plain({n, c, h, width}, Tag::nchw);
      const auto y_md = Plain({n, c, h / 2, width / 2}, Tag::nchw);
      const auto pd = PoolForward(
          engine_,
          training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, x_md,
          y_md);
      p->forward = dnnl::pooling_forward(pd);
      p->x = Wrap(engine_, x_md);
      p->y = Wrap(engine_, y_md);
      p->forward_args = {{DNNL_ARG_SRC, p->x}, {DNNL_ARG_DST, p->y}};
      if (training) {
        p->workspace = dnnl::memory(PoolArgmaxDesc(pd, y_md), engine_, nullptr);
        p->forward_args[DNNL_ARG_WORKSPACE] = p->workspace;
      }
      return p;
    });
    p.x.set_data_handle(const_cast<float*>(x));
    p.y.set_data_handle(y);
    if (training) p.workspace.set_data_handle(argmax);
    p.forward.execute(stream_, p.forward_args);
    stream_.wait();
  });
}

void OnednnBackend::MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n,
                                       int64_t c, int64_t h, int64_t width) {
  if (n * c * (h / 2) * (width / 2) <= 0) {
    std::fill(dx, dx + n * c * h * width, 0.0f);
    return;
  }
  Guarded("MaxPool2x2Backward", [&] {
    PoolOp& p = Get<PoolOp>(Op::kPoolBackward, {n, c, h, width}, [&] {
      auto p = std::make_unique<PoolOp>();
      const auto x_md = Plain({n, c, h, width}, Tag::nchw);
      const auto y_md = Plain({n, c, h / 2, width / 2}, Tag::nchw);
      const auto forward = PoolForward(engine_, dnnl::prop_kind::forward_training, x_md, y_md);
      p->backward = dnnl::pooling_backward(
          {{dnnl::algorithm::pooling_max, x_md, y_md, {2, 2}, {2, 2}, {0, 0}, {0, 0}},
           Attr(),
           engine_,
           forward});
      p->workspace = dnnl::memory(PoolArgmaxDesc(forward, y_md), engine_, nullptr);
      p->dy = Wrap(engine_, y_md);
      p->dx = Wrap(engine_, x_md);
      p->backward_args = {{DNNL_ARG_DIFF_DST, p->dy},
                          {DNNL_ARG_WORKSPACE, p->workspace},
                          {DNNL_ARG_DIFF_SRC, p->dx}};
      return p;
    });
    p.workspace.set_data_handle(const_cast<uint8_t*>(argmax));
    p.dy.set_data_handle(const_cast<float*>(dy));
    p.dx.set_data_handle(dx);
    p.backward.execute(stream_, p.backward_args);
    stream_.wait();
  });
}

}  // namespace twophase
