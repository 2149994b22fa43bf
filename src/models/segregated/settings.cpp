// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/settings.hpp"

#include "apical/core/error.hpp"

namespace apical::segregated {
namespace {

config::Schema build_schema() {
  config::Schema s;
  const Params d;
  const ExperimentSettings e;
  const config::Bounds positive{.min = 0, .min_exclusive = true};
  const config::Bounds nonnegative{.min = 0};
  const config::Bounds at_least_one{.min = 1};

  s.add_string("name", "segregated", "run name: the run folder is runs/<name>-<timestamp>");
  s.add_int("seed", 1, "", "experiment seed: every random stream (weights, order, phases, spikes) derives from it",
            nonnegative);
  s.add_choice("model.type", "segregated", {"segregated"}, "model family: segregated = Guerguiev et al. 2017");

  // Model.
  s.add_choice("model.mode", "spiking", {"spiking", "nonspiking"},
               "spiking: the paper's model; nonspiking: the authors' later rate mode (spec A.16)");
  s.add_int_list("model.layers", {500, 10}, "neurons",
                 "sizes of the non-input layers, the last is the output layer: [10], [500, 10], [500, 100, 10]",
                 {.min = 1, .min_length = 1});
  s.add_int("model.neurons_per_class", d.neurons_per_class, "neurons",
            "output neurons per class (a code option; the paper uses 1): the output layer has 10 x this many",
            at_least_one);
  s.add_real("model.g_L", d.g_L, "1/ms", "leak conductance (tau = 1 / g_L = 10 ms)", positive);
  s.add_real("model.g_B", d.g_B, "1/ms", "basal dendrite -> soma conductance", nonnegative);
  s.add_real("model.g_A", d.g_A, "1/ms",
             "apical dendrite -> soma conductance: 0 total segregation, 0.05 strong, 0.6 weak attenuation (Fig 9)",
             nonnegative);
  s.add_real("model.g_D", d.g_D, "1/ms", "output dendrite -> soma conductance", nonnegative);
  s.add_real("model.E_E", d.E_E, "V", "excitatory reversal potential of the teaching input");
  s.add_real("model.E_I", d.E_I, "V", "inhibitory reversal potential of the teaching input");
  s.add_real("model.lambda_max", d.lambda_max, "spikes/ms", "maximum firing rate (0.2 = 200 Hz)", positive);
  s.add_choice("model.kernel", "truncated", {"truncated", "exact"},
               "PSP kernel: the code's 10-step kappa(1..10) (A.6) or the exact double exponential");
  s.add_real("model.tau_s", d.tau_s, "ms", "PSP rise time constant", positive);
  s.add_real("model.tau_L", d.tau_L, "ms", "PSP decay time constant", positive);
  s.add_int("model.kernel_steps", d.kernel_steps, "steps", "spike memory of the truncated kernel", {.min = 1, .max = 1000});
  s.add_choice("model.plateau", "synchronous", {"synchronous", "stochastic_code", "stochastic_paper"},
               "plateau timing: at phase end, or per-neuron random offsets (Fig 6S1; code or paper distribution)");
  s.add_choice("model.feedback", "random", {"random", "symmetric"},
               "feedback weights Y: fixed random, or re-synced to W^T after every example (Fig 8C,D)");
  s.add_choice("model.feedback_routing", "broadcast", {"broadcast", "layerwise"},
               "hidden layers get feedback from the output layer (broadcast, the paper) or from the layer above");
  s.add_real("model.symmetric_noise_sd", d.symmetric_noise_sd, "V",
             "SD of Gaussian noise added to symmetric Y at every re-sync (Fig 8D: 0.05)", nonnegative);
  s.add_real("model.feedback_sparsity", d.feedback_sparsity, "1",
             "fraction of feedback weights set to zero (Fig 8: 0.8)", {.min = 0, .max = 1, .max_exclusive = true});
  s.add_real("model.feedback_sparse_gain", d.feedback_sparse_gain, "1",
             "factor applied to the remaining feedback weights when sparse (Fig 8B: 5, Fig 8S1: 1 or 5)", positive);
  s.add_choice("model.feedback_signal", "spikes", {"spikes", "rates"},
               "apical input from filtered output spikes, or from the output rates directly (Fig 7A)");
  s.add_bool("model.feedback_bias", d.feedback_bias,
             "add the cited code's fixed apical bias c = Y r (A.1: off, the paper has none)");
  s.add_choice("model.hidden_rule", "local", {"local", "backprop"},
               "hidden-layer error: local plateau difference, or backpropagated W^T E (Fig 7B,C)");
  s.add_choice("model.weight_init", "cited", {"cited", "head"},
               "feedforward init: cited code (SD = W_sd, A.3) or later code (SD = 2 W_sd)");
  s.add_choice("model.feedback_init", "cited", {"cited", "head"},
               "feedback init: cited code (zero mean, product for deeper nets, A.2) or later code");

  // Initialisation (spec 8.2).
  s.add_real("init.V_avg", d.init_V_avg, "V", "desired mean dendritic potential", positive);
  s.add_real("init.V_sd", d.init_V_sd, "V", "desired SD of the dendritic potential", positive);
  s.add_real("init.b_avg", d.init_b_avg, "V", "mean initial bias");
  s.add_real("init.b_sd", d.init_b_sd, "V", "SD of the initial biases", nonnegative);

  // Phases.
  s.add_int("phases.min_steps", d.phase_min_steps, "steps", "minimum forward / target phase length (1 step = 1 ms)",
            {.min = 2});
  s.add_bool("phases.random_lengths", d.random_phase_lengths,
             "add floor(Wald(extra_mean, extra_shape)) steps to every phase (A.7)");
  s.add_real("phases.extra_mean", d.phase_extra_mean, "ms", "mean of the Wald-distributed extra length", positive);
  s.add_real("phases.extra_shape", d.phase_extra_shape, "ms", "shape of the Wald-distributed extra length", positive);
  s.add_choice("phases.window", "code", {"code", "paper"},
               "averaging window: the last window_steps steps (code, A.4) or from settle_steps to the end (paper)");
  s.add_int("phases.window_steps", d.window_steps, "steps", "window length for phases.window = code", at_least_one);
  s.add_int("phases.settle_steps", d.settle_steps, "steps",
            "settling time for phases.window = paper, and the stochastic_paper plateau window", nonnegative);

  // Training.
  s.add_real_list("training.learning_rates", d.learning_rates, "1",
                  "one per non-input layer, first hidden ... output (paper: [0.19]; [0.21, 0.21]; [0.23, 0.23, 0.12])",
                  {.min = 0, .min_exclusive = true, .min_length = 1});
  s.add_real("training.feedback_learning_rate", d.feedback_learning_rate, "1",
             "learn Y with the code's unused 'inverse loss' rule (spec 6.4); 0 = fixed Y as in the paper", nonnegative);
  s.add_real("training.P_hidden", d.P_hidden, "ms", "hidden error scale P_0 = 20 / lambda_max", positive);
  s.add_real("training.P_output", d.P_output, "ms^2", "output error scale P_1 = 20 / lambda_max^2", positive);
  s.add_int("training.epochs", e.epochs, "epochs", "passes over the training examples", nonnegative);
  s.add_int("training.examples_per_epoch", e.examples_per_epoch, "examples",
            "training examples per epoch (the first N of each epoch's order; 60000 = all)", at_least_one);
  s.add_bool("training.shuffle", e.shuffle, "shuffle the training set every epoch");
  s.add_bool("training.reset_after_test", e.reset_after_test,
             "zero the network state after every test pass before training goes on (as the authors' code)");
  s.add_int("training.checkpoint_every", e.checkpoint_every, "examples",
            "examples between checkpoints (one is always written at the end of every epoch); 0 = epoch ends only",
            nonnegative);
  s.add_int("training.stop_after", e.stop_after, "examples",
            "stop after this many examples with a checkpoint, to be continued by apical resume; 0 = never",
            nonnegative);
  s.add_bool("training.save_epoch_weights", e.save_epoch_weights, "write weights/epoch_N/ after every epoch");
  s.add_real("training.silent_rate", e.silent_rate, "1",
             "guard rail: stop if a layer's mean rate stays below this fraction of lambda_max for a whole epoch",
             nonnegative);
  s.add_real("training.saturated_rate", e.saturated_rate, "1",
             "guard rail: stop if a layer's mean rate stays above this fraction of lambda_max for a whole epoch",
             {.min = 0, .min_exclusive = true, .max = 1});

  // Testing.
  s.add_int("test.examples", e.test_examples, "images", "test images per full test (the first N; 10000 = all)",
            nonnegative);
  s.add_bool("test.initial", e.initial_test, "test the network before training (epoch 0)");
  s.add_int("test.steps", d.test_steps, "steps", "test phase length (A.5: 250; paper: 500)", at_least_one);
  s.add_int("test.settle_steps", d.test_settle_steps, "steps", "test averages start after this many steps",
            nonnegative);
  s.add_choice("test.readout", "voltage", {"voltage", "rate"},
               "class = argmax of the time-averaged output somatic voltage (code, A.11) or firing rate (Results)");
  s.add_int("test.quick_every", e.quick_test_every, "examples",
            "examples between quick tests on random test images (the code used 1000); 0 = none", nonnegative);
  s.add_int("test.quick_examples", e.quick_test_examples, "images", "images per quick test", at_least_one);
  s.add_int("test.threads", e.threads, "threads", "threads for test passes; 0 = all cores", nonnegative);

  // Analyses.
  s.add_bool("analysis.record_angles", e.record_angles,
             "Fig 7A: record the angle between the local and the backprop update of W^0 for every example "
             "(analysis/angles_epoch_N.csv)");

  s.add_bool("analysis.record_jacobian", e.record_jacobian,
             "Fig 5S1: record max eig (I - M)^T (I - M) of the Jacobians over the last 100 examples, both A.10 "
             "statistics (analysis/jacobian_epoch_N.csv, JbJg_*.npy); one hidden layer only");

  s.add_bool("analysis.record_losses", e.record_losses,
             "Fig 5B,C: after every epoch, hidden (L0) and output (L1) losses of every test image from forward and "
             "target phases without learning (analysis/losses_epoch_N.csv)");

  s.add_bool("analysis.record_activity", e.record_activity,
             "Fig 6C: after the last epoch, the test images' pixels and every layer's mean rates "
             "(analysis/activity_*.npy) for t-SNE");

  // Data.
  s.add_choice("data.dataset", e.dataset, {"mnist", "fashion-mnist"}, "data set (28x28 grey images, 10 classes)");
  s.add_choice("data.pixel_order", "row_major", {"row_major", "column_major"},
               "input unit order: row-major (the usual, A.17) or column-major (the authors' code; W^0 columns match theirs)");
  return s;
}

template <typename Enum>
Enum pick(const config::Config& c, const char* key, std::initializer_list<std::pair<const char*, Enum>> values) {
  const std::string& v = c.get_string(key);
  for (const auto& [name, value] : values) {
    if (v == name) return value;
  }
  fail("{}: {} = '{}' is not a valid choice", c.source(), key, v);
}

}  // namespace

const config::Schema& schema() {
  static const config::Schema s = build_schema();
  return s;
}

ExperimentSettings settings_from_config(const config::Config& c) {
  ExperimentSettings e;
  Params& p = e.params;
  e.name = c.get_string("name");
  e.seed = static_cast<std::uint64_t>(c.get_int("seed"));
  p.mode = pick<Mode>(c, "model.mode", {{"spiking", Mode::spiking}, {"nonspiking", Mode::nonspiking}});
  p.layers.clear();
  for (auto n : c.get_int_list("model.layers")) p.layers.push_back(static_cast<int>(n));
  p.neurons_per_class = static_cast<int>(c.get_int("model.neurons_per_class"));
  p.g_L = c.get_real("model.g_L");
  p.g_B = c.get_real("model.g_B");
  p.g_A = c.get_real("model.g_A");
  p.g_D = c.get_real("model.g_D");
  p.E_E = c.get_real("model.E_E");
  p.E_I = c.get_real("model.E_I");
  p.lambda_max = c.get_real("model.lambda_max");
  p.kernel = pick<KernelKind>(c, "model.kernel", {{"truncated", KernelKind::truncated}, {"exact", KernelKind::exact}});
  p.tau_s = c.get_real("model.tau_s");
  p.tau_L = c.get_real("model.tau_L");
  p.kernel_steps = static_cast<int>(c.get_int("model.kernel_steps"));
  p.plateau = pick<PlateauTiming>(c, "model.plateau",
                                  {{"synchronous", PlateauTiming::synchronous},
                                   {"stochastic_code", PlateauTiming::stochastic_code},
                                   {"stochastic_paper", PlateauTiming::stochastic_paper}});
  p.feedback = pick<FeedbackKind>(c, "model.feedback", {{"random", FeedbackKind::random}, {"symmetric", FeedbackKind::symmetric}});
  p.feedback_routing = pick<FeedbackRouting>(c, "model.feedback_routing",
                                             {{"broadcast", FeedbackRouting::broadcast},
                                              {"layerwise", FeedbackRouting::layerwise}});
  p.feedback_learning_rate = c.get_real("training.feedback_learning_rate");
  p.symmetric_noise_sd = c.get_real("model.symmetric_noise_sd");
  p.feedback_sparsity = c.get_real("model.feedback_sparsity");
  p.feedback_sparse_gain = c.get_real("model.feedback_sparse_gain");
  p.feedback_signal = pick<FeedbackSignal>(c, "model.feedback_signal",
                                           {{"spikes", FeedbackSignal::spikes}, {"rates", FeedbackSignal::rates}});
  p.feedback_bias = c.get_bool("model.feedback_bias");
  p.hidden_rule = pick<HiddenRule>(c, "model.hidden_rule", {{"local", HiddenRule::local}, {"backprop", HiddenRule::backprop}});
  p.weight_init = pick<InitScheme>(c, "model.weight_init", {{"cited", InitScheme::cited}, {"head", InitScheme::head}});
  p.feedback_init = pick<InitScheme>(c, "model.feedback_init", {{"cited", InitScheme::cited}, {"head", InitScheme::head}});
  p.init_V_avg = c.get_real("init.V_avg");
  p.init_V_sd = c.get_real("init.V_sd");
  p.init_b_avg = c.get_real("init.b_avg");
  p.init_b_sd = c.get_real("init.b_sd");
  p.phase_min_steps = static_cast<int>(c.get_int("phases.min_steps"));
  p.random_phase_lengths = c.get_bool("phases.random_lengths");
  p.phase_extra_mean = c.get_real("phases.extra_mean");
  p.phase_extra_shape = c.get_real("phases.extra_shape");
  p.window = pick<WindowRule>(c, "phases.window", {{"code", WindowRule::code}, {"paper", WindowRule::paper}});
  p.window_steps = static_cast<int>(c.get_int("phases.window_steps"));
  p.settle_steps = static_cast<int>(c.get_int("phases.settle_steps"));
  p.learning_rates = c.get_real_list("training.learning_rates");
  p.P_hidden = c.get_real("training.P_hidden");
  p.P_output = c.get_real("training.P_output");
  p.test_steps = static_cast<int>(c.get_int("test.steps"));
  p.test_settle_steps = static_cast<int>(c.get_int("test.settle_steps"));
  p.readout = pick<Readout>(c, "test.readout", {{"voltage", Readout::voltage}, {"rate", Readout::rate}});
  e.epochs = static_cast<int>(c.get_int("training.epochs"));
  e.examples_per_epoch = c.get_int("training.examples_per_epoch");
  e.shuffle = c.get_bool("training.shuffle");
  e.reset_after_test = c.get_bool("training.reset_after_test");
  e.checkpoint_every = c.get_int("training.checkpoint_every");
  e.stop_after = c.get_int("training.stop_after");
  e.save_epoch_weights = c.get_bool("training.save_epoch_weights");
  e.silent_rate = c.get_real("training.silent_rate");
  e.saturated_rate = c.get_real("training.saturated_rate");
  e.test_examples = c.get_int("test.examples");
  e.initial_test = c.get_bool("test.initial");
  e.quick_test_every = c.get_int("test.quick_every");
  e.quick_test_examples = c.get_int("test.quick_examples");
  e.threads = static_cast<int>(c.get_int("test.threads"));
  e.dataset = c.get_string("data.dataset");
  e.column_major_pixels = c.get_string("data.pixel_order") == "column_major";
  e.record_angles = c.get_bool("analysis.record_angles");
  e.record_jacobian = c.get_bool("analysis.record_jacobian");
  e.record_losses = c.get_bool("analysis.record_losses");
  e.record_activity = c.get_bool("analysis.record_activity");
  if (e.record_losses && p.n_layers() < 2) {
    fail("{}: analysis.record_losses needs a hidden layer, but model.layers = [{}] has none", c.source(),
         p.layers.back());
  }
  if (e.record_jacobian && (p.n_layers() != 2 || p.feedback_routing != FeedbackRouting::broadcast)) {
    fail("{}: analysis.record_jacobian is Theorem 1's condition for one hidden layer with broadcast feedback; "
         "model.layers has {} layers",
         c.source(), p.n_layers());
  }
  if (e.record_angles && p.n_layers() < 2) {
    fail("{}: analysis.record_angles needs a hidden layer, but model.layers = [{}] has none", c.source(),
         p.layers.back());
  }
  try {
    p.validate();
  } catch (const Error& err) {
    fail("{}: {}", c.source(), err.what());
  }
  return e;
}

}  // namespace apical::segregated
