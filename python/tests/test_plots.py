# SPDX-License-Identifier: Apache-2.0
"""Tests of the plotting package: t-SNE on data with a known answer, and every figure drawn from small CSV files."""
import csv
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from apical_plots import guerguiev2017  # noqa: E402


class TsneTest(unittest.TestCase):
    def test_well_separated_clusters_stay_separated(self):
        # Four Gaussian clusters in 50 dimensions, 10 standard deviations apart: in the 2-D embedding every
        # point's nearest neighbour must belong to its own cluster.
        rng = np.random.default_rng(1)
        centres = rng.normal(0, 10, size=(4, 50))
        labels = np.repeat(np.arange(4), 40)
        x = centres[labels] + rng.normal(0, 1, size=(160, 50))
        e = guerguiev2017.embed(x)
        d = ((e[:, None, :] - e[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        self.assertTrue((labels[d.argmin(1)] == labels).all())


class FiguresTest(unittest.TestCase):
    def write(self, folder, name, header, rows):
        with open(os.path.join(folder, name), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    def test_every_figure_is_drawn_from_its_csv_files(self):
        with tempfile.TemporaryDirectory() as folder:
            self.write(folder, "Fig_6B_errors.csv", ["epoch", "a", "b"], [[0, 90, 91], [1, 10, "nan"], [2, 8, 7]])
            self.write(folder, "Fig_6B_final_errors.csv", ["repeat", "a", "b"], [[1, 8, 7], [2, 8.5, 7.2]])
            self.write(folder, "Fig_7A.csv", ["example", "spiking", "rate"], [[i, 90 - i, 80 - i] for i in range(5)])
            self.write(folder, "Fig_5S1A.csv", ["example", "pm", "mp"], [[i, 1.2 - 0.1 * i, 1.2] for i in range(5)])
            self.write(folder, "Fig_7C.csv", ["regular", "shuffled"], [[0.5, 0.1], [0.6, 0.12], [0.4, 0.09]])
            self.write(folder, "Fig_5B.csv", ["L0", "L1", "L0s", "L1s"], [[0.1, 0.2, 0.3, 0.2], [0.2, 0.3, 0.1, 0.3]])
            self.write(folder, "Fig_5C.csv", ["epoch"] + [f"r{d}" for d in range(20)],
                       [[e] + [0.1 * e] * 20 for e in (1, 2)])
            rng = np.random.default_rng(0)
            np.save(os.path.join(folder, "Fig_6C_labels.npy"), np.repeat(np.arange(3), 10).astype(np.uint8))
            for name in ("input", "hidden1", "hidden2"):
                np.save(os.path.join(folder, f"Fig_6C_{name}.npy"), rng.normal(size=(30, 8)).astype(np.float32))
            written = guerguiev2017.plot_all(folder)
            for name in ("Fig_6B", "Fig_7A", "Fig_5S1A", "Fig_7C", "Fig_5BC", "Fig_6C"):
                for ext in ("png", "svg"):
                    path = os.path.join(folder, f"{name}.{ext}")
                    self.assertIn(path, written)
                    self.assertGreater(os.path.getsize(path), 1000)
            with open(os.path.join(folder, "Fig_6C.csv")) as f:
                rows = list(csv.reader(f))
            self.assertEqual(rows[0], ["digit", "input_x", "input_y", "hidden1_x", "hidden1_y", "hidden2_x", "hidden2_y"])
            self.assertEqual(len(rows), 31)


if __name__ == "__main__":
    unittest.main()
