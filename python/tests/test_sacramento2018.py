# SPDX-License-Identifier: Apache-2.0
"""Every Sacramento et al. (2018) figure is drawn from small CSV files."""
import csv
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from apical_plots import sacramento2018  # noqa: E402


class FiguresTest(unittest.TestCase):
    def write(self, folder, name, header, rows):
        with open(os.path.join(folder, name), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    def test_every_figure_is_drawn(self):
        with tempfile.TemporaryDirectory() as folder:
            self.write(folder, "Fig_1C.csv", ["time_ms", "apical_norm", "interneuron_error", "output_error",
                                              "prediction_error", "target_on"],
                       [[0, 0.1, 0.1, 1, 2, 0], [1, 2, 3, 1, 2, 1], [2, 0.5, 1, 0.5, 1, 1]])
            self.write(folder, "Fig_S1.csv", ["pattern", "apical_norm", "interneuron_error", "pi_error", "ip_error"],
                       [[0, 5, 9, 1, 1], [20, 2, 3, 0.8, 0.7]])
            self.write(folder, "Fig_2.csv", ["trial", "microcircuit_error", "shallow_error", "angle_deg",
                                             "apical_norm"], [[0, 0.1, 0.1, 90, 1], [100, 0.05, 0.08, 60, 0.2]])
            self.write(folder, "Fig_3B.csv", ["epoch", "microcircuit", "backprop"], [[0, 90, 90], [1, 5, "nan"]])
            written = sacramento2018.plot_all(folder)
            for name in ("Fig_1C", "Fig_S1", "Fig_2", "Fig_3B"):
                self.assertIn(os.path.join(folder, name + ".png"), written)
                self.assertTrue(os.path.getsize(os.path.join(folder, name + ".png")) > 1000)

    def test_fig3_error_bars_from_the_seeds(self):
        with tempfile.TemporaryDirectory() as folder:
            self.write(folder, "Fig_3B.csv", ["epoch", "microcircuit", "shallow"], [[0, 90, 90], [1, 5, 9], [2, 3, 8.5]])
            header = ["condition", "seed", "epochs", "final_test_error_pct", "best_validation_epoch",
                      "test_error_at_best_validation_pct", "best_validation_error_pct", "final_validation_error_pct",
                      "final_train_error_pct", "wall_s", "run"]
            self.write(folder, "Fig_3B_seeds.csv", header,
                       [["microcircuit", 1, 2, 2.9, 2, 2.9, 2.5, 2.5, 1, 60, "runs/microcircuit-seed1"],
                        ["microcircuit", 2, 2, 3.1, 1, 3.2, 2.6, 2.7, 1, 61, "runs/microcircuit-seed2"],
                        ["shallow", 1, 2, 8.5, 2, 8.5, 8, 8, 7, 1, "runs/shallow-seed1"]])
            self.assertEqual(sacramento2018.seed_finals(folder),
                             {"microcircuit": (2, [2.9, 3.1]), "shallow": (2, [8.5])})
            written = sacramento2018.fig3(folder)
            self.assertIn(os.path.join(folder, "Fig_3B.png"), written)
            with open(os.path.join(folder, "Fig_3B.svg")) as f:
                svg = f.read()
            self.assertIn("mean of 2 seeds", svg)

    def test_missing_files_draw_nothing(self):
        with tempfile.TemporaryDirectory() as folder:
            self.assertEqual(sacramento2018.plot_all(folder), [])


if __name__ == "__main__":
    unittest.main()
