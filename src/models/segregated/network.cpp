// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/network.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <numeric>

#include "apical/core/error.hpp"
#include "kernels.hpp"

namespace apical::segregated {
namespace {

constexpr double kUniformWidth = 3.465;  // ~sqrt(12): a uniform of this width times sd has that sd (spec 8.2)

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

/// Centred uniform draw of the chosen scheme: cited: width * (U - 0.5); head: width * U(-1, 1) (twice as wide).
double centred_uniform(Stream& s, InitScheme scheme) {
  const double u = s.uniform();
  return scheme == InitScheme::cited ? (u - 0.5) : (2.0 * u - 1.0);
}

void require_finite(std::span<const double> v, const char* what, int layer) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      fail(
          "non-finite value {} in {} of layer {} (neuron {}): the simulation diverged; lower "
          "training.learning_rates or check the model parameters",
          v[i], what, layer, i);
    }
  }
}

/// One per-delay drive vector W S from one step's spikes: out[i] = sum over spiking j (ascending) of W_ij n_j.
void drive_of_slot(const LayerWeights& w, const SpikeSlot& slot, std::vector<double>& out) {
  std::fill(out.begin(), out.end(), 0.0);
  for (std::size_t e = 0; e < slot.size(); ++e) {
    const double* col = &w.W[static_cast<std::size_t>(slot.unit[e]) * out.size()];
    kernels::add_scaled(out.data(), col, slot.count[e], out.size());  // out[i] += col[i] * n
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Initialisation (spec section 8)

Weights Weights::initialise(const Params& p, std::uint64_t seed) {
  p.validate();
  Weights w;
  const int n_layers = p.n_layers();
  const int n_out = p.n_output();
  w.layers.resize(sz(n_layers));
  for (int m = 0; m < n_layers; ++m) {
    LayerWeights& L = w.layers[sz(m)];
    L.n_post = p.layers[sz(m)];
    L.n_pre = p.n_pre(m);
    const InitMoments mom = init_moments(p, L.n_pre);
    Stream s(seed, "init.W", static_cast<std::uint64_t>(m));
    L.W.assign(sz(L.n_pre) * sz(L.n_post), 0.0);
    // Draw order: row-major over the (n_post x n_pre) matrix, as the matrix is written.
    for (int i = 0; i < L.n_post; ++i) {
      for (int j = 0; j < L.n_pre; ++j) {
        L.w(i, j) = mom.W_avg + kUniformWidth * mom.W_sd * centred_uniform(s, p.weight_init);
      }
    }
    L.b.resize(sz(L.n_post));
    for (auto& b : L.b) b = p.init_b_avg + kUniformWidth * p.init_b_sd * centred_uniform(s, p.weight_init);
  }

  // Feedback weights of the hidden layers (broadcast from the output layer), spec 8.3.
  std::vector<double> y_above;  // Y of the layer above (n_above x n_out); identity for the output layer
  int n_above = n_out;
  y_above.assign(sz(n_out) * sz(n_out), 0.0);
  for (int k = 0; k < n_out; ++k) y_above[sz(k) * sz(n_out) + sz(k)] = 1.0;
  for (int m = n_layers - 1; m >= 1; --m) {
    LayerWeights& H = w.layers[sz(m - 1)];
    const int n = H.n_post;                      // size of layer m - 1
    const int n_fb = p.n_feedback(m - 1);        // output layer (broadcast) or layer m (layerwise)
    const InitMoments mom = init_moments(p, n);  // moments of layer m's feedforward weights
    Stream s(seed, "init.Y", static_cast<std::uint64_t>(m - 1));
    H.Y.assign(sz(n) * sz(n_fb), 0.0);
    std::vector<double> r;  // R (n x n_m) zero-mean uniform, SD = W_sd of layer m (cited scheme)
    if (p.feedback_init == InitScheme::cited) {
      r.resize(sz(n) * sz(n_above));
      for (auto& v : r) v = kUniformWidth * mom.W_sd * centred_uniform(s, InitScheme::cited);
    }
    if (p.feedback_init == InitScheme::cited && p.feedback_routing == FeedbackRouting::layerwise) {
      H.Y = r;  // layer-to-layer feedback: Y^{m-1} = R
    } else if (p.feedback_init == InitScheme::cited) {
      // Broadcast: Y^{m-1} = R Y^m (a product of random matrices for deeper networks).
      for (int i = 0; i < n; ++i) {
        for (int k = 0; k < n_out; ++k) {
          double acc = 0.0;
          for (int l = 0; l < n_above; ++l)
            acc += r[sz(i) * sz(n_above) + sz(l)] * y_above[sz(l) * sz(n_out) + sz(k)];
          H.Y[sz(i) * sz(n_out) + sz(k)] = acc;
        }
      }
    } else {
      // HEAD: independent per layer, non-zero mean W_avg, SD 2 W_sd.
      for (auto& v : H.Y) v = mom.W_avg + kUniformWidth * mom.W_sd * centred_uniform(s, InitScheme::head);
    }
    H.c.assign(sz(n), 0.0);
    if (p.feedback_bias) {
      Stream sc(seed, "init.c", static_cast<std::uint64_t>(m - 1));
      if (p.feedback_init == InitScheme::cited) {
        // c = Y r with r (n_fb) ~ width * W_sd * (U - 0.5), as in the cited code.
        std::vector<double> rc(sz(n_fb));
        for (auto& v : rc) v = kUniformWidth * mom.W_sd * centred_uniform(sc, InitScheme::cited);
        for (int i = 0; i < n; ++i) {
          double acc = 0.0;
          for (int k = 0; k < n_fb; ++k) acc += H.Y[sz(i) * sz(n_fb) + sz(k)] * rc[sz(k)];
          H.c[sz(i)] = acc;
        }
      } else {
        for (auto& v : H.c) v = p.init_b_avg + kUniformWidth * p.init_b_sd * centred_uniform(sc, InitScheme::head);
      }
    }
    if (p.feedback_routing == FeedbackRouting::broadcast) y_above = H.Y;
    n_above = n;
  }

  // Sparse feedback (Fig 8): zero int(sparsity * size) entries chosen without replacement, then scale.
  if (p.feedback_sparsity > 0) {
    for (int m = 0; m + 1 < n_layers; ++m) {
      LayerWeights& H = w.layers[sz(m)];
      const std::size_t size = H.Y.size();
      const auto n_zero = static_cast<std::size_t>(p.feedback_sparsity * static_cast<double>(size));
      std::vector<std::size_t> idx(size);
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      Stream s(seed, "init.sparse", static_cast<std::uint64_t>(m));
      for (std::size_t k = 0; k < n_zero; ++k) {  // partial Fisher-Yates
        const std::size_t pick = k + static_cast<std::size_t>(s.below(size - k));
        std::swap(idx[k], idx[pick]);
      }
      H.Y_mask.assign(size, 1);
      for (std::size_t k = 0; k < n_zero; ++k) H.Y_mask[idx[k]] = 0;
      for (std::size_t e = 0; e < size; ++e) H.Y[e] = H.Y_mask[e] != 0 ? H.Y[e] * p.feedback_sparse_gain : 0.0;
    }
  }
  if (p.feedback == FeedbackKind::symmetric) {
    Stream noise(seed, "feedback.noise.init");
    w.resync_feedback(p, &noise);
  }
  return w;
}

void Weights::resync_feedback(const Params& p, Stream* noise) {
  const int n_layers = static_cast<int>(layers.size());
  if (n_layers < 2) return;
  const int n_out = layers.back().n_post;
  // Noise-free chain: Y^{M-2} = (W^{M-1})^T, Y^m = (W^{m+1})^T Y^{m+1}.
  std::vector<double> y_above(sz(n_out) * sz(n_out), 0.0);
  for (int k = 0; k < n_out; ++k) y_above[sz(k) * sz(n_out) + sz(k)] = 1.0;
  for (int m = n_layers - 2; m >= 0; --m) {
    LayerWeights& H = layers[sz(m)];
    const LayerWeights& up = layers[sz(m + 1)];
    std::vector<double> y;
    if (p.feedback_routing == FeedbackRouting::layerwise) {
      // Layer to layer: Y^m = (W^{m+1})^T.
      H.Y.assign(sz(H.n_post) * sz(up.n_post), 0.0);
      for (int i = 0; i < H.n_post; ++i) {
        for (int l = 0; l < up.n_post; ++l) H.Y[sz(i) * sz(up.n_post) + sz(l)] = up.w(l, i);
      }
    } else {
      y.assign(sz(H.n_post) * sz(n_out), 0.0);
      for (int i = 0; i < H.n_post; ++i) {
        for (int k = 0; k < n_out; ++k) {
          double acc = 0.0;
          for (int l = 0; l < up.n_post; ++l) acc += up.w(l, i) * y_above[sz(l) * sz(n_out) + sz(k)];
          y[sz(i) * sz(n_out) + sz(k)] = acc;
        }
      }
      H.Y = y;
    }
    if (p.symmetric_noise_sd > 0 && noise != nullptr) {
      for (auto& v : H.Y) v += p.symmetric_noise_sd * noise->normal();
    }
    if (!H.Y_mask.empty()) {
      for (std::size_t e = 0; e < H.Y.size(); ++e) {
        H.Y[e] = H.Y_mask[e] != 0 ? H.Y[e] * p.feedback_sparse_gain : 0.0;
      }
    }
    y_above = std::move(y);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Spikes

SpikeSlot& SpikeHistory::push() {
  head_ = (head_ + 1) % static_cast<int>(slots_.size());
  SpikeSlot& s = slots_[sz(head_)];
  s.clear();
  return s;
}

void SpikeHistory::clear() {
  for (auto& s : slots_) s.clear();
  head_ = 0;
}

void PoissonUnits::open(std::uint64_t seed, const std::string& name, std::uint64_t a, std::uint64_t b,
                        std::uint64_t population, int n, Scan scan) {
  scan_ = scan;
  stream_.clear();
  stream_.reserve(sz(n));
  for (int i = 0; i < n; ++i)
    stream_.emplace_back(seed, name, a, b, (population << 32) | static_cast<std::uint64_t>(i));
  const_rate_.assign(sz(n), 0.0);
  active_.clear();
  thinned_bound_ = 0;
  wait_.clear();
  due_.clear();
  frac_.clear();
  words_ = (sz(n) + 63) / 64;
  if (scan_ == Scan::every) {
    wait_.assign(sz(n), std::numeric_limits<double>::infinity());
  } else {
    due_.assign(sz(n), std::numeric_limits<std::uint64_t>::max());
    frac_.assign(sz(n), 0.0);
    calendar_.assign(kHorizon * words_, 0);
  }
  now_ = 0;
}

void PoissonUnits::clear_calendar() {
  std::fill(calendar_.begin(), calendar_.end(), 0);
  now_ = 0;
}

void PoissonUnits::file(std::size_t i) {
  const std::uint64_t step = std::min(due_[i], now_ + kHorizon - 1);  // a farther event is re-filed from there
  calendar_[(step % kHorizon) * words_ + i / 64] |= std::uint64_t{1} << (i % 64);
}

void PoissonUnits::place(std::size_t i, double w) {
  if (scan_ == Scan::every) {
    wait_[i] = w;
    return;
  }
  if (!(w < std::numeric_limits<double>::infinity())) {
    due_[i] = std::numeric_limits<std::uint64_t>::max();
    return;
  }
  const double whole = std::floor(w);
  due_[i] = now_ + static_cast<std::uint64_t>(whole);
  frac_[i] = w - whole;  // exact
  file(i);
}

template <typename Fire>
void PoissonUnits::step(Fire fire) {
  // fire(i, w) gets a unit whose next event lies in this step (w < 1 ms into it) and returns the waiting time
  // from its last event in this step to the next one, measured from the start of this step (>= 1 ms).
  if (scan_ == Scan::every) {
    for (std::size_t i = 0; i < wait_.size(); ++i) {
      const double w = wait_[i];
      wait_[i] = (w < 1.0 ? fire(i, w) : w) - 1.0;
    }
    return;
  }
  const std::uint64_t t = now_++;  // from here on, place() and file() count from the coming step
  std::uint64_t* bucket = &calendar_[(t % kHorizon) * words_];
  for (std::size_t word = 0; word < words_; ++word) {
    std::uint64_t bits = bucket[word];
    bucket[word] = 0;
    while (bits != 0) {
      const std::size_t i = word * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      bits &= bits - 1;
      if (due_[i] != t) {
        file(i);  // filed at the horizon: not yet
        continue;
      }
      place(i, fire(i, frac_[i]) - 1.0);
    }
  }
}

void PoissonUnits::start_constant(std::span<const double> rate) {
  active_.clear();
  if (scan_ == Scan::calendar) clear_calendar();
  for (std::size_t i = 0; i < stream_.size(); ++i) {
    const_rate_[i] = rate[i];
    if (rate[i] > 0) {
      active_.push_back(static_cast<std::uint32_t>(i));
      place(i, stream_[i].exponential(rate[i]));
    } else {
      place(i, std::numeric_limits<double>::infinity());
    }
  }
}

void PoissonUnits::step_constant(SpikeSlot& out) {
  step([&](std::size_t i, double w) {
    std::uint16_t n = 0;
    Stream& s = stream_[i];
    do {
      ++n;
      w += s.exponential(const_rate_[i]);
    } while (w < 1.0);
    out.unit.push_back(static_cast<std::uint32_t>(i));
    out.count.push_back(n);
    return w;
  });
}

namespace {

struct SigmoidGrid {
  static constexpr double kLo = -16.0, kHi = 16.0;
  static constexpr int kSteps = 1024;  // h = 1/32
  std::array<double, kSteps + 1> value{};
  SigmoidGrid() {
    for (int k = 0; k <= kSteps; ++k) value[sz(k)] = sigmoid(kLo + (kHi - kLo) * k / kSteps);
  }
};
const SigmoidGrid kSigmoidGrid;

}  // namespace

ThinningTest::ThinningTest(double x, double bound)
    : x_(x),
      bound_(bound),
      approx_(std::numeric_limits<double>::quiet_NaN()),
      exact_(std::numeric_limits<double>::quiet_NaN()) {
  const double t = (x - SigmoidGrid::kLo) * (SigmoidGrid::kSteps / (SigmoidGrid::kHi - SigmoidGrid::kLo));
  if (t >= 0.0 && t < SigmoidGrid::kSteps) {
    const auto k = static_cast<std::size_t>(t);
    const double f = t - static_cast<double>(k);
    const double lo = kSigmoidGrid.value[k], hi = kSigmoidGrid.value[k + 1];
    approx_ = bound * (lo + f * (hi - lo));
  }
}

template <typename TestOf>
void PoissonUnits::thinned(TestOf test_of, double bound, SpikeSlot& out) {
  if (thinned_bound_ != bound) {
    // First use (or a new bound): start the candidate process.
    if (scan_ == Scan::calendar) clear_calendar();
    for (std::size_t i = 0; i < stream_.size(); ++i) place(i, stream_[i].exponential(bound));
    thinned_bound_ = bound;
  }
  step([&](std::size_t i, double w) {
    auto test = test_of(i);
    std::uint16_t n = 0;
    Stream& s = stream_[i];
    do {
      if (test.keep(s.uniform() * bound)) ++n;  // keep the candidate with probability rate / bound
      w += s.exponential(bound);
    } while (w < 1.0);
    if (n > 0) {
      out.unit.push_back(static_cast<std::uint32_t>(i));
      out.count.push_back(n);
    }
    return w;
  });
}

void PoissonUnits::step_thinned(std::span<const double> rate, double bound, SpikeSlot& out) {
  struct Below {
    double rate;
    bool keep(double u_bound) const { return u_bound < rate; }
  };
  thinned([&](std::size_t i) { return Below{rate[i]}; }, bound, out);
}

void PoissonUnits::step_thinned_soma(std::span<const double> soma, double bound, SpikeSlot& out) {
  // The same expression as the layer's rate, lambda_max sigma(soma), evaluated for candidates only.
  thinned([&](std::size_t i) { return ThinningTest(soma[i], bound); }, bound, out);
}

std::vector<std::uint64_t> PoissonUnits::positions() const {
  std::vector<std::uint64_t> pos(stream_.size());
  for (std::size_t i = 0; i < stream_.size(); ++i) pos[i] = stream_[i].position();
  return pos;
}

std::vector<double> PoissonUnits::waits() const {
  if (scan_ == Scan::every) return wait_;
  std::vector<double> w(stream_.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = due_[i] == std::numeric_limits<std::uint64_t>::max() ? std::numeric_limits<double>::infinity()
                                                                : static_cast<double>(due_[i] - now_) + frac_[i];
  }
  return w;
}

void PoissonUnits::restore(std::span<const std::uint64_t> positions, std::span<const double> waits,
                           double thinned_bound) {
  if (positions.size() != stream_.size() || waits.size() != stream_.size()) {
    fail("checkpoint: spike generator state has {} streams, the network has {}", positions.size(), stream_.size());
  }
  for (std::size_t i = 0; i < stream_.size(); ++i) stream_[i].seek(positions[i]);
  if (scan_ == Scan::calendar) clear_calendar();
  for (std::size_t i = 0; i < stream_.size(); ++i) place(i, waits[i]);
  thinned_bound_ = thinned_bound;
}

// ---------------------------------------------------------------------------------------------------------------
// State

SimState::SimState(const Params& p) {
  const int k = p.kernel_steps;
  input.spikes = SpikeHistory(k);
  const bool exact = p.kernel == KernelKind::exact;
  if (exact) {
    input.trace_L.assign(sz(p.n_input), 0.0);
    input.trace_s.assign(sz(p.n_input), 0.0);
  }
  pop.resize(p.layers.size());
  layer.resize(p.layers.size());
  for (std::size_t m = 0; m < p.layers.size(); ++m) {
    const auto n = sz(p.layers[m]);
    pop[m].spikes = SpikeHistory(k);
    if (exact) {
      pop[m].trace_L.assign(n, 0.0);
      pop[m].trace_s.assign(n, 0.0);
    }
    LayerState& L = layer[m];
    L.basal.assign(n, 0.0);
    L.soma.assign(n, 0.0);
    L.rate.assign(n, 0.0);
    if (m + 1 < p.layers.size()) {
      L.apical.assign(n, 0.0);
      L.feedback.assign(sz(p.n_feedback(static_cast<int>(m))), 0.0);
    }
    L.drive.assign(exact ? 0 : sz(k), std::vector<double>(n, 0.0));
    L.drive_head = 0;
  }
  psp_out.assign(sz(p.n_output()), 0.0);
  rate_out.assign(sz(p.n_output()), 0.0);
  input_rate.assign(sz(p.n_input), 0.0);
}

void SimState::reset() {
  auto zero = [](std::vector<double>& v) { std::fill(v.begin(), v.end(), 0.0); };
  input.spikes.clear();
  zero(input.trace_L);
  zero(input.trace_s);
  for (auto& p : pop) {
    p.spikes.clear();
    zero(p.trace_L);
    zero(p.trace_s);
  }
  for (auto& L : layer) {
    zero(L.basal);
    zero(L.apical);
    zero(L.feedback);
    zero(L.soma);
    zero(L.rate);
    for (auto& d : L.drive) zero(d);
    L.drive_head = 0;
  }
  zero(psp_out);
  zero(rate_out);
}

// ---------------------------------------------------------------------------------------------------------------
// Network

Network::Network(Params params, Weights weights, std::uint64_t seed)
    : params_(std::move(params)), derived_(params_), weights_(std::move(weights)), seed_(seed), state_(params_) {
  params_.validate();
  if (weights_.layers.size() != params_.layers.size()) {
    fail("weights have {} layers but model.layers has {}", weights_.layers.size(), params_.layers.size());
  }
  for (int m = 0; m < params_.n_layers(); ++m) {
    const LayerWeights& L = weights_.layers[sz(m)];
    if (L.n_post != params_.layers[sz(m)] || L.n_pre != params_.n_pre(m)) {
      fail("weights of layer {} are {}x{} but the model needs {}x{}", m, L.n_post, L.n_pre, params_.layers[sz(m)],
           params_.n_pre(m));
    }
  }
  if (params_.mode == Mode::spiking) {
    state_.input.generator.open(seed_, "spikes.train", 0, 0, 0, params_.n_input);
    for (int m = 0; m < params_.n_layers(); ++m) {
      state_.pop[sz(m)].generator.open(seed_, "spikes.train", 0, 0, static_cast<std::uint64_t>(m + 1),
                                       params_.layers[sz(m)]);
    }
  }
}

void Network::open_test_generators(SimState& state, const std::string& stream, std::uint64_t pass,
                                   std::uint64_t image) const {
  if (params_.mode != Mode::spiking) return;
  state.input.generator.open(seed_, stream, pass, image, 0, params_.n_input);
  for (int m = 0; m < params_.n_layers(); ++m) {
    state.pop[sz(m)].generator.open(seed_, stream, pass, image, static_cast<std::uint64_t>(m + 1),
                                    params_.layers[sz(m)]);
  }
}

ExampleSchedule Network::draw_schedule(std::uint64_t epoch, std::uint64_t position) const {
  ExampleSchedule sch;
  if (params_.mode == Mode::nonspiking) {
    sch.forward_steps = sch.target_steps = 2;  // A.16
    return sch;
  }
  sch.forward_steps = sch.target_steps = params_.phase_min_steps;
  if (params_.random_phase_lengths) {
    // A.7: 50 + floor(Wald(mean 2, shape 1)), forward and target drawn independently.
    Stream s(seed_, "phase", epoch, position);
    sch.forward_steps += static_cast<int>(std::floor(s.wald(params_.phase_extra_mean, params_.phase_extra_shape)));
    sch.target_steps += static_cast<int>(std::floor(s.wald(params_.phase_extra_mean, params_.phase_extra_shape)));
  }
  if (params_.plateau != PlateauTiming::synchronous) {
    Stream s(seed_, "plateau", epoch, position);
    const bool code = params_.plateau == PlateauTiming::stochastic_code;
    sch.offset_window = code ? params_.window_steps : params_.settle_steps;
    auto draw = [&](std::vector<std::vector<int>>& out) {
      out.resize(sz(params_.n_layers() - 1));
      for (int m = 0; m + 1 < params_.n_layers(); ++m) {
        auto& v = out[sz(m)];
        v.resize(sz(params_.layers[sz(m)]));
        for (auto& d : v) {
          if (code) {
            // Section 5.1 (code): min(|trunc(N(0, SD 3))|, 5), truncation toward zero before the fold.
            d = std::min(std::abs(static_cast<int>(std::trunc(3.0 * s.normal()))), 5);
          } else {
            // Paper: folded normal with variance 3, truncated (redrawn) above 5, whole steps before phase end.
            double x = 0;
            do x = std::abs(std::sqrt(3.0) * s.normal());
            while (x > 5.0);
            d = static_cast<int>(std::floor(x));
          }
        }
      }
    };
    draw(sch.forward_offset);
    draw(sch.target_offset);
  }
  return sch;
}

void Network::present(SimState& s, std::span<const double> pixels) const {
  if (pixels.size() != sz(params_.n_input)) {
    fail("image has {} pixels but the network has {} inputs", pixels.size(), params_.n_input);
  }
  for (std::size_t j = 0; j < pixels.size(); ++j) s.input_rate[j] = params_.lambda_max * pixels[j];
  if (params_.mode == Mode::spiking) s.input.generator.start_constant(s.input_rate);
}

void Network::population_psp(const PopulationState& pop, std::span<double> out) const {
  // s_j(t) = sum_{d=1..K} kappa(d) S_j(t - d + 1) [P Eq. 11; spec 2.1], or the exact kernel from its traces.
  if (params_.kernel == KernelKind::exact) {
    const double inv = 1.0 / (params_.tau_L - params_.tau_s);
    for (std::size_t j = 0; j < out.size(); ++j) out[j] = (pop.trace_L[j] - pop.trace_s[j]) * inv;
    return;
  }
  std::fill(out.begin(), out.end(), 0.0);
  for (int d = 1; d <= pop.spikes.depth(); ++d) {
    const SpikeSlot& slot = pop.spikes.slot(d);
    const double kd = derived_.kappa[sz(d - 1)];
    for (std::size_t e = 0; e < slot.size(); ++e) out[slot.unit[e]] += kd * static_cast<double>(slot.count[e]);
  }
}

void Network::layer_drive(SimState& s, int m, const PopulationState& pre, std::span<double> out) const {
  const LayerWeights& w = weights_.layers[sz(m)];
  const auto n_post = sz(w.n_post);
  LayerState& L = s.layer[sz(m)];
  if (params_.kernel == KernelKind::exact) {
    // B = W s + b with s from the exact kernel's traces (dense; the exact kernel is a switch, not the fast path).
    const double inv = 1.0 / (params_.tau_L - params_.tau_s);
    std::fill(out.begin(), out.end(), 0.0);
    for (int j = 0; j < w.n_pre; ++j) {
      const double sj = (pre.trace_L[sz(j)] - pre.trace_s[sz(j)]) * inv;
      if (sj == 0.0) continue;
      const double* col = &w.W[sz(j) * n_post];
      for (std::size_t i = 0; i < n_post; ++i) out[i] += col[i] * sj;
    }
    for (std::size_t i = 0; i < n_post; ++i) out[i] += w.b[i];
    return;
  }
  // New per-delay drive W S(t) from this step's presynaptic spikes (event-driven).
  const int k = static_cast<int>(L.drive.size());
  L.drive_head = (L.drive_head + 1) % k;
  drive_of_slot(w, pre.spikes.slot(1), L.drive[sz(L.drive_head)]);
  // B_i = sum_{d=1..K} kappa(d) (W S(t-d+1))_i + b_i, summed over d in ascending order for every i.
  std::fill(out.begin(), out.end(), 0.0);
  for (int d = 1; d <= k; ++d) {
    const double* drive = L.drive[sz(((L.drive_head - (d - 1)) % k + k) % k)].data();
    kernels::add_scaled(out.data(), drive, derived_.kappa[sz(d - 1)], n_post);
  }
  kernels::add(out.data(), w.b.data(), n_post);
}

void Network::hidden_step(SimState& s, int m, const PopulationState& pre) const {
  // The truncated-kernel dendrite of layer_drive and the soma update of step_spiking, fused (same operations).
  const LayerWeights& w = weights_.layers[sz(m)];
  LayerState& L = s.layer[sz(m)];
  const auto n_post = sz(w.n_post);
  const int k = static_cast<int>(L.drive.size());
  L.drive_head = (L.drive_head + 1) % k;
  const SpikeSlot& slot = pre.spikes.slot(1);
  L.step_cols.clear();
  L.step_counts.clear();
  for (std::size_t e = 0; e < slot.size(); ++e) {
    L.step_cols.push_back(&w.W[static_cast<std::size_t>(slot.unit[e]) * n_post]);
    L.step_counts.push_back(static_cast<double>(slot.count[e]));
  }
  L.ring_by_delay.resize(sz(k));
  for (int d = 1; d <= k; ++d)
    L.ring_by_delay[sz(d - 1)] = L.drive[sz(((L.drive_head - (d - 1)) % k + k) % k)].data();
  const Params& p = params_;
  kernels::hidden_step({L.step_cols.data(), L.step_counts.data(), L.step_cols.size(), L.ring_by_delay.data(),
                        derived_.kappa.data(), sz(k), w.b.data(), L.apical.data(), p.dt, p.g_L, p.g_B, p.g_A,
                        L.basal.data(), L.soma.data(), n_post});
}

void Network::rebuild_drives(SimState& state) const {
  if (params_.kernel == KernelKind::exact || params_.mode != Mode::spiking) return;
  for (int m = 0; m < params_.n_layers(); ++m) {
    const LayerWeights& w = weights_.layers[sz(m)];
    const PopulationState& pre = m == 0 ? state.input : state.pop[sz(m - 1)];
    LayerState& L = state.layer[sz(m)];
    const int k = static_cast<int>(L.drive.size());
    for (int d = 1; d <= k; ++d) {
      drive_of_slot(w, pre.spikes.slot(d), L.drive[sz(((L.drive_head - (d - 1)) % k + k) % k)]);
    }
  }
}

void Network::apical_input(const LayerWeights& w, LayerState& L) {
  // A_i = sum_k Y_ik s_fb,k + c_i, k ascending.
  kernels::apical(w.Y.data(), L.feedback.data(), w.c.data(), L.apical.data(), L.apical.size(), L.feedback.size());
}

int Network::predicted_class(std::span<const double> output) const {
  // Mean over each class's neurons (one per class in the paper), then argmax; the first on ties.
  const int k = params_.neurons_per_class;
  int best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < params_.n_classes(); ++c) {
    double sum = 0.0;
    for (int j = 0; j < k; ++j) sum += output[sz(c * k + j)];
    const double value = sum / k;
    if (value > best_value) {
      best_value = value;
      best = c;
    }
  }
  return best;
}

void Network::step_spiking(SimState& s, int label, bool teach, bool record) const {
  // Spec 2.4: input spikes, then each layer bottom-up: dendrites, soma, rate, spikes. Hidden layers see the
  // output layer's PSP as it stood after the previous step (one-step feedback lag); each layer sees the spikes
  // its presynaptic layer emitted in this step (no feedforward lag).
  const Params& p = params_;
  const int n_layers = p.n_layers();
  const bool exact = p.kernel == KernelKind::exact;
  auto update_traces = [&](PopulationState& pop) {
    if (!exact) return;
    // x(t) = decay (x(t-1) + S(t)), so that x(t) = sum_{d>=1} exp(-d dt / tau) S(t - d + 1).
    const SpikeSlot& slot = pop.spikes.slot(1);
    for (std::size_t e = 0; e < slot.size(); ++e) {
      pop.trace_L[slot.unit[e]] += slot.count[e];
      pop.trace_s[slot.unit[e]] += slot.count[e];
    }
    for (std::size_t j = 0; j < pop.trace_L.size(); ++j) {
      pop.trace_L[j] *= derived_.decay_L;
      pop.trace_s[j] *= derived_.decay_s;
    }
  };

  SpikeSlot& in = s.input.spikes.push();
  s.input.generator.step_constant(in);
  for (auto c : in.count) s.input.spike_total += c;
  update_traces(s.input);

  for (int m = 0; m < n_layers; ++m) {
    const PopulationState& pre = m == 0 ? s.input : s.pop[sz(m - 1)];
    LayerState& L = s.layer[sz(m)];
    const LayerWeights& w = weights_.layers[sz(m)];
    const auto n = sz(w.n_post);
    const bool fused = !exact && m + 1 < n_layers;  // hidden layer: dendrite and soma in one pass (below)
    if (!fused) layer_drive(s, m, pre, L.basal);
    if (m + 1 < n_layers) {
      // Apical: A = Y s_fb + c [P Eq. 2, 13]; s_fb is the output layer's PSP after the previous step (or its
      // rates, Fig 7A), or, with layer-to-layer feedback, that of the layer above (not yet updated this step).
      // The averages need only the feedback signal (A-bar = Y s-bar_fb + c, run_phase), so with g_A = 0, where
      // the apical potential does not act on the soma, s_fb is taken only in the steps whose value is read
      // (averaging windows, stochastic plateaus) and A itself never. Skipped values are never used.
      if (record || p.g_A != 0.0) {
        const bool from_output = p.feedback_routing == FeedbackRouting::broadcast || m + 2 == n_layers;
        if (p.feedback_signal == FeedbackSignal::spikes) {
          if (from_output)
            L.feedback = s.psp_out;
          else
            population_psp(s.pop[sz(m + 1)], L.feedback);
        } else {
          L.feedback = from_output ? s.rate_out : s.layer[sz(m + 1)].rate;
        }
        if (p.g_A != 0.0) apical_input(w, L);
      }
      // Soma [P Eq. 14; spec 2.2]: C <- C + dt (-g_L C + g_B (B - C) + g_A (A - C)).
      if (fused) {
        hidden_step(s, m, pre);
      } else {
        for (std::size_t i = 0; i < n; ++i) {
          const double c = L.soma[i];
          L.soma[i] = c + p.dt * (-p.g_L * c + p.g_B * (L.basal[i] - c) + p.g_A * (L.apical[i] - c));
        }
      }
    } else {
      // Output soma [P Eq. 18-20]: U <- U + dt (-g_L U + g_D (V - U) + I), with the teaching current
      // I = g_E (E_E - U) + g_I (E_I - U) in the target phase (g_E one-hot target, g_I = 1 - g_E).
      for (std::size_t i = 0; i < n; ++i) {
        const double u = L.soma[i];
        double current = 0.0;
        if (teach) {
          const double g_e = static_cast<int>(i) / p.neurons_per_class == label ? 1.0 : 0.0;
          const double g_i = 1.0 - g_e;
          current = g_e * (p.E_E - u) + g_i * (p.E_I - u);
        }
        L.soma[i] = u + p.dt * (-p.g_L * u + p.g_D * (L.basal[i] - u) + current);
      }
    }
    PopulationState& out = s.pop[sz(m)];
    SpikeSlot& slot = out.spikes.push();
    // Every rate of the output layer is read (feedback, loss); a hidden layer's rates only in the steps whose
    // values are read (`record`) or when they are the layer below's feedback (layer-to-layer rate feedback);
    // otherwise only neurons with a spike candidate need theirs, computed there by the same expression.
    const bool all_rates =
        record || m + 1 == n_layers ||
        (p.feedback_signal == FeedbackSignal::rates && p.feedback_routing == FeedbackRouting::layerwise);
    if (all_rates) {
      kernels::rates(L.soma.data(), L.rate.data(), p.lambda_max, n);  // lambda_max sigmoid(C), as the reference
      out.generator.step_thinned(L.rate, p.lambda_max, slot);
    } else {
      out.generator.step_thinned_soma(L.soma, p.lambda_max, slot);
    }
    for (auto c : slot.count) out.spike_total += c;
    update_traces(out);
  }
  population_psp(s.pop[sz(n_layers - 1)], s.psp_out);
  s.rate_out = s.layer[sz(n_layers - 1)].rate;
}

void Network::step_rate(SimState& s, int label, bool teach) const {
  // A.16: the authors' later non-spiking mode. No spikes, no PSPs, no conductance dynamics.
  const Params& p = params_;
  const int n_layers = p.n_layers();
  for (int m = 0; m < n_layers; ++m) {
    const std::vector<double>& pre = m == 0 ? s.input_rate : s.layer[sz(m - 1)].rate;
    LayerState& L = s.layer[sz(m)];
    const LayerWeights& w = weights_.layers[sz(m)];
    const auto n = sz(w.n_post);
    std::fill(L.basal.begin(), L.basal.end(), 0.0);
    for (int j = 0; j < w.n_pre; ++j) {
      const double r = pre[sz(j)];
      if (r == 0.0) continue;
      kernels::add_scaled(L.basal.data(), &w.W[sz(j) * n], r, n);
    }
    kernels::add(L.basal.data(), w.b.data(), n);
    if (m + 1 < n_layers) {
      const bool from_output = p.feedback_routing == FeedbackRouting::broadcast || m + 2 == n_layers;
      L.feedback = from_output ? s.rate_out : s.layer[sz(m + 1)].rate;  // previous step's rates
      apical_input(w, L);
      for (std::size_t i = 0; i < n; ++i) L.soma[i] = derived_.k_B * L.basal[i];  // C = k_B B
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        if (teach) {
          const double g_e = static_cast<int>(i) / p.neurons_per_class == label ? 1.0 : 0.0;
          const double g_i = 1.0 - g_e;
          L.soma[i] = (p.g_D * L.basal[i] + g_e * p.E_E + g_i * p.E_I) / (p.g_L + p.g_D + g_e + g_i);
        } else {
          L.soma[i] = derived_.k_D * L.basal[i];  // U = k_D V
        }
      }
    }
    kernels::rates(L.soma.data(), L.rate.data(), p.lambda_max, n);
  }
  s.rate_out = s.layer[sz(n_layers - 1)].rate;
}

void Network::run_phase(SimState& s, int steps, int label, bool teach, std::vector<LayerAverages>& avg,
                        const std::vector<std::vector<int>>* offsets, int offset_window) const {
  const Params& p = params_;
  const int n_layers = p.n_layers();
  const bool spiking = p.mode == Mode::spiking;
  const bool truncated = spiking && p.kernel == KernelKind::truncated;
  // Averaging window (spec 4.3): the last window_steps steps (code), from settle_steps on (paper), or the last
  // step (non-spiking mode).
  int first = steps - 1;
  if (spiking) first = p.window == WindowRule::code ? steps - p.window_steps : p.settle_steps;
  const int len = steps - first;

  avg.resize(sz(n_layers));
  std::vector<std::vector<double>> psp(sz(n_layers));  // PSP (or rate) of each layer's presynaptic population
  for (int m = 0; m < n_layers; ++m) {
    const auto n = sz(p.layers[sz(m)]);
    LayerAverages& a = avg[sz(m)];
    a.soma.assign(n, 0.0);
    a.rate.assign(n, 0.0);
    a.apical.assign(m + 1 < n_layers ? n : 0, 0.0);
    a.feedback.assign(m + 1 < n_layers ? sz(p.n_feedback(m)) : 0, 0.0);
    a.psp_pre.assign(sz(p.n_pre(m)), 0.0);
    if (!truncated) psp[sz(m)].assign(sz(p.n_pre(m)), 0.0);
  }
  // Stochastic plateaus average each neuron's A over its own steps: keep the last steps of the feedback signal.
  const int ring = offsets != nullptr ? offset_window + 5 : 0;
  std::vector<std::vector<std::vector<double>>> fb_hist;
  if (ring > 0) {
    fb_hist.resize(sz(n_layers - 1));
    for (int m = 0; m + 1 < n_layers; ++m) {
      fb_hist[sz(m)].assign(sz(ring), std::vector<double>(sz(p.n_feedback(m)), 0.0));
    }
  }
  // s-bar of the truncated kernel from the spikes themselves (window_psp_weight): a spike of step tau adds its
  // count times the sum of the kappa(t - tau + 1) of the window steps t it reaches.
  auto add_slot = [&](std::vector<double>& acc, const SpikeSlot& slot, double weight) {
    for (std::size_t e = 0; e < slot.size(); ++e) acc[slot.unit[e]] += static_cast<double>(slot.count[e]) * weight;
  };

  for (int t = 0; t < steps; ++t) {
    if (spiking)
      step_spiking(s, label, teach, t >= first || (ring > 0 && t >= steps - ring));
    else
      step_rate(s, label, teach);
    if (ring > 0) {
      for (int m = 0; m + 1 < n_layers; ++m) fb_hist[sz(m)][sz(t % ring)] = s.layer[sz(m)].feedback;
    }
    if (t < first) continue;
    for (int m = 0; m < n_layers; ++m) {
      LayerAverages& a = avg[sz(m)];
      const LayerState& L = s.layer[sz(m)];
      for (std::size_t i = 0; i < a.soma.size(); ++i) a.soma[i] += L.soma[i];
      for (std::size_t i = 0; i < a.rate.size(); ++i) a.rate[i] += L.rate[i];
      for (std::size_t k = 0; k < a.feedback.size(); ++k) a.feedback[k] += L.feedback[k];
      const PopulationState& pre_pop = m == 0 ? s.input : s.pop[sz(m - 1)];
      if (truncated) {
        const int k = pre_pop.spikes.depth();
        if (t == first) {
          for (int d = k; d >= 1; --d)  // the spikes of steps first - K + 1 .. first, oldest first
            add_slot(a.psp_pre, pre_pop.spikes.slot(d), window_psp_weight(derived_.kappa, d, d + len - 1));
        } else {
          add_slot(a.psp_pre, pre_pop.spikes.slot(1), window_psp_weight(derived_.kappa, 1, steps - t));
        }
        continue;
      }
      std::vector<double>& pre = psp[sz(m)];
      if (spiking)
        population_psp(pre_pop, pre);
      else
        pre = m == 0 ? s.input_rate : s.layer[sz(m - 1)].rate;
      for (std::size_t j = 0; j < pre.size(); ++j) a.psp_pre[j] += pre[j];
    }
  }
  const double n_avg = static_cast<double>(len);
  for (int m = 0; m < n_layers; ++m) {
    LayerAverages& a = avg[sz(m)];
    for (auto& v : a.soma) v /= n_avg;
    for (auto& v : a.rate) v /= n_avg;
    for (auto& v : a.feedback) v /= n_avg;
    for (auto& v : a.psp_pre) v /= n_avg;
    if (m + 1 == n_layers) continue;
    // A-bar = Y s-bar_fb + c: A is linear in s_fb, so its mean is that of s_fb mapped once.
    const LayerWeights& w = weights_.layers[sz(m)];
    const std::size_t n_fb = a.feedback.size();
    kernels::apical(w.Y.data(), a.feedback.data(), w.c.data(), a.apical.data(), a.apical.size(), n_fb);
    // Plateau potentials alpha = sigma(A-bar) [P Eq. 5, 21].
    a.plateau.resize(a.apical.size());
    if (ring == 0) {
      for (std::size_t i = 0; i < a.apical.size(); ++i) a.plateau[i] = sigmoid(a.apical[i]);
    } else {
      // Each neuron's A-bar over its own offset_window steps ending at its plateau step.
      const auto& offs = (*offsets)[sz(m)];
      std::vector<double> fb_mean(n_fb);
      double a_i = 0.0;
      for (std::size_t i = 0; i < a.apical.size(); ++i) {
        const int end = steps - 1 - offs[i];  // the neuron's plateau step
        std::fill(fb_mean.begin(), fb_mean.end(), 0.0);
        for (int t = end - offset_window + 1; t <= end; ++t) {
          const std::vector<double>& fb = fb_hist[sz(m)][sz(t % ring)];
          for (std::size_t k = 0; k < n_fb; ++k) fb_mean[k] += fb[k];
        }
        for (auto& v : fb_mean) v /= static_cast<double>(offset_window);
        kernels::apical(&w.Y[i * n_fb], fb_mean.data(), &w.c[i], &a_i, 1, n_fb);
        a.plateau[i] = sigmoid(a_i);
      }
    }
  }
}

void Network::update_weights(const std::vector<LayerAverages>& fwd, const std::vector<LayerAverages>& tgt,
                             ExampleTrace* trace) {
  // Spec 6.1-6.3, applied from the output layer down (6.5), so backprop errors use the updated W^{m+1}.
  const Params& p = params_;
  const int n_layers = p.n_layers();
  const double lm = p.lambda_max;
  std::vector<std::vector<double>> error(sz(n_layers)), error_bp(sz(n_layers));

  auto apply = [&](int m, const std::vector<double>& e, double eta, double big_p) {
    LayerWeights& w = weights_.layers[sz(m)];
    const auto n = sz(w.n_post);
    std::vector<double> coef(n);
    for (std::size_t i = 0; i < n; ++i) coef[i] = eta * big_p * e[i];
    const std::vector<double>& s_bar = fwd[sz(m)].psp_pre;
    // W <- W - eta P E s-bar^T ; b <- b - eta P E
    for (int j = 0; j < w.n_pre; ++j) {
      const double sj = s_bar[sz(j)];
      if (sj == 0.0) continue;
      kernels::sub_scaled(&w.W[sz(j) * n], coef.data(), sj, n);  // col[i] -= coef[i] * sj
    }
    for (std::size_t i = 0; i < n; ++i) w.b[i] -= coef[i];
  };

  {  // Output layer: E = -k_D lambda_max sigma'(U-bar^f) (lambda-bar^t - lambda_max sigma(U-bar^f)).
    const int m = n_layers - 1;
    const auto n = sz(p.layers[sz(m)]);
    error[sz(m)].resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double sg = sigmoid(fwd[sz(m)].soma[i]);
      error[sz(m)][i] = -derived_.k_D * lm * sg * (1.0 - sg) * (tgt[sz(m)].rate[i] - lm * sg);
    }
    require_finite(error[sz(m)], "the output error", m);
    error_bp[sz(m)] = error[sz(m)];
    apply(m, error[sz(m)], p.learning_rates[sz(m)], p.P_output);
  }
  for (int m = n_layers - 2; m >= 0; --m) {
    const auto n = sz(p.layers[sz(m)]);
    const LayerWeights& up = weights_.layers[sz(m + 1)];
    std::vector<double>& e = error[sz(m)];
    std::vector<double>& e_bp = error_bp[sz(m)];
    e.resize(n);
    e_bp.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double sg = sigmoid(fwd[sz(m)].soma[i]);
      const double gain = derived_.k_B * lm * sg * (1.0 - sg);
      // Local rule [P Eq. 33]: E = -k_B lambda_max sigma'(C-bar^f) (alpha^t - alpha^f).
      e[i] = -gain * (tgt[sz(m)].plateau[i] - fwd[sz(m)].plateau[i]);
      // Backprop (Fig 7): E_bp = ((W^{m+1})^T E_bp^{m+1}) k_B lambda_max sigma'(C-bar^f).
      double acc = 0.0;
      for (int k = 0; k < up.n_post; ++k) acc += up.w(k, static_cast<int>(i)) * error_bp[sz(m + 1)][sz(k)];
      e_bp[i] = acc * gain;
    }
    if (p.hidden_rule == HiddenRule::backprop) e = e_bp;
    require_finite(e, "the hidden error", m);
    apply(m, e, p.learning_rates[sz(m)], p.P_hidden);
  }
  if (p.feedback_learning_rate > 0) {
    // The code's unused "inverse loss" rule for Y (spec 6.4), applied literally:
    // E_inv = -(lambda_max sigma(C-bar^f) - alpha^f) sigma'(A-bar^f); Y <- Y - eta_b E_inv s-bar_fb^f^T.
    for (int m = n_layers - 2; m >= 0; --m) {
      LayerWeights& w = weights_.layers[sz(m)];
      const LayerAverages& f = fwd[sz(m)];
      const std::size_t n_fb = f.feedback.size();
      for (std::size_t i = 0; i < f.apical.size(); ++i) {
        const double sa = sigmoid(f.apical[i]);
        const double e_inv = -(lm * sigmoid(f.soma[i]) - f.plateau[i]) * sa * (1.0 - sa);
        const double coef = p.feedback_learning_rate * e_inv;
        for (std::size_t k = 0; k < n_fb; ++k) {
          if (!w.Y_mask.empty() && w.Y_mask[i * n_fb + k] == 0) continue;  // sparse entries stay zero
          w.Y[i * n_fb + k] -= coef * f.feedback[k];
        }
      }
    }
  }
  if (trace != nullptr) {
    trace->error = std::move(error);
    trace->error_bp = std::move(error_bp);
  }
}

ExampleOutcome Network::train_example(std::span<const double> pixels, int label, const ExampleSchedule& schedule,
                                      Stream* noise, ExampleTrace* trace) {
  const Params& p = params_;
  const int n_layers = p.n_layers();
  if (label < 0 || label >= p.n_classes()) {
    fail("label {} is out of range for an output layer of {} classes", label, p.n_classes());
  }
  present(state_, pixels);
  std::vector<LayerAverages> fwd, tgt;
  const auto* f_off = schedule.forward_offset.empty() ? nullptr : &schedule.forward_offset;
  const auto* t_off = schedule.target_offset.empty() ? nullptr : &schedule.target_offset;
  run_phase(state_, schedule.forward_steps, label, false, fwd, f_off, schedule.offset_window);
  run_phase(state_, schedule.target_steps, label, true, tgt, t_off, schedule.offset_window);

  for (int m = 0; m < n_layers; ++m) require_finite(fwd[sz(m)].soma, "the somatic voltage", m);

  ExampleOutcome out;
  const auto& u_f = fwd[sz(n_layers - 1)].soma;
  out.predicted = predicted_class(u_f);
  double loss = 0;
  for (std::size_t i = 0; i < u_f.size(); ++i) {
    const double diff = tgt[sz(n_layers - 1)].rate[i] - p.lambda_max * sigmoid(u_f[i]);
    loss += diff * diff;
  }
  out.loss = loss / static_cast<double>(u_f.size());
  out.mean_rate.resize(sz(n_layers));
  for (int m = 0; m < n_layers; ++m) {
    const auto& r = fwd[sz(m)].rate;
    out.mean_rate[sz(m)] = std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(r.size());
  }

  update_weights(fwd, tgt, trace);
  rebuild_drives(state_);  // the drive rings must reflect the new weights (exactness of the event-driven drive)
  if (p.feedback == FeedbackKind::symmetric) weights_.resync_feedback(p, noise);
  if (trace != nullptr) {
    trace->forward = std::move(fwd);
    trace->target = std::move(tgt);
  }
  return out;
}

int Network::classify(std::span<const double> pixels, SimState& s, std::vector<double>* mean_output,
                      std::vector<std::vector<double>>* layer_rates) const {
  const Params& p = params_;
  const int n_layers = p.n_layers();
  s.reset();
  present(s, pixels);
  const LayerState& out = s.layer[sz(n_layers - 1)];
  std::vector<double> sum(out.soma.size(), 0.0);
  if (layer_rates != nullptr) {
    layer_rates->resize(sz(n_layers));
    for (int m = 0; m < n_layers; ++m) (*layer_rates)[sz(m)].assign(s.layer[sz(m)].rate.size(), 0.0);
  }
  if (p.mode == Mode::spiking) {
    // Section 4.4: one forward phase of test_steps, averaging U over the steps after test_settle_steps.
    // A.11: the time average of the somatic voltage U (code, Methods), or of the rate (Results' wording).
    const std::vector<double>& readout = p.readout == Readout::voltage ? out.soma : out.rate;
    const double n_avg = static_cast<double>(p.test_steps - p.test_settle_steps);
    for (int t = 0; t < p.test_steps; ++t) {
      step_spiking(s, -1, false, /*record=*/layer_rates != nullptr);
      if (t < p.test_settle_steps) continue;
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += readout[i];
      if (layer_rates == nullptr) continue;
      for (int m = 0; m < n_layers; ++m) {
        auto& acc = (*layer_rates)[sz(m)];
        for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += s.layer[sz(m)].rate[i];
      }
    }
    for (auto& v : sum) v /= n_avg;
    if (layer_rates != nullptr) {
      for (auto& layer : *layer_rates) {
        for (auto& v : layer) v /= n_avg;
      }
    }
  } else {
    step_rate(s, -1, false);
    step_rate(s, -1, false);
    sum = p.readout == Readout::voltage ? out.soma : out.rate;
    if (layer_rates != nullptr) {
      for (int m = 0; m < n_layers; ++m) (*layer_rates)[sz(m)] = s.layer[sz(m)].rate;
    }
  }
  if (mean_output != nullptr) *mean_output = sum;
  return predicted_class(sum);
}

}  // namespace apical::segregated
