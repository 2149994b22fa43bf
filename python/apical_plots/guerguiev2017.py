# SPDX-License-Identifier: Apache-2.0
"""Figures of Guerguiev, Lillicrap & Richards (2017) from the CSV files of `apical reproduce guerguiev2017`.

Each figure is written as PNG and SVG beside its data, with panels laid out like the paper's: test error per
epoch on the left, the final repeated tests (mean and min-max) on the right.
"""
import csv
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

COLOURS = ["#1f1f1f", "#d62728", "#1f77b4", "#2ca02c", "#9467bd"]


def read_csv(path):
    """Header and columns (as floats) of a CSV file written by apical."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = []
    for j in range(len(header)):
        values = []
        for row in body:
            text = row[j].strip().lower()
            values.append(math.nan if text in ("nan", "") else float(text))
        columns.append(values)
    return header, columns


def count_axis(ax, label):
    """An x axis of training examples or trials: in powers of ten beyond 10^4, so that the tick labels stay apart."""
    ax.set_xlabel(label)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-4, 4), useMathText=True)


def save(fig, folder, name):
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(folder, f"{name}.{ext}")
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def error_figure(folder, panel, title):
    """Test error per epoch and the final repeated tests of one panel (Fig 6B, 6S1B, 8B, 8D, 8S1, 9B)."""
    curves = os.path.join(folder, f"Fig_{panel}_errors.csv")
    finals = os.path.join(folder, f"Fig_{panel}_final_errors.csv")
    if not (os.path.exists(curves) and os.path.exists(finals)):
        return []
    header, columns = read_csv(curves)
    fheader, fcolumns = read_csv(finals)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [2.2, 1]})
    for k, label in enumerate(header[1:]):
        left.plot(columns[0], columns[k + 1], color=COLOURS[k % len(COLOURS)], label=label, lw=1.5)
    left.set_xlabel("epoch")
    left.set_ylabel("test error (%)")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    left.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    left.legend(frameon=False, fontsize=8)
    left.set_title(f"Fig {panel}: {title}", fontsize=10, loc="left")
    for k, label in enumerate(fheader[1:]):
        values = [v for v in fcolumns[k + 1] if not math.isnan(v)]
        mean = sum(values) / len(values)
        right.errorbar([k], [mean], yerr=[[mean - min(values)], [max(values) - mean]], fmt="o",
                       color=COLOURS[k % len(COLOURS)], capsize=4)
    right.set_xticks(range(len(fheader) - 1))
    right.set_xticklabels(fheader[1:], rotation=30, ha="right", fontsize=8)
    right.set_ylabel("final test error (%)\nmean, min-max")
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return save(fig, folder, f"Fig_{panel}")


def angle_figure(folder):
    path = os.path.join(folder, "Fig_7A.csv")
    if not os.path.exists(path):
        return []
    header, columns = read_csv(path)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    colours = ["#1f77b4", "#d62728"]
    for k, label in enumerate(header[1:]):
        ax.plot(columns[0], columns[k + 1], color=colours[k % 2], label=label, lw=1)
    ax.axhline(90, color="grey", ls=":", lw=1)
    count_axis(ax, "training example")
    ax.set_ylabel("angle to backprop update (deg)\n100-example mean")
    ax.set_ylim(0, 100)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return save(fig, folder, "Fig_7A")


def jacobian_figure(folder):
    path = os.path.join(folder, "Fig_5S1A.csv")
    if not os.path.exists(path):
        return []
    header, columns = read_csv(path)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(columns[0], columns[1], color="#1f1f1f", lw=1, label="product of mean Jacobians")
    ax.plot(columns[0], columns[2], color="#d62728", lw=1, ls="--", label="mean of Jacobian products")
    ax.axhline(1, color="grey", ls=":", lw=1)
    count_axis(ax, "training example")
    ax.set_ylabel("max eigenvalue of\n(I - JbJg)^T (I - JbJg)")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return save(fig, folder, "Fig_5S1A")


def fields_figure(folder):
    path = os.path.join(folder, "Fig_7C.csv")
    if not os.path.exists(path):
        return []
    header, columns = read_csv(path)
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    for k, (label, colour) in enumerate(zip(header, ["#1f1f1f", "#999999"])):
        ax.hist(columns[k], bins=30, color=colour, alpha=0.7, label=label)
    ax.set_xlabel("max correlation with a backprop field")
    ax.set_ylabel("hidden neurons")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return save(fig, folder, "Fig_7C")


def losses_figure(folder):
    """Fig 5B (L0 vs L1 for '2' images, with the shuffled control) and 5C (r per digit over epochs)."""
    b_path, c_path = os.path.join(folder, "Fig_5B.csv"), os.path.join(folder, "Fig_5C.csv")
    if not (os.path.exists(b_path) and os.path.exists(c_path)):
        return []
    _, b = read_csv(b_path)
    header, c = read_csv(c_path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.scatter(b[2], b[3], s=4, color="#bbbbbb", label="shuffled")
    left.scatter(b[0], b[1], s=4, color="#1f1f1f", label="'2' test images")
    left.set_xlabel("hidden loss L0")
    left.set_ylabel("output loss L1")
    left.legend(frameon=False, fontsize=8)
    for d in range(10):
        right.plot(c[0], c[1 + d], color=plt.cm.tab10(d), lw=1, label=str(d))
        right.plot(c[0], c[11 + d], color=plt.cm.tab10(d), lw=1, ls=":")
    right.set_xlabel("epoch")
    right.set_ylabel("Pearson r (L0, L1)")
    right.legend(frameon=False, fontsize=6, ncol=2, title="digit (dotted: shuffled)", title_fontsize=6)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return save(fig, folder, "Fig_5BC")


def embed(x, seed=0):
    """2-D t-SNE embedding (scikit-learn; perplexity 30 or less for small sets, PCA initialisation)."""
    import numpy as np
    from sklearn.manifold import TSNE  # Debian: python3-sklearn

    x = np.asarray(x, dtype=np.float64)
    perplexity = min(30.0, (len(x) - 1) / 3.0)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                random_state=seed).fit_transform(x)


def tsne_figure(folder):
    """Fig 6C: t-SNE of the input, hidden-1 and hidden-2 activity (needs scikit-learn); writes Fig_6C.csv too."""
    labels_path = os.path.join(folder, "Fig_6C_labels.npy")
    if not os.path.exists(labels_path):
        return []
    import numpy as np

    labels = np.load(labels_path)
    names = [("input", "Fig_6C_input.npy"), ("hidden1", "Fig_6C_hidden1.npy"), ("hidden2", "Fig_6C_hidden2.npy")]
    embeddings = []
    for _, file in names:
        embeddings.append(embed(np.load(os.path.join(folder, file))))
    with open(os.path.join(folder, "Fig_6C.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["digit"] + [f"{n}_{c}" for n, _ in names for c in ("x", "y")])
        for k in range(len(labels)):
            writer.writerow([int(labels[k])] + [f"{e[k, c]:.6g}" for e in embeddings for c in (0, 1)])
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, (name, _), e in zip(axes, names, embeddings):
        ax.scatter(e[:, 0], e[:, 1], c=labels, cmap="tab10", s=2, vmin=0, vmax=9)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return [os.path.join(folder, "Fig_6C.csv")] + save(fig, folder, "Fig_6C")


PANELS = [("6B", "depth"), ("6S1B", "stochastic plateaus"), ("8B", "sparse feedback"),
          ("8D", "symmetric feedback"), ("8S1", "sparse feedback, 20 epochs"), ("9B", "apical attenuation")]


def plot_all(folder):
    """Draws every figure whose data is in `folder`; returns the files written."""
    written = []
    for panel, title in PANELS:
        written += error_figure(folder, panel, title)
    written += angle_figure(folder)
    written += jacobian_figure(folder)
    written += fields_figure(folder)
    written += losses_figure(folder)
    written += tsne_figure(folder)
    return written
