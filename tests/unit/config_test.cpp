// SPDX-License-Identifier: Apache-2.0
// Tests of the strict configuration system: schema, YAML loading, overrides, extends, errors and round trips.
#include "apical/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "test_support.hpp"

namespace apical::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Schema test_schema() {
  Schema schema;
  schema.add_string("name", "experiment", "Name of the experiment.")
      .add_int("seed", 1, "", "Seed of every random stream.", {.min = 0})
      .add_choice("model.mode", "spiking", {"spiking", "nonspiking"}, "Neuron model.")
      .add_int_list("model.layers", {500, 10}, "neurons", "Neurons per layer, input excluded.",
                    {.min = 1, .min_length = 1})
      .add_real("model.g_A", 0.05, "mS", "Apical conductance.", {.min = 0})
      .add_bool("model.dropout", false, "Drop hidden neurons during training.")
      .add_real("model.tau", 10.0, "ms", "Membrane time constant.", {.min = 0, .min_exclusive = true, .max = 100})
      .add_real_list("training.learning_rates", {0.21, 0.21}, "1", "Learning rate per layer.",
                     {.min = 0, .min_exclusive = true})
      .add_int("training.epochs", 60, "epochs", "Training epochs.", {.min = 1, .max = 1000})
      .add_int("training.batch.size", 1, "examples", "Examples per update.", {.min = 1});
  return schema;
}

/// Runs `f`, expects an apical::Error, and returns its message.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected apical::Error";
  return "";
}

std::string load_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  const Schema schema = test_schema();
  return error_of([&] { (void)Config::from_string(schema, yaml, "exp.yaml", overrides); });
}

// ---- schema

TEST(Schema, RejectsProgrammingErrors) {
  Schema schema = test_schema();
  EXPECT_THAT(error_of([&] { schema.add_int("seed", 2, "", "again"); }), HasSubstr("'seed' is declared twice"));
  EXPECT_THAT(error_of([&] { schema.add_int("model", 2, "", "section"); }), HasSubstr("'model'"));
  EXPECT_THAT(error_of([&] { schema.add_int("seed.x", 2, "", "under option"); }), HasSubstr("'seed'"));
  EXPECT_THAT(error_of([&] { schema.add_real("x", -1.0, "", "bad default", {.min = 0}); }),
              HasSubstr("x = -1.0 is out of range"));
  EXPECT_THAT(error_of([&] { schema.add_choice("y", "c", {"a", "b"}, "bad default"); }), HasSubstr("'c'"));
  EXPECT_THAT(error_of([&] { schema.add_bool("extends", false, "reserved"); }), HasSubstr("reserved"));
  EXPECT_THAT(error_of([&] { schema.add_bool("a..b", false, "bad key"); }), HasSubstr("invalid option key"));
}

TEST(Schema, FindAndSections) {
  const Schema schema = test_schema();
  ASSERT_NE(schema.find("training.epochs"), nullptr);
  EXPECT_EQ(schema.find("training.epochs")->unit, "epochs");
  EXPECT_EQ(schema.find("training"), nullptr);
  EXPECT_TRUE(schema.is_section("training"));
  EXPECT_TRUE(schema.is_section("training.batch"));
  EXPECT_FALSE(schema.is_section("training.epochs"));
  EXPECT_FALSE(schema.is_section("train"));
}

TEST(Schema, NearestKeysUsesFullPathAndLastSegment) {
  const Schema schema = test_schema();
  EXPECT_THAT(schema.nearest_keys("training.learning_rate"), ::testing::ElementsAre("training.learning_rates"));
  EXPECT_THAT(schema.nearest_keys("training.learnign_rates"), ::testing::ElementsAre("training.learning_rates"));
  EXPECT_THAT(schema.nearest_keys("model.epochs"), ::testing::ElementsAre("training.epochs"));
  EXPECT_THAT(schema.nearest_keys("completely.unrelated"), ::testing::IsEmpty());
}

TEST(Schema, DocsListEveryKeyWithUnitDocAndRange) {
  const Schema schema = test_schema();
  const std::string docs = schema.docs();
  for (const auto& option : schema.options()) {
    EXPECT_THAT(docs, HasSubstr(option.key + ": ")) << option.key;
    EXPECT_THAT(docs, HasSubstr(option.doc)) << option.key;
    if (!option.unit.empty()) {
      EXPECT_THAT(docs, HasSubstr("[" + option.unit + "]")) << option.key;
    }
  }
  EXPECT_THAT(docs, HasSubstr("model.tau: real [ms] = 10.0; > 0 and <= 100"));
  EXPECT_THAT(docs, HasSubstr("model.mode: choice = spiking; one of spiking, nonspiking"));
  EXPECT_THAT(docs, HasSubstr("model.layers: int list [neurons] = [500, 10]; at least 1 element(s); each >= 1"));
  // Grouped by section, in order of first appearance.
  EXPECT_LT(docs.find("(top level)"), docs.find("\nmodel\n"));
  EXPECT_LT(docs.find("\nmodel\n"), docs.find("\ntraining\n"));
  EXPECT_LT(docs.find("\ntraining\n"), docs.find("\ntraining.batch\n"));
}

// ---- loading

TEST(Config, DefaultsAndEmptyFile) {
  const Schema schema = test_schema();
  const Config defaults = Config::defaults(schema);
  EXPECT_EQ(defaults.get_int("training.epochs"), 60);
  EXPECT_EQ(defaults.get_string("model.mode"), "spiking");
  EXPECT_FALSE(defaults.is_set("training.epochs"));

  test::TempDir dir("config-empty");
  test::write_text(dir / "empty.yaml", "");
  EXPECT_EQ(Config::load(schema, dir / "empty.yaml"), defaults);
  test::write_text(dir / "comments.yaml", "# nothing here\n");
  EXPECT_EQ(Config::load(schema, dir / "comments.yaml"), defaults);
}

TEST(Config, LoadsNestedAndDottedKeysOfEveryType) {
  const Schema schema = test_schema();
  test::TempDir dir("config-load");
  test::write_text(dir / "exp.yaml", R"(name: one_hidden
seed: 7
model:
  mode: nonspiking
  layers: [500, 100, 10]
  g_A: 1          # an integer is accepted for a real
  dropout: true
training:
  learning_rates:
    - 0.1
    - 2
training.batch.size: 16
)");
  const Config config = Config::load(schema, dir / "exp.yaml");
  EXPECT_EQ(config.get_string("name"), "one_hidden");
  EXPECT_EQ(config.get_int("seed"), 7);
  EXPECT_EQ(config.get_string("model.mode"), "nonspiking");
  EXPECT_EQ(config.get_int_list("model.layers"), (std::vector<std::int64_t>{500, 100, 10}));
  EXPECT_DOUBLE_EQ(config.get_real("model.g_A"), 1.0);
  EXPECT_TRUE(config.get_bool("model.dropout"));
  EXPECT_EQ(config.get_real_list("training.learning_rates"), (std::vector<double>{0.1, 2.0}));
  EXPECT_EQ(config.get_int("training.batch.size"), 16);
  EXPECT_EQ(config.get_int("training.epochs"), 60);
  EXPECT_TRUE(config.is_set("seed"));
  EXPECT_FALSE(config.is_set("training.epochs"));
  EXPECT_EQ(config.source(), (dir / "exp.yaml").string());
}

TEST(Config, TypedAccessMustMatchTheOptionType) {
  const Config config = Config::defaults(test_schema());
  EXPECT_THAT(error_of([&] { (void)config.get_real("training.epochs"); }),
              HasSubstr("get_real(\"training.epochs\"): the option is of type integer"));
  EXPECT_THAT(error_of([&] { (void)config.get_int("training.epoch"); }),
              HasSubstr("did you mean 'training.epochs'?"));
  EXPECT_EQ(config.get_string("model.mode"), "spiking");  // choice options are strings
}

TEST(ConfigErrors, MisspelledKeySuggestsTheNearest) {
  const std::string message = load_error("training:\n  learning_rate: [0.1, 0.1]\n");
  EXPECT_THAT(message, HasSubstr("exp.yaml:2:3"));
  EXPECT_THAT(message, HasSubstr("unknown key 'training.learning_rate'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'training.learning_rates'?"));
}

TEST(ConfigErrors, KeyInTheWrongSectionSuggestsTheRightOne) {
  const std::string message = load_error("model:\n  epochs: 3\n");
  EXPECT_THAT(message, HasSubstr("unknown key 'model.epochs'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'training.epochs'?"));
}

TEST(ConfigErrors, UnknownSection) {
  const std::string near = load_error("trainig:\n  epochs: 3\n");
  EXPECT_THAT(near, HasSubstr("exp.yaml:2:3"));
  EXPECT_THAT(near, HasSubstr("unknown key 'trainig.epochs' (there is no section 'trainig')"));
  EXPECT_THAT(near, HasSubstr("did you mean 'training.epochs'?"));
  const std::string far = load_error("optimizer:\n  momentum: 0.9\n");
  EXPECT_THAT(far, HasSubstr("unknown key 'optimizer.momentum' (there is no section 'optimizer')"));
  EXPECT_THAT(far, HasSubstr("valid top-level keys: name, seed, model, training"));
  EXPECT_THAT(load_error("trainig:\n"),
              HasSubstr("exp.yaml:1:1: unknown key 'trainig'; did you mean 'training'?"));
  EXPECT_THAT(load_error("trainig: {}\n"), HasSubstr("unknown key 'trainig'"));
  const std::string inside = load_error("model:\n  zzzzzz: 1\n");
  EXPECT_THAT(inside, HasSubstr("valid keys in 'model': mode, layers, g_A, dropout, tau"));
}

TEST(ConfigErrors, SectionAndValueConfused) {
  const std::string section_as_value = load_error("model: spiking\n");
  EXPECT_THAT(section_as_value, HasSubstr("exp.yaml:1:8"));
  EXPECT_THAT(section_as_value, HasSubstr("'model' is a section, not an option"));
  EXPECT_THAT(section_as_value, HasSubstr("got 'spiking'"));
  const std::string value_as_section = load_error("training:\n  epochs:\n    count: 3\n");
  EXPECT_THAT(value_as_section, HasSubstr("training.epochs: expected an integer, got a map"));
}

TEST(ConfigErrors, WrongTypeForEveryType) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"training:\n  epochs: ten\n", "exp.yaml:2:11: training.epochs: expected an integer, got 'ten'"},
      {"training:\n  epochs: 1.5\n", "training.epochs: expected an integer, got '1.5'"},
      {"training:\n  epochs: \"10\"\n", "training.epochs: expected an integer, got \"10\" (a quoted string)"},
      {"training:\n  epochs: 99999999999999999999\n", "beyond the 64-bit integer range"},
      {"training:\n  epochs: [1]\n", "training.epochs: expected an integer, got a list"},
      {"training:\n  epochs:\n", "training.epochs: expected an integer, got no value"},
      {"model:\n  g_A: fast\n", "model.g_A: expected a number, got 'fast'"},
      {"model:\n  g_A: 1e999\n", "model.g_A: expected a number, got '1e999' (beyond the range of a double)"},
      {"model:\n  dropout: yes\n", "model.dropout: expected a boolean (true or false), got 'yes'"},
      {"model:\n  dropout: 1\n", "model.dropout: expected a boolean (true or false), got '1'"},
      {"name: [a, b]\n", "name: expected a string, got a list"},
      {"model:\n  mode: {a: 1}\n", "model.mode: expected one of spiking, nonspiking, got a map"},
      {"model:\n  layers: 500\n", "model.layers: expected a list of integers, got '500'"},
      {"model:\n  layers: [500, 1.5]\n", "exp.yaml:2:17: model.layers[1]: expected an integer, got '1.5'"},
      {"training:\n  learning_rates: 0.1\n", "training.learning_rates: expected a list of numbers, got '0.1'"},
      {"training:\n  learning_rates: [0.1, x]\n", "training.learning_rates[1]: expected a number, got 'x'"},
      {"training:\n  learning_rates: [0.1, [1]]\n", "training.learning_rates[1]: expected a number, got a list"},
  };
  for (const auto& c : cases) EXPECT_THAT(load_error(c.yaml), HasSubstr(c.expected)) << c.yaml;
}

TEST(ConfigErrors, OutOfRange) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"seed: -1\n", "exp.yaml:1:7: seed = -1 is out of range: must be >= 0"},
      {"training:\n  epochs: 0\n", "training.epochs = 0 is out of range: must be >= 1 and <= 1000"},
      {"training:\n  epochs: 1001\n", "training.epochs = 1001 is out of range: must be >= 1 and <= 1000"},
      {"model:\n  tau: 0\n", "model.tau = 0.0 is out of range: must be > 0 and <= 100"},
      {"model:\n  tau: 100.5\n", "model.tau = 100.5 is out of range: must be > 0 and <= 100"},
      {"model:\n  g_A: -0.1\n", "model.g_A = -0.1 is out of range: must be >= 0"},
      {"model:\n  g_A: .nan\n", "model.g_A = .nan is not a finite number"},
      {"model:\n  g_A: .inf\n", "model.g_A = .inf is not a finite number"},
      {"model:\n  g_A: -.inf\n", "model.g_A = -.inf is not a finite number"},
      {"training:\n  learning_rates: [0.21, -0.2]\n",
       "training.learning_rates[1] = -0.2 is out of range: must be > 0"},
      {"training:\n  learning_rates: [0.21, 0]\n",
       "training.learning_rates[1] = 0.0 is out of range: must be > 0"},
      {"model:\n  layers: [500, 0]\n", "model.layers[1] = 0 is out of range: must be >= 1"},
      {"model:\n  layers: []\n", "model.layers: the list [] is too short: expected at least 1 element"},
  };
  for (const auto& c : cases) EXPECT_THAT(load_error(c.yaml), HasSubstr(c.expected)) << c.yaml;
  // Inclusive bounds are valid.
  const Schema schema = test_schema();
  const Config edge =
      Config::from_string(schema, "seed: 0\nmodel: {tau: 100, g_A: 0}\ntraining: {epochs: 1000}\n", "edge.yaml");
  EXPECT_EQ(edge.get_int("seed"), 0);
  EXPECT_DOUBLE_EQ(edge.get_real("model.tau"), 100.0);
}

TEST(ConfigErrors, BadChoiceListsTheValidOnesAndTheNearest) {
  const std::string message = load_error("model:\n  mode: spikng\n");
  EXPECT_THAT(message, HasSubstr("exp.yaml:2:9: model.mode: 'spikng' is not a valid choice"));
  EXPECT_THAT(message, HasSubstr("expected one of spiking, nonspiking (did you mean 'spiking'?)"));
}

TEST(ConfigErrors, DuplicateKeys) {
  EXPECT_THAT(load_error("seed: 1\nseed: 2\n"),
              HasSubstr("exp.yaml:2:1: duplicate key 'seed' (first given at line 1)"));
  EXPECT_THAT(load_error("training:\n  epochs: 1\ntraining.epochs: 2\n"),
              HasSubstr("exp.yaml:3:1: duplicate key 'training.epochs' (first given at line 2)"));
  EXPECT_THAT(load_error("model:\n  mode: spiking\nmodel:\n  g_A: 1\n"), HasSubstr("duplicate key 'model'"));
}

TEST(ConfigErrors, YamlSyntaxErrorNamesFileLineAndColumn) {
  const Schema schema = test_schema();
  test::TempDir dir("config-syntax");
  test::write_text(dir / "broken.yaml", "seed: 1\nmodel:\n  layers: [500, 10\n  mode: spiking\n");
  const std::string message = error_of([&] { (void)Config::load(schema, dir / "broken.yaml"); });
  EXPECT_THAT(message, HasSubstr("broken.yaml:"));
  EXPECT_THAT(message, HasSubstr("YAML syntax error"));
  EXPECT_THAT(error_of([&] { (void)Config::load(schema, dir / "missing.yaml"); }),
              HasSubstr("cannot read config file '" + (dir / "missing.yaml").string() + "'"));
  EXPECT_THAT(load_error("- 1\n- 2\n"), HasSubstr("exp.yaml:1:1: expected a map of options"));
  EXPECT_THAT(load_error("seed: 1\n---\nseed: 2\n"), HasSubstr("exp.yaml: holds 2 YAML documents"));
}

// ---- overrides

TEST(Overrides, EveryTypeIncludingLists) {
  const Schema schema = test_schema();
  const Config config =
      Config::from_string(schema, "", "exp.yaml",
                          {"name=run 3", "seed=5", "model.mode=nonspiking", "model.layers=[500,100,10]",
                           "model.g_A=0.5", "model.dropout=true", "training.learning_rates=[0.1, 1e-2, 3]",
                           "training.batch.size = 8", "model={tau: 20}"});
  EXPECT_EQ(config.get_string("name"), "run 3");
  EXPECT_EQ(config.get_int("seed"), 5);
  EXPECT_EQ(config.get_string("model.mode"), "nonspiking");
  EXPECT_EQ(config.get_int_list("model.layers"), (std::vector<std::int64_t>{500, 100, 10}));
  EXPECT_DOUBLE_EQ(config.get_real("model.g_A"), 0.5);
  EXPECT_TRUE(config.get_bool("model.dropout"));
  EXPECT_EQ(config.get_real_list("training.learning_rates"), (std::vector<double>{0.1, 0.01, 3.0}));
  EXPECT_EQ(config.get_int("training.batch.size"), 8);
  EXPECT_DOUBLE_EQ(config.get_real("model.tau"), 20.0);
  EXPECT_TRUE(config.is_set("model.layers"));
}

TEST(Overrides, TakePrecedenceOverTheFileAndApplyInOrder) {
  const Schema schema = test_schema();
  test::TempDir dir("config-override");
  test::write_text(dir / "exp.yaml", "training:\n  epochs: 60\nmodel:\n  layers: [500, 10]\n");
  const Config config =
      Config::load(schema, dir / "exp.yaml", {"training.epochs=1", "model.layers=[3]", "training.epochs=2"});
  EXPECT_EQ(config.get_int("training.epochs"), 2);
  EXPECT_EQ(config.get_int_list("model.layers"), (std::vector<std::int64_t>{3}));
}

TEST(Overrides, ErrorsNameTheOverride) {
  EXPECT_THAT(load_error("", {"training.epochs"}),
              HasSubstr("--set training.epochs: malformed override: expected key.path=value"));
  EXPECT_THAT(load_error("", {"=3"}), HasSubstr("--set =3: malformed override: the key before '=' is empty"));
  const std::string unknown = load_error("", {"training.epoch=3"});
  EXPECT_THAT(unknown, HasSubstr("--set training.epoch=3: unknown key 'training.epoch'"));
  EXPECT_THAT(unknown, HasSubstr("did you mean 'training.epochs'?"));
  EXPECT_THAT(load_error("", {"training.epochs=ten"}),
              HasSubstr("--set training.epochs=ten: training.epochs: expected an integer, got 'ten'"));
  EXPECT_THAT(
      load_error("", {"training.learning_rates=[0.1,-1]"}),
      HasSubstr("--set training.learning_rates=[0.1,-1]: training.learning_rates[1] = -1.0 is out of range"));
  EXPECT_THAT(load_error("", {"model.layers=[1,2"}),
              HasSubstr("--set model.layers=[1,2: the value is not valid YAML"));
  EXPECT_THAT(load_error("", {"extends=x.yaml"}), HasSubstr("'extends' can only be used"));
}

TEST(Overrides, SetUsesTheSameRules) {
  Config config = Config::defaults(test_schema());
  config.set("training.epochs", "12");
  EXPECT_EQ(config.get_int("training.epochs"), 12);
  EXPECT_TRUE(config.is_set("training.epochs"));
  EXPECT_THAT(error_of([&] { config.set("training.epochs", "0"); }),
              HasSubstr("training.epochs = 0 is out of range"));
  EXPECT_THAT(error_of([&] { config.set("training.epoch", "3"); }), HasSubstr("did you mean 'training.epochs'?"));
  EXPECT_EQ(config.get_int("training.epochs"), 12);  // unchanged by the failed set
  EXPECT_THAT(error_of([&] { config.set("training", "{epochs: 30, learning_rates: [-1]}"); }),
              HasSubstr("training.learning_rates[0] = -1.0 is out of range"));
  EXPECT_EQ(config.get_int("training.epochs"), 12);  // a failed section update changes nothing
}

// ---- extends

TEST(Extends, OverlaysRecursivelyRelativeToTheExtendingFile) {
  const Schema schema = test_schema();
  test::TempDir dir("config-extends");
  std::filesystem::create_directories(dir / "base");
  test::write_text(dir / "base" / "root.yaml", "seed: 3\nmodel:\n  g_A: 0.2\n  layers: [100, 10]\n");
  test::write_text(dir / "base" / "mid.yaml", "extends: root.yaml\nmodel:\n  g_A: 0.3\n");
  test::write_text(dir / "exp.yaml", "extends: base/mid.yaml\nmodel:\n  layers: [7]\n");
  const Config config = Config::load(schema, dir / "exp.yaml", {"seed=4"});
  EXPECT_EQ(config.get_int("seed"), 4);
  EXPECT_DOUBLE_EQ(config.get_real("model.g_A"), 0.3);
  EXPECT_EQ(config.get_int_list("model.layers"), (std::vector<std::int64_t>{7}));
  EXPECT_TRUE(config.is_set("model.g_A"));
  EXPECT_FALSE(config.is_set("training.epochs"));
}

TEST(Extends, ErrorsInTheBaseNameTheBaseFile) {
  const Schema schema = test_schema();
  test::TempDir dir("config-extends-error");
  test::write_text(dir / "base.yaml", "seed: 1\ntraining:\n  epocs: 3\n");
  test::write_text(dir / "exp.yaml", "extends: base.yaml\n");
  const std::string message = error_of([&] { (void)Config::load(schema, dir / "exp.yaml"); });
  EXPECT_THAT(message, HasSubstr((dir / "base.yaml").string() + ":3:3: unknown key 'training.epocs'"));
  test::write_text(dir / "missing.yaml", "extends: nowhere.yaml\n");
  EXPECT_THAT(error_of([&] { (void)Config::load(schema, dir / "missing.yaml"); }),
              HasSubstr("missing.yaml:1:10: extends: cannot read config file"));
  test::write_text(dir / "list.yaml", "extends: [a.yaml]\n");
  EXPECT_THAT(error_of([&] { (void)Config::load(schema, dir / "list.yaml"); }),
              HasSubstr("extends: expected the name of a YAML file"));
}

TEST(Extends, CycleIsAnErrorNamingTheChain) {
  const Schema schema = test_schema();
  test::TempDir dir("config-cycle");
  test::write_text(dir / "a.yaml", "extends: b.yaml\nseed: 1\n");
  test::write_text(dir / "b.yaml", "extends: a.yaml\nseed: 2\n");
  const std::string message = error_of([&] { (void)Config::load(schema, dir / "a.yaml"); });
  const std::string a = (dir / "a.yaml").string(), b = (dir / "b.yaml").string();
  EXPECT_THAT(message, HasSubstr("'extends' cycle: " + a + " -> " + b + " -> " + a));
  test::write_text(dir / "self.yaml", "extends: self.yaml\n");
  EXPECT_THAT(error_of([&] { (void)Config::load(schema, dir / "self.yaml"); }), HasSubstr("'extends' cycle"));
}

// ---- output

TEST(ToYaml, RoundTripsAndIsDeterministic) {
  const Schema schema = test_schema();
  test::TempDir dir("config-yaml");
  const Config config =
      Config::from_string(schema, "name: \"a: b # c\"\nmodel: {g_A: 1, layers: [3, 4]}\n", "exp.yaml",
                          {"training.learning_rates=[0.1, 1e-7, 3]", "model.tau=0.30000000000000004"});
  const std::string yaml = config.to_yaml();
  EXPECT_EQ(yaml, config.to_yaml());
  EXPECT_EQ(yaml.rfind("# apical configuration", 0), 0U) << yaml;
  EXPECT_THAT(
      yaml,
      HasSubstr("model:\n  mode: spiking  # Neuron model.\n  layers: [3, 4]  # [neurons] Neurons per layer"));
  EXPECT_THAT(yaml, HasSubstr("  g_A: 1.0  # [mS] Apical conductance."));
  EXPECT_THAT(yaml, HasSubstr("training:\n  learning_rates: [0.1, 1e-07, 3.0]"));
  EXPECT_THAT(yaml, HasSubstr("  batch:\n    size: 1  # [examples]"));
  test::write_text(dir / "resolved.yaml", yaml);
  const Config reloaded = Config::load(schema, dir / "resolved.yaml");
  EXPECT_EQ(reloaded, config);
  EXPECT_EQ(reloaded.get_string("name"), "a: b # c");
  EXPECT_EQ(reloaded.get_real("model.tau"), 0.30000000000000004);
  EXPECT_EQ(Config::defaults(schema), Config::from_string(schema, Config::defaults(schema).to_yaml(), "d.yaml"));
  EXPECT_NE(reloaded, Config::defaults(schema));
}

TEST(SameSettings, ComparesValuesNotTextAndFailsClosed) {
  const Schema schema = test_schema();
  test::TempDir dir("config-same");
  const Config config = Config::from_string(schema, "seed: 3\n", "exp.yaml", {"training.epochs=5"});
  test::write_text(dir / "resolved.yaml", config.to_yaml());
  EXPECT_TRUE(same_settings(config, dir / "resolved.yaml"));
  // Another spelling of the same values (an old run's file without the options added since) is the same run.
  test::write_text(dir / "short.yaml", "seed: 3\ntraining: {epochs: 5}\n");
  EXPECT_TRUE(same_settings(config, dir / "short.yaml"));
  test::write_text(dir / "other.yaml", "seed: 4\ntraining: {epochs: 5}\n");
  EXPECT_FALSE(same_settings(config, dir / "other.yaml"));
  test::write_text(dir / "removed.yaml", "seed: 3\ntraining: {epochs: 5, gone: 1}\n");
  EXPECT_FALSE(same_settings(config, dir / "removed.yaml"));
  EXPECT_FALSE(same_settings(config, dir / "missing.yaml"));
}

// ---- peek

TEST(Peek, ReadsOneRawValueWithoutASchema) {
  test::TempDir dir("config-peek");
  test::write_text(dir / "base.yaml", "model:\n  type: dendritic\n  layers: [500, 10]\n");
  test::write_text(dir / "exp.yaml", "extends: base.yaml\nmodel:\n  anything_goes: 1\n");
  EXPECT_EQ(peek(dir / "exp.yaml", {}, "model.type"), "dendritic");
  EXPECT_EQ(peek(dir / "exp.yaml", {}, "model.layers"), "[500, 10]");
  EXPECT_EQ(peek(dir / "exp.yaml", {"model.type=backprop"}, "model.type"), "backprop");
  EXPECT_EQ(peek(dir / "exp.yaml", {"model={type: other}"}, "model.type"), "other");
  EXPECT_EQ(peek(dir / "exp.yaml", {}, "model.missing"), std::nullopt);
  EXPECT_EQ(peek(dir / "exp.yaml", {}, "model"), std::nullopt);
  EXPECT_THAT(error_of([&] { (void)peek(dir / "exp.yaml", {"model.type"}, "model.type"); }),
              HasSubstr("malformed override"));
}

// ---- overrides of commands that run many configs (apical reproduce --set)

TEST(Overrides, ReservedKeysAndTheirSectionsAreRefusedWithWhatToUseInstead) {
  const std::vector<ReservedKey> reserved = {{"training.epochs", "--epochs N"}, {"name", "nothing"}};
  EXPECT_NO_THROW(check_overrides({"training.epochs_x=1", "training.shuffle=false", "model.name=a"}, reserved));
  EXPECT_THAT(error_of([&] { check_overrides({"training.epochs=2"}, reserved); }),
              HasSubstr("--set training.epochs=2: this command sets training.epochs itself on every run; use "
                        "--epochs N"));
  EXPECT_THAT(error_of([&] { check_overrides({"training={epochs: 2}"}, reserved); }),
              HasSubstr("sets training.epochs itself"));
  EXPECT_THAT(error_of([&] { check_overrides({" name =x"}, reserved); }), HasSubstr("sets name itself"));
  EXPECT_THAT(error_of([&] { check_overrides({"=1"}, reserved); }), HasSubstr("the key before '=' is empty"));
}

TEST(Overrides, TagIsEmptyWithoutOverridesAndStableWithThem) {
  EXPECT_EQ(overrides_tag({}), "");
  // Run folders of variants are found again by this tag: it must never change between versions.
  EXPECT_EQ(overrides_tag({"inputs.low=0"}), "-set53f1a858");
  EXPECT_NE(overrides_tag({"a=1", "b=2"}), overrides_tag({"b=2", "a=1"}));  // in order: the later wins
  EXPECT_EQ(short_hash(""), "cbf29ce4");                                    // FNV-1a offset basis
}

}  // namespace
}  // namespace apical::config
