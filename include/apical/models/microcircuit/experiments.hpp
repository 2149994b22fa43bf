// SPDX-License-Identifier: Apache-2.0
#pragma once

// Experiments of Sacramento et al. 2018 with the full dynamics, as library functions (the CLI and the reproduce
// command only call these and write their results).
//
// Fig 1 (spec 8.2): single-pattern association. A network in the self-predicting state sees one input pattern;
// a new teaching signal switched on at the output opens an apical error in the hidden layer, and plasticity of
// the bottom-up weights (with the interneurons tracking them) removes it while the output learns the target.

#include <cstdint>
#include <functional>
#include <vector>

#include "apical/models/microcircuit/network.hpp"

namespace apical::microcircuit {

/// How the network reaches the self-predicting state before the association starts.
enum class SelfPredictingStart {
  closed_form,  ///< W^IP, W^PI set by the closed form of spec 4.2 (exact, instant)
  learned,      ///< the Fig S1 protocol: random lateral weights learned on random patterns (spec 4.3)
};

/// Defaults of the Fig 1 association phase: 30-20-10 ([R-E, R-G, R-M]), sigma 0.1, the Fig 1 row of spec 5.3
/// (eta_up 0.0011875 / 0.0005, eta_ip 0.0011875, eta_pi 0.0005, top-down frozen), all weights U(-1, 1).
Params fig1_params();

struct Fig1Settings {
  Params params = fig1_params();  ///< network and learning rates of the association phase
  SelfPredictingStart start = SelfPredictingStart::closed_form;
  int pretrain_patterns = 1000;        ///< learned start: random U(0, 1) patterns of the S1 protocol
  double eta_ip_pretrain = 0.0002375;  ///< learned start: eta^IP of the S1 protocol
  double eta_pi_pretrain = 0.0005;     ///< learned start: eta^PI of the S1 protocol
  double baseline = 100;      ///< ms with the pattern but no target before the teaching signal is switched on
  double duration = 1500;     ///< ms of association with the target on (the Fig 1C time axis)
  double record_every = 1.0;  ///< ms between recorded samples
  double target_low = 0.0;    ///< target potentials ~ U(target_low, target_high)
  double target_high = 1.0;
};

/// Traces sampled every record_every ms from the start of the baseline (time 0) to the end.
struct Fig1Result {
  std::vector<double> time;              ///< ms
  std::vector<double> apical;            ///< ||v^P_{A,1}||
  std::vector<double> interneuron;       ///< ||u^P_2 - u^I_1||^2
  std::vector<double> output_error;      ///< ||u^P_2 - u_trgt||^2 (distance of the nudged output from the target)
  std::vector<double> prediction_error;  ///< ||vhat_B,2 - u_trgt||^2: what the output would be without the teacher
  double target_on = 0;                  ///< ms at which the target was switched on
  Weights initial, final;                ///< weights when the target was switched on, and at the end
};

/// Runs the Fig 1 protocol. Randomness: weights from `seed` (Weights::random), input pattern and target from the
/// stream "fig1.pattern", pre-training patterns from "fig1.pretrain", noise from the network's streams.
Fig1Result run_fig1(const Fig1Settings& settings, std::uint64_t seed);

// ---- Fig S1 (spec 4.3, 8.1): learning the self-predicting state -------------------------------------------------

/// Defaults of the S1 protocol: 30-20-10, sigma 0.1, only W^IP and W^PI plastic (eta 0.0002375 / 0.0005, spec
/// 5.3), all weights U(-1, 1), and the softplus (soft-ReLU with gamma = beta = 1, theta = 0; see the time-scale
/// note in docs/models/dendritic-microcircuits.md: with theta = 3 nothing visible is learned in this protocol).
Params s1_params();

struct S1Settings {
  Params params = s1_params();
  int patterns = 1000;       ///< random patterns of pattern_duration each, no target
  int probe_every = 20;      ///< patterns between probes
  int probe_patterns = 20;   ///< noise-free probe patterns (stream "s1.probe"), the same at every probe
  double input_low = 0.0;    ///< patterns ~ U(input_low, input_high) ([R-E, R-M]: U(0, 1))
  double input_high = 1.0;
};

/// Probed every probe_every patterns (and before the first), on the noise-free fixed points of the probe
/// patterns without a target: means over the probe patterns and hidden layers.
struct S1Result {
  std::vector<double> pattern;      ///< patterns presented so far
  std::vector<double> apical;       ///< ||v_A||
  std::vector<double> interneuron;  ///< ||u^P_{k+1} - u^I_k||^2
  std::vector<double> pi_error;     ///< ||W^PI_k + W^down_k|| / ||W^down_k|| (0 when self-predicting)
  std::vector<double> ip_error;     ///< ||W^IP_k - c_k W_{k+1}|| / ||c_k W_{k+1}|| (0 when self-predicting)
  Weights initial, final;
};

/// Randomness: weights from `seed` (Weights::random), patterns from "s1.patterns", probes from "s1.probe".
S1Result run_s1(const S1Settings& settings, std::uint64_t seed, const std::function<void(int)>& progress = {});

// ---- Fig 2 (spec 8.3): nonlinear regression, teacher and student ----------------------------------------------

struct Fig2Settings {
  Params params{};  ///< the student: Params' defaults are the Fig 2 values (30-50-10, soft-ReLU, sigma 0.3, rates)
  std::vector<int> teacher_layers = {30, 20, 10};
  double teacher_k_hidden = 2.0;  ///< k_{1,0}
  double teacher_k_out = 10.0;    ///< k_{2,1}
  std::int64_t trials = 100000;   ///< training patterns, pattern_duration each, plasticity always on
  std::int64_t test_every = 1000; ///< trials between tests
  int test_patterns = 50;         ///< unseen test patterns (stream "fig2.test"), noise-free, no target
  double input_low = -1.0;        ///< inputs ~ U(input_low, input_high): the paper's U(-1, 1) (decision 10.4)
  double input_high = 1.0;
  bool shallow = false;           ///< control: only the hidden -> output weights learn
};

struct Fig2Result {
  bool completed = true;           ///< false when stopped early by Fig2Control::stop (resumable)
  std::vector<double> trial;       ///< training trials so far
  std::vector<double> test_error;  ///< mean over the test patterns of ||r_N - r_trgt||^2 (sigma = 0, no target)
  std::vector<double> angle;       ///< degrees between W^PP_{2,1} and (W^PP_{1,2})^T (spec 7, decision 10.14)
  std::vector<double> apical;      ///< mean ||v_A|| of the hidden layer on the test patterns (self-prediction)
  Weights initial, final;
};

/// The teacher's output potential u_trgt = k_out W_2 phi(k_hidden W_1 r_0) for one input (teacher weights
/// U(-1, 1) from stream "teacher" (index layer), the student's transfer function).
Vector teacher_potential(const Fig2Settings& settings, std::uint64_t seed, const Vector& r_0);

/// Checkpoints of long Fig 2 runs (~10^7 trials): `save` is called every checkpoint_every trials (after the
/// trial's test, if any) and when `stop` returns true (polled after every trial; the run then returns early with
/// completed = false).
struct Fig2Control {
  std::int64_t checkpoint_every = 0;
  std::function<void(const Network& net, const Stream& train, std::int64_t trial, const Fig2Result& so_far)> save;
  std::function<bool()> stop;
};

/// Where a stopped Fig 2 run stands: the network (weights and complete dynamic state), the training-input
/// stream, the trials done and the tests so far.
struct Fig2Resume {
  Network net;
  Stream train;
  std::int64_t trial = 0;
  Fig2Result result;
};

/// Runs Fig 2 (or its shallow-learner control). Randomness: student weights from `seed` (Weights::random, not
/// self-predicting), teacher from "teacher", training inputs from "fig2.train", test inputs from "fig2.test".
/// With `resume`, continues that run exactly (bit for bit as if it had not stopped).
Fig2Result run_fig2(const Fig2Settings& settings, std::uint64_t seed,
                    const std::function<void(std::int64_t)>& progress = {}, const Fig2Control& control = {},
                    Fig2Resume* resume = nullptr);

}  // namespace apical::microcircuit
