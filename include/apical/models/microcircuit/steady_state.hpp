// SPDX-License-Identifier: Apache-2.0
#pragma once

// Closed-form steady states of the microcircuit's somatic potentials (spec 3.5) and the fixed point of the whole
// noise-free network for a constant input, found by iterating these closed forms (not by integrating the
// dynamics, so that tests can compare the two). Also the purely feedforward potentials u^- of spec 7.

#include "apical/models/microcircuit/network.hpp"

namespace apical::microcircuit {

/// Somatic potentials of pyramids (k = 1..N) and interneurons (hidden k), indexed as in State.
struct Potentials {
  std::vector<Vector> u_P;
  std::vector<Vector> u_I;
};

/// Hidden pyramid (spec 3.5): u = (g_B v_B + g_A v_A) / (g_lk + g_B + g_A) = vhat_B + lambda_A v_A.
Vector hidden_steady_state(const Params& p, const Vector& v_B, const Vector& v_A);
/// Output pyramid (spec 3.5): u = (g_B v_B + g_som u_target) / (g_lk + g_B + g_som)
/// = (1 - lambda_out) vhat_B + lambda_out u_target; u = g_B v_B / (g_lk + g_B) = vhat_B without a target
/// (u_target null). With conductance nudging and clipped conductances, the conductance-weighted mean instead.
Vector output_steady_state(const Params& p, const Vector& v_B, const Vector* u_target);
/// Interneuron (spec 3.5): u^I = (g_D v^I + g_som_int u^P_{k+1}) / (g_lk + g_D + g_som_int)
/// = (1 - lambda_I) vhat^I + lambda_I u^P_{k+1}.
Vector interneuron_steady_state(const Params& p, const Vector& v_I, const Vector& u_above);

/// The fixed point of the noise-free dynamics for constant input rates r_0 and an optional output target:
/// iterates the closed forms above (every population from the previous iterate's rates) until the largest
/// change is below `tolerance`. Throws apical::Error if it has not converged after max_iterations (strong
/// recurrent loops can have no stable fixed point, spec 6.1).
Potentials fixed_point(const Params& p, const Weights& w, const Vector& r_0, const Vector* u_target,
                       double tolerance = 1e-14, int max_iterations = 100000);

/// Spec 7: the purely feedforward network (lateral and top-down weights removed, no target): u^-_k = vhat_B,k
/// computed layer by layer from r^-_{k-1}, and for each hidden k the interneurons' prediction vhat^I_k.
Potentials feedforward(const Params& p, const Weights& w, const Vector& r_0);

/// Elementwise phi.
Vector apply(const Transfer& phi, const Vector& u);
/// Elementwise phi'.
Vector apply_derivative(const Transfer& phi, const Vector& u);

}  // namespace apical::microcircuit
