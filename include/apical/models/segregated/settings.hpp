// SPDX-License-Identifier: Apache-2.0
#pragma once

// The configuration surface of segregated-dendrites experiments: every option with its type, default, unit and
// doc (`apical config docs`), and the translation of a validated Config into ExperimentSettings.

#include "apical/config/config.hpp"
#include "apical/models/segregated/experiment.hpp"

namespace apical::segregated {

/// The declared options of a segregated-dendrites experiment (model.type: segregated).
const config::Schema& schema();

/// Settings from a validated config; cross-option checks (e.g. one learning rate per layer) name the keys.
ExperimentSettings settings_from_config(const config::Config& config);

}  // namespace apical::segregated
