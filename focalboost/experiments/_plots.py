"""The figures of the paper's studies, drawn from ``results.csv`` rows.

* :func:`plot_stability_grid` — its Figure 4: completed epochs over γ × threshold, one panel per
  loss × noise level; cells where a run hit NaN are marked.
* :func:`plot_loss_curves` — its Figure 6: per-epoch training loss, a cross at the NaN epoch.
* :func:`plot_focal_curves` — its Figures 1–2: foreground and background loss and derivative over
  ``p`` and over the logit, for several γ, with markers where the derivative is NaN.

Matplotlib is imported inside the functions (``matplotlib.figure.Figure``, no pyplot, so no
display backend is needed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

Rows = Sequence[dict[str, str]]


def _num(v: str) -> float:
    return float(v) if v != "" else float("nan")


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def plot_stability_grid(rows: Rows, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Heatmaps of completed epochs over γ (rows) × threshold (columns).

    Parameters
    ----------
    rows : sequence of dict
        Rows of a classification ``results.csv`` (:meth:`ResultsFile.rows`).
    path : path-like
        The PNG to write.
    title : str, optional
    """
    from matplotlib.figure import Figure

    rows = [r for r in rows if r["task"] == "classification"]
    if not rows:
        raise ValueError("rows holds no classification run")
    losses = sorted({r["loss"] for r in rows})
    noises = sorted({float(r["noise"]) for r in rows})
    gammas = sorted({float(r["gamma"]) for r in rows})
    ths = sorted({int(r["threshold"]) for r in rows})
    epochs = max(int(r["epochs"]) for r in rows)
    width = max(4.5, 1.0 + (0.45 * len(ths) + 1.2) * len(noises))
    fig = Figure(figsize=(width, 1.4 + 0.5 * len(gammas) * len(losses)), layout="constrained")
    axes = fig.subplots(len(losses), len(noises), squeeze=False)
    image: Any = None
    for i, loss in enumerate(losses):
        for j, noise in enumerate(noises):
            ax = axes[i][j]
            done = np.full((len(gammas), len(ths)), np.nan)
            nan = np.zeros_like(done, dtype=bool)
            for r in rows:
                if r["loss"] == loss and float(r["noise"]) == noise:
                    a, b = gammas.index(float(r["gamma"])), ths.index(int(r["threshold"]))
                    done[a, b] = int(r["completed_epochs"])
                    nan[a, b] = r["nan_epoch"] != ""
            image = ax.imshow(done, vmin=0, vmax=epochs, cmap="viridis", aspect="auto", origin="lower")
            for a in range(len(gammas)):
                for b in range(len(ths)):
                    if not np.isnan(done[a, b]):
                        text = f"{int(done[a, b])}" + ("×" if nan[a, b] else "")
                        ax.text(b, a, text, ha="center", va="center", fontsize=7,
                                color="white" if done[a, b] < 0.6 * epochs else "black")
            ax.set_xticks(range(len(ths)), [str(t) for t in ths], fontsize=7)
            ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas], fontsize=7)
            ax.set_title(f"{loss}, noise {noise:g}", fontsize=9)
            if i == len(losses) - 1:
                ax.set_xlabel("threshold TH (digits ≤ TH are class 1)", fontsize=8)
            if j == 0:
                ax.set_ylabel("γ", fontsize=9)
    fig.colorbar(image, ax=axes, label=f"completed epochs (of {epochs}); × = NaN loss")
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def plot_loss_curves(rows: Rows, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Per-epoch training loss of each run, one panel per noise level, a cross at each NaN.

    Parameters
    ----------
    rows : sequence of dict
        Rows of a ``results.csv`` (any task); a line per (loss, γ) in each noise panel.
    path : path-like
        The PNG to write.
    title : str, optional
    """
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("rows is empty")
    noises = sorted({float(r["noise"]) for r in rows})
    fig = Figure(figsize=(4.2 * len(noises), 3.4), layout="constrained")
    axes = fig.subplots(1, len(noises), squeeze=False)[0]
    colors = {"original": "tab:red", "stabilized": "tab:blue", "focalboost": "tab:green"}
    gammas = sorted({_num(r["gamma"]) for r in rows})
    styles = ["-", "--", ":", "-."]
    for ax, noise in zip(axes, noises, strict=True):
        for r in sorted((r for r in rows if float(r["noise"]) == noise), key=lambda r: (r["loss"], _num(r["gamma"]))):
            losses = [float(v) for v in r["epoch_losses"].split()]
            label = f"{r['loss']}, γ={_num(r['gamma']):g}" + (f", TH={r['threshold']}" if r["threshold"] else "")
            style = styles[gammas.index(_num(r["gamma"])) % len(styles)]
            line = ax.plot(range(1, len(losses) + 1), losses, style, color=colors.get(r["loss"]), label=label,
                           lw=1.3)[0]
            if r["nan_epoch"]:
                y = losses[-1] if losses else 1.0
                ax.plot([int(r["nan_epoch"])], [y], "x", color=line.get_color(), ms=10, mew=2.5)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"noise {noise:g}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean training loss (× = NaN)")
    axes[-1].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def plot_focal_curves(
    path: str | os.PathLike[str],
    *,
    gammas: Sequence[float] = (0.0, 0.2, 0.5, 1.0, 2.0, 5.0),
    epsilon: float = 1e-3,
) -> None:
    """The paper's Figures 1–2: loss and derivative of the foreground (``y = 1``) and background
    (``y = 0``) terms over ``p`` and over the logit ``x``.

    Top row, over ``p`` (float64): the original loss (``ε = 0``, solid) and the stabilized one
    (``ε = epsilon``, dashed) and their autograd derivative ``dL/dp``; for ``0 < γ < 1`` and
    ``ε = 0`` the derivative at ``p = 1`` (foreground) or ``p = 0`` (background) is
    ``0^(γ−1) · log 1 = ∞ · 0``: NaN, marked with a cross. Bottom row, over ``x`` in float32:
    autograd of torchvision's formula (solid; NaN, crossed, once ``σ(x)`` rounds to 1) and the
    core's closed-form ``dL/dx`` (dashed, finite everywhere).

    Parameters
    ----------
    path : path-like
        The PNG to write.
    gammas : sequence of float
    epsilon : float, default=1e-3
    """
    import torch
    from matplotlib.figure import Figure

    from .._math.binary import binary_focal, positive_term
    from ._losses import original_focal_loss

    fig = Figure(figsize=(17, 7.5), layout="constrained")
    axes = fig.subplots(2, 4)
    cmap = __import__("matplotlib").colormaps["viridis"]
    p = torch.linspace(0.0, 1.0, 401, dtype=torch.float64)[1:]  # log 0 = −∞: the own probability > 0
    x = torch.linspace(-25.0, 25.0, 501, dtype=torch.float32)
    for k, gamma in enumerate(gammas):
        color = cmap(k / max(len(gammas) - 1, 1))
        for eps, style in ((0.0, "-"), (epsilon, "--")):
            # over p: the core's term f = −(q + ε)^γ log p with q = 1 − p, differentiated in p
            # (the term's own probability `own` is p for the foreground, 1 − p for the background)
            own = p.clone().requires_grad_()
            f = positive_term(own, 1.0 - own, torch.log(own), gamma, eps)[0]
            (df,) = torch.autograd.grad(f.sum(), own)
            label = f"γ={gamma:g}" + (f", ε={eps:g}" if eps else "")
            for col, axis, d in ((0, p, df), (2, 1.0 - p, -df)):  # background: dL₀/dp = −f'(1 − p)
                axes[0][col].plot(axis, f.detach(), style, color=color, label=label, lw=1.1)
                axes[0][col + 1].plot(axis, d, style, color=color, lw=1.1)
                bad = ~torch.isfinite(d)
                axes[0][col + 1].plot(axis[bad], torch.zeros(int(bad.sum())), "x", color=color, ms=9, mew=2)
        # over x (float32): autograd of torchvision's formula vs the core's closed form
        for col, yv in ((0, 1.0), (2, 0.0)):
            xv = x.clone().requires_grad_()
            y = torch.full_like(x, yv)
            loss = original_focal_loss(xv, y, gamma=gamma, alpha=None)
            (g_auto,) = torch.autograd.grad(loss.sum(), xv)
            _, g_core, _ = binary_focal(y, x, gamma=gamma, epsilon=0.0, alpha_pos=1.0, alpha_neg=1.0, xp=torch,
                                        loss=False, hessian=None)
            axes[1][col].plot(x, loss.detach(), color=color, lw=1.1, label=f"γ={gamma:g}")
            axes[1][col + 1].plot(x, g_auto, color=color, lw=1.1)
            axes[1][col + 1].plot(x, g_core, ":", color=color, lw=1.6)
            bad = ~torch.isfinite(g_auto)
            axes[1][col + 1].plot(x[bad], torch.zeros(int(bad.sum())), "x", color=color, ms=6, mew=1.5)
    names = [("foreground loss (y = 1)", "L"), ("foreground derivative", "dL/d·"),
             ("background loss (y = 0)", "L"), ("background derivative", "dL/d·")]
    for row, var in ((0, "p"), (1, "logit x")):
        for col, (name, ylab) in enumerate(names):
            ax = axes[row][col]
            ax.set_title(f"{name} over {var}", fontsize=9)
            ax.set_xlabel(var)
            ax.set_ylabel(ylab.replace("·", var.split()[-1]))
            ax.grid(alpha=0.3)
    axes[0][1].set_ylim(-6, 1)
    axes[0][3].set_ylim(-1, 6)
    axes[0][0].set_ylim(0, 5)
    axes[0][2].set_ylim(0, 5)
    axes[1][0].set_ylim(0, 10)
    axes[1][2].set_ylim(0, 10)
    axes[0][0].legend(fontsize=6, ncol=2)
    fig.suptitle(f"Focal loss: solid ε = 0 (original), dashed ε = {epsilon:g}; bottom: autograd of torchvision's "
                 "formula (solid, float32) vs focalboost's closed form (dotted); × = NaN derivative",
                 fontsize=10)
    _save(fig, path)
