// SPDX-License-Identifier: Apache-2.0
// The configuration surface of the two-sweep microcircuit (model.type: microcircuit) and of the rate-based
// baselines (model.type: baseline): every option with its type, default, unit and doc.
#include "apical/core/error.hpp"
#include "apical/models/microcircuit/sweep_experiment.hpp"

namespace apical::microcircuit {
namespace {

enum class Family { microcircuit, baseline };

config::Schema build_schema(Family family) {
  config::Schema s;
  const SweepParams d;
  const SweepSettings e;
  const config::Bounds nonnegative{.min = 0};
  const config::Bounds at_least_one{.min = 1};
  const config::Bounds mixing{.min = 0, .max = 1, .max_exclusive = true};
  const bool mc = family == Family::microcircuit;

  s.add_string("name", mc ? "microcircuit" : "baseline", "run name: the run folder is runs/<name>-<timestamp>");
  s.add_int("seed", 1, "", "experiment seed: initial weights and the training order derive from it", nonnegative);
  if (mc) {
    s.add_choice("model.type", "microcircuit", {"microcircuit"},
                 "model family: microcircuit = Sacramento et al. 2018, two-sweep steady state (spec 6.2)");
    s.add_choice("experiment", "mnist", {"mnist"},
                 "mnist: the two-sweep MNIST model (fig1, selfpredicting_s1, regression_fig2: the full dynamics, "
                 "another schema)");
  } else {
    s.add_choice("model.type", "baseline", {"baseline"},
                 "model family: baseline = rate network trained by model.rule on the same data and initial weights");
    s.add_choice("model.rule", "backprop", {"backprop", "fa", "dfa", "shallow"},
                 "backprop; fa = feedback alignment (feedback = the microcircuit's top-down weights); dfa = direct "
                 "feedback alignment; shallow = only the top layer learns");
  }
  s.add_int_list("model.layers", {784, 500, 500, 10}, "neurons",
                 "all layer sizes, input first: [784, 500, 500, 10] (paper), [784, 1000, 10], [784, 10]",
                 {.min = 1, .min_length = 2});
  if (mc) {
    s.add_choice("model.reading", "self_consistent", {"self_consistent", "literal"},
                 "two-sweep formulas: attenuated predictions (decision 10.9) or spec 6.2 as printed");
    s.add_real("model.lambda_out", d.lambda_out, "1", "output nudging mixing factor g_som / (g_B + g_som)", mixing);
    s.add_real("model.lambda_apical", d.lambda_A, "1", "hidden apical mixing factor g_A / (g_B + g_A)", mixing);
    s.add_real("model.lambda_interneuron", d.lambda_I, "1",
               "interneuron nudging mixing factor g_som,I / (g_D + g_som,I)", mixing);
  }

  s.add_real("init.up", d.init_up, "1", "bottom-up weights ~ U(-a, a), a = this / sqrt(fan-in)", nonnegative);
  s.add_real("init.down", d.init_down, "1",
             mc ? "top-down weights ~ U(-a, a), a = this / sqrt(n_{k+1})"
                : "FA feedback weights ~ U(-a, a), a = this / sqrt(n_{k+1}) (the microcircuit's top-down weights)",
             nonnegative);
  if (mc) {
    s.add_bool("init.self_predicting", d.self_predicting,
               "closed-form self-predicting W^IP, W^PI (spec 4.2); false = random (the 784-1000-10 run)");
    s.add_real("init.ip", d.init_ip, "1", "random W^IP ~ U(-a, a), a = this / sqrt(n_k)", nonnegative);
    s.add_real("init.pi", d.init_pi, "1", "random W^PI ~ U(-a, a), a = this / sqrt(n_{k+1})", nonnegative);
  } else {
    s.add_real("init.direct", d.init_direct, "1", "DFA matrices ~ U(-a, a), a = this / sqrt(n_N)", nonnegative);
  }

  s.add_real_list("plasticity.eta_up", mc ? d.eta_up : std::vector<double>{0.3, 0.3, 0.3}, "1",
                  mc ? "bottom-up learning rates per mini-batch, one per non-input layer (0 freezes a layer)"
                     : "learning rates per mini-batch, one per non-input layer (0 freezes a layer)",
                  {.min = 0, .min_length = 1});
  if (mc) {
    s.add_bool("plasticity.rescale", d.rescale,
               "divide eta_up by the error's dilution lambda_out prod(lambda_apical (1 - lambda_interneuron)) "
               "(the paper's inverse mixing factor)");
    s.add_real_list("plasticity.eta_ip", {}, "1",
                    "W^IP rates (Eq. 8), one per hidden layer; [] = the rate that tracks W_{k+1} to first order",
                    {.min = 0});
    s.add_real_list("plasticity.eta_pi", {}, "1", "W^PI rates (Eq. 9), one per hidden layer; [] = fixed",
                    {.min = 0});
    s.add_real_list("plasticity.eta_down", {}, "1",
                    "top-down rates (Eq. 10), one per hidden layer; [] = fixed", {.min = 0});
  }

  s.add_string("training.dataset", "mnist", "data set: mnist or fashion-mnist");
  s.add_int("training.epochs", e.epochs, "epochs", "passes over the training examples", nonnegative);
  s.add_int("training.batch_size", e.batch_size, "examples", "mini-batch size (the paper: 10)", at_least_one);
  s.add_int("training.train_examples", e.train_examples, "images",
            "training images: the first N of the training file (the paper: 55000)", at_least_one);
  s.add_int("training.validation_examples", e.validation_examples, "images",
            "validation images: the last N of the training file (the paper: 5000)", nonnegative);
  s.add_int("training.examples_per_epoch", e.examples_per_epoch, "examples",
            "training examples per epoch (the first N of each epoch's order); 0 = all", nonnegative);
  s.add_bool("training.shuffle", e.shuffle, "shuffle the training images every epoch");
  s.add_real("training.target_low", d.target_low, "1", "target rate of the wrong classes (paper: 0.1)",
             {.min = 0, .min_exclusive = true, .max = 1, .max_exclusive = true});
  s.add_real("training.target_high", d.target_high, "1", "target rate of the right class (paper: 0.8)",
             {.min = 0, .min_exclusive = true, .max = 1, .max_exclusive = true});
  s.add_int("training.checkpoint_every", e.checkpoint_every, "examples",
            "examples between checkpoints (one is always written at every epoch end); 0 = epoch ends only",
            nonnegative);
  s.add_int("training.stop_after", e.stop_after, "examples",
            "stop after this many examples with a checkpoint, to be continued by apical resume; 0 = never",
            nonnegative);
  s.add_bool("training.save_epoch_weights", e.save_epoch_weights, "write weights/epoch_N/ after every epoch");
  s.add_int("test.examples", e.test_examples, "images", "test images per test (the first N; 10000 = all)",
            nonnegative);
  return s;
}

std::vector<int> to_int(const std::vector<std::int64_t>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

const config::Schema& microcircuit_schema() {
  static const config::Schema s = build_schema(Family::microcircuit);
  return s;
}

const config::Schema& baseline_schema() {
  static const config::Schema s = build_schema(Family::baseline);
  return s;
}

SweepSettings sweep_settings_from_config(const config::Config& c) {
  SweepSettings st;
  const bool mc = c.get_string("model.type") == "microcircuit";
  st.name = c.get_string("name");
  st.seed = static_cast<std::uint64_t>(c.get_int("seed"));
  SweepParams& p = st.params;
  p.layers = to_int(c.get_int_list("model.layers"));
  p.rule = mc ? Rule::microcircuit : parse_rule(c.get_string("model.rule"));
  p.eta_up = c.get_real_list("plasticity.eta_up");
  p.init_up = c.get_real("init.up");
  p.init_down = c.get_real("init.down");
  if (mc) {
    p.reading = c.get_string("model.reading") == "literal" ? Reading::literal : Reading::self_consistent;
    p.lambda_out = c.get_real("model.lambda_out");
    p.lambda_A = c.get_real("model.lambda_apical");
    p.lambda_I = c.get_real("model.lambda_interneuron");
    p.self_predicting = c.get_bool("init.self_predicting");
    p.init_ip = c.get_real("init.ip");
    p.init_pi = c.get_real("init.pi");
    p.rescale = c.get_bool("plasticity.rescale");
    p.eta_ip = c.get_real_list("plasticity.eta_ip");
    p.eta_pi = c.get_real_list("plasticity.eta_pi");
    p.eta_down = c.get_real_list("plasticity.eta_down");
  } else {
    p.init_direct = c.get_real("init.direct");
  }
  p.target_low = c.get_real("training.target_low");
  p.target_high = c.get_real("training.target_high");
  st.dataset = c.get_string("training.dataset");
  st.epochs = static_cast<int>(c.get_int("training.epochs"));
  st.batch_size = static_cast<int>(c.get_int("training.batch_size"));
  st.train_examples = c.get_int("training.train_examples");
  st.validation_examples = c.get_int("training.validation_examples");
  st.examples_per_epoch = c.get_int("training.examples_per_epoch");
  st.shuffle = c.get_bool("training.shuffle");
  st.checkpoint_every = c.get_int("training.checkpoint_every");
  st.stop_after = c.get_int("training.stop_after");
  st.save_epoch_weights = c.get_bool("training.save_epoch_weights");
  st.test_examples = c.get_int("test.examples");
  if (p.layers.back() != 10) {
    fail("{}: model.layers ends in {}, but the data sets have 10 classes", c.source(), p.layers.back());
  }
  try {
    p.validate();
  } catch (const Error& err) {
    fail("{}: {}", c.source(), err.what());
  }
  return st;
}

}  // namespace apical::microcircuit
