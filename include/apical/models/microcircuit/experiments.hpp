// SPDX-License-Identifier: Apache-2.0
#pragma once

// Experiments of Sacramento et al. 2018 with the full dynamics, as library functions (the CLI and the reproduce
// command only call these and write their results).
//
// Fig 1 (spec 8.2): single-pattern association. A network in the self-predicting state sees one input pattern;
// a new teaching signal switched on at the output opens an apical error in the hidden layer, and plasticity of
// the bottom-up weights (with the interneurons tracking them) removes it while the output learns the target.

#include <cstdint>
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

}  // namespace apical::microcircuit
