# SPDX-License-Identifier: Apache-2.0
"""Figures of Sacramento, Ponte Costa, Bengio & Senn (2018) from the CSV files of `apical reproduce sacramento2018`.

Each figure is written as PNG and SVG beside its data: Fig 1C (apical and interneuron errors around the teaching
onset), Fig S1 (learning the self-predicting state), Fig 2 (teacher-student regression error and weight
alignment), Fig 3B (MNIST test error per epoch of the microcircuit and the baselines: the mean over the seeds, with
error bars of the final test error from Fig_3B_seeds.csv when several seeds were run).
"""
import csv
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .guerguiev2017 import COLOURS, count_axis, read_csv, save  # noqa: E402


def column(header, columns, name):
    return columns[header.index(name)]


def fig1(folder):
    path = os.path.join(folder, "Fig_1C.csv")
    if not os.path.exists(path):
        return []
    h, c = read_csv(path)
    t = column(h, c, "time_ms")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    for ax, name, label in zip(axes, ["apical_norm", "interneuron_error", "prediction_error"],
                               ["||apical pot.||", "||pyr_2 - int_1||^2", "||v_B,2 - u_trgt||^2"]):
        ax.plot(t, column(h, c, name), color=COLOURS[0], lw=1)
        on = [x for x, f in zip(t, column(h, c, "target_on")) if f > 0]
        if on:
            ax.axvline(on[0], color=COLOURS[1], ls="--", lw=1)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(label)
    fig.suptitle("Fig 1C: single-pattern association (target on at the dashed line)")
    return save(fig, folder, "Fig_1C")


def fig_s1(folder):
    path = os.path.join(folder, "Fig_S1.csv")
    if not os.path.exists(path):
        return []
    h, c = read_csv(path)
    x = column(h, c, "pattern")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    axes[0].plot(x, column(h, c, "apical_norm"), color=COLOURS[0])
    axes[0].set_ylabel("||apical pot.||")
    axes[1].plot(x, column(h, c, "interneuron_error"), color=COLOURS[0])
    axes[1].set_ylabel("||pyr_2 - int_1||^2")
    axes[2].plot(x, column(h, c, "pi_error"), color=COLOURS[1], label="W_PI vs -W_down")
    axes[2].plot(x, column(h, c, "ip_error"), color=COLOURS[2], label="W_IP vs c W_up")
    axes[2].set_ylabel("relative distance")
    axes[2].legend(frameon=False)
    for ax in axes:
        ax.set_xlabel("patterns")
    fig.suptitle("Fig S1: self-predicting state learned from a random start")
    return save(fig, folder, "Fig_S1")


def fig2(folder):
    path = os.path.join(folder, "Fig_2.csv")
    if not os.path.exists(path):
        return []
    h, c = read_csv(path)
    x = column(h, c, "trial")
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(x, column(h, c, "microcircuit_error"), color=COLOURS[1], label="microcircuit")
    left.plot(x, column(h, c, "shallow_error"), color=COLOURS[0], label="shallow learner")
    count_axis(left, "training trial")
    left.set_ylabel("squared error")
    left.legend(frameon=False)
    right.plot(x, column(h, c, "angle_deg"), color=COLOURS[2])
    right.axhline(45, color="grey", ls=":", lw=1)
    count_axis(right, "training trial")
    right.set_ylabel("angle W_21 vs W_12^T (deg)")
    fig.suptitle("Fig 2: teacher-student regression")
    return save(fig, folder, "Fig_2")


def seed_finals(folder):
    """Fig_3B_seeds.csv (one row per condition and seed) as {condition: (epochs, [final test errors])}."""
    path = os.path.join(folder, "Fig_3B_seeds.csv")
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            epochs, errors = out.setdefault(row["condition"], (int(row["epochs"]), []))
            errors.append(float(row["final_test_error_pct"]))
    return out


def fig3(folder):
    """Test error per epoch (with several seeds: their mean), and the final test error's mean +- SD over the seeds
    as an error bar at the last epoch when Fig_3B_seeds.csv is there."""
    path = os.path.join(folder, "Fig_3B.csv")
    if not os.path.exists(path):
        return []
    h, c = read_csv(path)
    finals = seed_finals(folder)
    seeds = max((len(e) for _, e in finals.values()), default=1)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k, label in enumerate(h[1:]):
        colour = COLOURS[k % len(COLOURS)]
        ax.plot(c[0], c[k + 1], color=colour, ls="-" if k < len(COLOURS) else "--", label=label)
        if label in finals and len(finals[label][1]) > 1:
            epochs, errors = finals[label]
            mean = sum(errors) / len(errors)
            sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (len(errors) - 1))
            ax.errorbar([epochs], [mean], yerr=[sd], color=colour, fmt="o", ms=3, capsize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)" if seeds == 1 else f"test error (%), mean of {seeds} seeds")
    ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Fig 3B: MNIST" + ("" if seeds == 1 else " (bars: mean +- SD of the final error)"))
    return save(fig, folder, "Fig_3B")


def plot_all(folder):
    """Draws every figure whose data is in `folder`; returns the files written."""
    return fig1(folder) + fig_s1(folder) + fig2(folder) + fig3(folder)
