// SPDX-License-Identifier: Apache-2.0
#pragma once

// The segregated-dendrites network (Guerguiev et al. 2017): weights, simulation state, the time step of spec
// section 2.4, the two-phase training example of section 6.5, the weight updates of section 6 and the test
// procedure of section 4.4.
//
// Basal drive. The basal potential B = W s + b with s = sum_d kappa(d) S(t - d + 1) is computed by linearity as
// B = sum_d kappa(d) (W S(t - d + 1)) + b: each step adds one new per-delay drive vector W S(t) (built from the
// presynaptic spikes only) to a ring of K vectors, and the ring is rebuilt from the stored spike history after
// every weight update, so the result is exactly the same as recomputing all K products every step.
//
// Spikes. Each neuron's spikes come from its own counter-based random stream. Input unit j fires as a Poisson
// process of rate lambda_max * pixel_j, restarted at every example (exact, by memorylessness). Hidden and output
// neurons fire as a Poisson process of rate lambda_max thinned by lambda(t) / lambda_max in every step, so the
// count in a step is Poisson(lambda(t) dt) exactly, as in the paper, while random numbers are drawn only for the
// about lambda_max candidates per ms instead of for every neuron in every step.

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "apical/core/math.hpp"
#include "apical/core/rng.hpp"
#include "apical/models/segregated/params.hpp"

namespace apical::segregated {

/// Weights of one non-input layer m. W is stored column by column ("presynaptic-major"): W(i, j), the weight
/// from presynaptic unit j to neuron i, is W[j * n_post + i], so one presynaptic spike adds one contiguous column.
struct LayerWeights {
  int n_post = 0;
  int n_pre = 0;
  std::vector<double> W;             ///< n_pre x n_post, column-major view of the (n_post x n_pre) matrix
  std::vector<double> b;             ///< n_post biases
  std::vector<double> Y;             ///< hidden layers: n_post x n_feedback weights, row-major; empty for output
  std::vector<double> c;             ///< hidden layers: feedback bias (zeros unless Params::feedback_bias)
  std::vector<std::uint8_t> Y_mask;  ///< hidden layers with sparse feedback: 1 = kept entry; empty otherwise

  double w(int i, int j) const { return W[static_cast<std::size_t>(j) * n_post + i]; }
  double& w(int i, int j) { return W[static_cast<std::size_t>(j) * n_post + i]; }
};

struct Weights {
  std::vector<LayerWeights> layers;  ///< non-input layers, 0 = first hidden, last = output

  /// Section 8 initialisation (A.2, A.3 and the switches), from the seed's "init.*" streams.
  static Weights initialise(const Params& p, std::uint64_t seed);
  /// Symmetric feedback: Y^m = (W^{m+1})^T Y^{m+1} (Y^{M-1} = I), plus N(0, noise_sd) noise, then the sparse mask.
  void resync_feedback(const Params& p, Stream* noise);
};

/// Spike counts of one step, as (unit, count) pairs in ascending unit order.
struct SpikeSlot {
  std::vector<std::uint32_t> unit;
  std::vector<std::uint16_t> count;
  void clear() {
    unit.clear();
    count.clear();
  }
  std::size_t size() const { return unit.size(); }
};

/// The last K steps of a population's spikes. slot(1) is the current step, slot(K) the oldest kept.
class SpikeHistory {
 public:
  explicit SpikeHistory(int k = 10) : slots_(static_cast<std::size_t>(k)) {}
  SpikeSlot& push();  ///< starts a new step (drops the oldest) and returns its empty slot
  const SpikeSlot& slot(int d) const {
    const auto k = static_cast<int>(slots_.size());
    return slots_[static_cast<std::size_t>(((head_ - (d - 1)) % k + k) % k)];
  }
  int depth() const { return static_cast<int>(slots_.size()); }
  void clear();

 private:
  std::vector<SpikeSlot> slots_;
  int head_ = 0;
};

/// Poisson spike generators of one population, one random stream per unit (see the file comment).
class PoissonUnits {
 public:
  /// How a step finds the units with an event in it. Both give the same spikes and the same draws.
  enum class Scan {
    calendar,  ///< units are filed by the step of their next event (a ring of bit sets): ~events per step
    every,     ///< every unit's waiting time is looked at in every step (the simple form, used by the reference)
  };
  /// Creates n unit streams (seed, name, a, b, (population << 32) | unit).
  void open(std::uint64_t seed, const std::string& name, std::uint64_t a, std::uint64_t b,
            std::uint64_t population, int n, Scan scan = Scan::calendar);
  /// Inputs: constant rates for the coming steps (spikes/ms); draws fresh waiting times.
  void start_constant(std::span<const double> rate);
  /// Inputs: one step at the rates given to start_constant.
  void step_constant(SpikeSlot& out);
  /// Neurons: one step with rates rate[i] <= bound; a Poisson(bound) candidate process thinned by rate / bound.
  void step_thinned(std::span<const double> rate, double bound, SpikeSlot& out);
  /// The same, with rate[i] = bound * sigma(soma[i]) computed only for the neurons that have a candidate.
  void step_thinned_soma(std::span<const double> soma, double bound, SpikeSlot& out);

  /// Checkpoint state: stream positions and waiting times (ms to the next event, from the start of the step).
  std::vector<std::uint64_t> positions() const;
  std::vector<double> waits() const;
  double thinned_bound() const { return thinned_bound_; }
  void restore(std::span<const std::uint64_t> positions, std::span<const double> waits, double thinned_bound);

 private:
  /// One step of the thinned candidate process of step_thinned and step_thinned_soma; test_of(i) gives the test of
  /// neuron i's candidates (keep(u bound)). fire(i, w) of the constant or thinned process handles a unit whose
  /// event falls in this step.
  template <typename TestOf>
  void thinned(TestOf test_of, double bound, SpikeSlot& out);
  template <typename Fire>
  void step(Fire fire);
  /// Sets unit i's waiting time from the start of the coming step (w >= 0, or infinity: no event).
  void place(std::size_t i, double w);
  void file(std::size_t i);  ///< puts unit i into the calendar bucket of its event (or the farthest bucket)
  void clear_calendar();

  static constexpr std::uint64_t kHorizon = 64;  ///< calendar buckets (steps)
  Scan scan_ = Scan::calendar;
  std::vector<Stream> stream_;
  std::vector<double> wait_;  ///< Scan::every: waiting time from the start of the coming step
  // Scan::calendar: unit i's next event is in step due_[i] (counted like now_) at time frac_[i] in [0, 1) into it,
  // so its waiting time is (due_[i] - now_) + frac_[i], exactly the value Scan::every holds: subtracting 1 ms per
  // step from a waiting time >= 1 is exact in binary floating point.
  std::vector<std::uint64_t> due_;
  std::vector<double> frac_;
  std::vector<std::uint64_t>
      calendar_;  ///< kHorizon buckets of words_ 64-bit words: bit i = unit i is filed there
  std::size_t words_ = 0;
  std::uint64_t now_ = 0;  ///< steps taken since the waiting times were last set
  std::vector<double> const_rate_;
  std::vector<std::uint32_t> active_;  ///< units with a non-zero constant rate
  double thinned_bound_ = 0;           ///< bound of the candidate process (0 until first use)
};

/// Dynamic state of one population of the network (the input or a non-input layer).
struct PopulationState {
  SpikeHistory spikes;
  PoissonUnits generator;
  std::vector<double> trace_L, trace_s;  ///< exact kernel: sum_d exp(-d / tau) S(t - d + 1)
  std::uint64_t spike_total = 0;         ///< spikes emitted since the counter was last cleared (guard rails)
};

/// Dynamic state of one non-input layer.
struct LayerState {
  std::vector<double> basal;     ///< B (hidden) or V (output)
  std::vector<double> apical;    ///< A (hidden only)
  std::vector<double> feedback;  ///< the feedback signal into the apical compartment this step (hidden only)
  std::vector<double> soma;      ///< C (hidden) or U (output)
  std::vector<double> rate;      ///< lambda = lambda_max sigma(soma)
  std::vector<std::vector<double>> drive;  ///< ring of K per-delay drive vectors W S(t - d + 1)
  int drive_head = 0;
  // Scratch of the fused hidden-layer step (not state): this step's weight columns and counts, the ring by delay.
  std::vector<const double*> step_cols;
  std::vector<double> step_counts;
  std::vector<double*> ring_by_delay;
};

/// Time averages over one phase's averaging window (spec 4.3), per non-input layer.
struct LayerAverages {
  std::vector<double> soma;      ///< C-bar or U-bar
  std::vector<double> apical;    ///< A-bar (hidden)
  std::vector<double> feedback;  ///< mean feedback signal into the apical compartment (hidden)
  std::vector<double> rate;      ///< lambda-bar
  std::vector<double> psp_pre;   ///< s-bar of the presynaptic population
  std::vector<double> plateau;   ///< alpha = sigma(A-bar) (hidden)
};

/// Complete simulation state: everything that evolves in time, apart from the weights.
struct SimState {
  PopulationState input;
  std::vector<PopulationState> pop;  ///< non-input layers
  std::vector<LayerState> layer;
  std::vector<double> psp_out;     ///< output-layer PSP after the previous step (apical feedback source)
  std::vector<double> rate_out;    ///< output-layer rates after the previous step (rate feedback source)
  std::vector<double> input_rate;  ///< lambda_max * pixel of the current image

  SimState() = default;
  SimState(const Params& p);
  /// Zeroes voltages, rates, spike histories, drives and traces (spec 2.4: before each test image). Keeps the
  /// random streams.
  void reset();
};

/// Per-example schedule: phase lengths and, for stochastic plateaus, each hidden neuron's plateau offset.
struct ExampleSchedule {
  int forward_steps = 50;
  int target_steps = 50;
  std::vector<std::vector<int>>
      forward_offset;  ///< [hidden layer][neuron] steps before phase end; empty = synchronous
  std::vector<std::vector<int>> target_offset;
  int offset_window = 20;  ///< steps of apical average used by a stochastic plateau
};

/// What one training example produced (for metrics and analyses).
struct ExampleOutcome {
  int predicted = -1;  ///< argmax of U-bar in the forward phase (training error, as the code records it)
  double loss = 0;     ///< output loss: mean over units of (lambda-bar^t - lambda_max sigma(U-bar^f))^2
  std::vector<double>
      mean_rate;  ///< per layer: mean over neurons of lambda-bar in the forward phase (guard rails)
};

/// Optional detail of one training example for the analyses (Fig 5, 7).
struct ExampleTrace {
  std::vector<LayerAverages> forward, target;
  std::vector<std::vector<double>> error;  ///< E^m used in the update of each layer
  std::vector<std::vector<double>>
      error_bp;  ///< backprop error (W^{m+1})^T E^{m+1} k_B lambda_max sigma' per hidden layer
};

class Network {
 public:
  Network(Params params, Weights weights, std::uint64_t seed);

  const Params& params() const { return params_; }
  const Derived& derived() const { return derived_; }
  const Weights& weights() const { return weights_; }
  Weights& weights() { return weights_; }
  SimState& state() { return state_; }
  const SimState& state() const { return state_; }

  /// One training example: forward phase, target phase, plateaus, weight updates (section 6.5). The state
  /// carries over from the previous example. `noise` feeds the symmetric-feedback noise (may be null otherwise).
  ExampleOutcome train_example(std::span<const double> pixels, int label, const ExampleSchedule& schedule,
                               Stream* noise = nullptr, ExampleTrace* trace = nullptr);

  /// Classifies one image with the test procedure (section 4.4) in the given state, which is reset first.
  /// The state's generators must have been opened for this image (open_test_generators).
  /// `layer_rates` (optional) receives every layer's firing rates averaged over the same window (Fig 6C).
  int classify(std::span<const double> pixels, SimState& state, std::vector<double>* mean_output = nullptr,
               std::vector<std::vector<double>>* layer_rates = nullptr) const;
  /// Opens a state's spike generators for test image `image` of test pass (stream name, pass).
  void open_test_generators(SimState& state, const std::string& stream, std::uint64_t pass,
                            std::uint64_t image) const;

  /// The class of an output vector: argmax over classes of the mean of each class's neurons.
  int predicted_class(std::span<const double> output) const;

  /// Rebuilds every drive ring from the spike histories (after weights changed outside train_example).
  void rebuild_drives(SimState& state) const;

  /// Draws an example's schedule from the seed's "phase" and "plateau" streams for (epoch, position).
  ExampleSchedule draw_schedule(std::uint64_t epoch, std::uint64_t position) const;

  /// Shows an image: sets the input rates lambda_max * pixel and restarts the input spike processes.
  void present(SimState& s, std::span<const double> pixels) const;
  /// Runs one phase of `steps` steps without learning and returns its window averages and plateaus. `teach`
  /// turns on the output layer's teaching conductances for class `label`. `offsets` (stochastic plateaus): per
  /// hidden layer and neuron, the steps before the phase end at which its plateau is taken.
  void run_phase(SimState& s, int steps, int label, bool teach, std::vector<LayerAverages>& avg,
                 const std::vector<std::vector<int>>* offsets = nullptr, int offset_window = 20) const;

 private:
  /// One time step (spec 2.4). `record`: this step's apical potentials and hidden rates will be read (averaging
  /// windows, stochastic plateaus, activity); otherwise they are computed only where the dynamics need them.
  void step_spiking(SimState& s, int label, bool teach, bool record = true) const;
  void step_rate(SimState& s, int label, bool teach) const;
  static void apical_input(const LayerWeights& w, LayerState& L);
  void population_psp(const PopulationState& pop, std::span<double> out) const;
  void layer_drive(SimState& s, int m, const PopulationState& pre, std::span<double> out) const;
  void hidden_step(SimState& s, int m, const PopulationState& pre) const;
  void update_weights(const std::vector<LayerAverages>& fwd, const std::vector<LayerAverages>& tgt,
                      ExampleTrace* trace);

  Params params_;
  Derived derived_;
  Weights weights_;
  std::uint64_t seed_;
  SimState state_;
};

/// kappa(d_lo) + ... + kappa(d_hi) (1-based delays, at most K = kappa.size(), summed in ascending d from 0): the
/// weight of a spike of step tau in the window average of its PSP, where d_lo = max(1, first - tau + 1) and
/// d_hi = min(K, last - tau + 1) bound the window steps t = tau + d - 1 it reaches (spec 2.1, 4.3).
/// s-bar_j = (sum over the spikes of j in steps first - K + 1 .. last, in ascending step, of count * weight) / len
/// is then the mean over the window of the truncated-kernel PSP s_j(t) = sum_d kappa(d) S_j(t - d + 1).
inline double window_psp_weight(const std::vector<double>& kappa, int d_lo, int d_hi) {
  double w = 0.0;
  const int k = static_cast<int>(kappa.size());
  for (int d = d_lo; d <= d_hi && d <= k; ++d) w += kappa[static_cast<std::size_t>(d - 1)];
  return w;
}

/// The logistic function, with apical's own exponential (the same bits on every machine, and vectorisable:
/// kernels::rates computes the same expression for a whole layer).
__attribute__((always_inline)) inline double sigmoid(double x) {
  return 1.0 / (1.0 + math::exp(-x));
}

/// The thinning test of a spike candidate, u bound < bound sigmoid(x), decided without evaluating sigmoid(x)
/// whenever that is safe: a linear interpolation s~ of sigmoid on a grid of step h = 1/32 over [-16, 16] is within
/// h^2/8 max|sigmoid''| = 1.18e-5 of the true value, so when u bound lies more than 2e-5 bound from bound s~, the
/// comparison with bound sigmoid(x) (computed as above, to within 1e-15) has the same outcome. Otherwise (about
/// 4e-5 of candidates, and outside the grid) the exact rate is computed once and compared. The decisions are
/// therefore exactly those of the plain comparison.
class ThinningTest {
 public:
  ThinningTest(double x, double bound);
  /// Whether a candidate with u_bound = uniform() * bound is kept.
  bool keep(double u_bound) {
    const double gap = u_bound - approx_;
    if (std::abs(gap) > kMargin * bound_) return gap < 0;  // false for NaN (off the grid): exact path
    if (std::isnan(exact_)) exact_ = bound_ * sigmoid(x_);
    return u_bound < exact_;
  }
  static constexpr double kMargin = 2e-5;

 private:
  double x_, bound_, approx_, exact_;
};

}  // namespace apical::segregated
