"""Training time with the focal objective against each library's built-in objective, in one run.

* LightGBM: ``focalboost.lightgbm.focal_objective`` (with its init score) vs ``"binary"``;
* XGBoost: ``focalboost.xgboost.focal_objective`` (with its init score) vs ``"binary:logistic"``;
* CatBoost: a Python objective calling ``FocalLoss.gradient_hessian`` (written below: there is
  no focalboost CatBoost adapter yet) vs CatBoost's built-in ``Focal``.

Same data (a synthetic HIGGS-sized problem: 2M rows, 28 float32 features, ~12 % positives),
same tree parameters, no evaluation sets, datasets constructed before the clock starts. Each
pair runs alternately, ``--repeat`` times; the table shows the best time of each and their
ratio. The per-round objective time is also measured in isolation (the adapter's call on the
training predictions the library hands over), so the share of the objective can be read off.

Usage::

    python benchmarks/bench_training.py            # 2M x 28, 50 rounds, best of 2
    python benchmarks/bench_training.py --quick    # 5k x 28, 3 rounds, 1 thread: a smoke run for CI
    python benchmarks/bench_training.py --only lightgbm xgboost
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from focalboost import FocalLoss
from focalboost._math import dispatch

GAMMA, ALPHA = 2.0, 0.25


def make_data(n: int, d: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 features and {0, 1} labels from a noisy nonlinear score (~12 % positives)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    score = X[:, 0] * X[:, 1] + X[:, 2:8].sum(axis=1) * 0.5 + np.sin(3 * X[:, 8]) + rng.standard_normal(n)
    y = (score > 2.3).astype(np.float32)
    return X, y


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_lightgbm(X: np.ndarray, y: np.ndarray, rounds: int, repeat: int, threads: int) -> dict[str, float]:
    import lightgbm as lgb

    from focalboost.lightgbm import apply_init_score, focal_objective

    base = {"num_leaves": 63, "learning_rate": 0.1, "num_threads": threads, "metric": "None", "verbose": -1}
    d_builtin = lgb.Dataset(X, y, free_raw_data=False).construct()
    d_focal = lgb.Dataset(X, y, free_raw_data=False).construct()
    obj = focal_objective(gamma=GAMMA, alpha=ALPHA)
    lgb.train({**base, "objective": "binary"}, d_builtin, 1)  # warm-ups (thread pools, JIT), not timed
    lgb.train({**base, "objective": obj}, d_focal, 1)
    times: dict[str, float] = {"built-in binary": float("inf"), "focal": float("inf")}
    for _ in range(repeat):
        times["built-in binary"] = min(
            times["built-in binary"], timed(lambda: lgb.train({**base, "objective": "binary"}, d_builtin, rounds))
        )

        def focal() -> None:
            apply_init_score(d_focal, objective=obj)
            lgb.train({**base, "objective": obj}, d_focal, rounds)

        times["focal"] = min(times["focal"], timed(focal))
    # the objective alone, on what LightGBM hands over: float64 raw scores and its float32 labels
    preds = np.random.default_rng(1).normal(-2.0, 1.0, y.shape[0])
    obj(preds, d_focal)
    times["objective call"] = min(timed(lambda: obj(preds, d_focal)) for _ in range(5))
    return times


def bench_xgboost(X: np.ndarray, y: np.ndarray, rounds: int, repeat: int, threads: int) -> dict[str, float]:
    import xgboost as xgb

    from focalboost.xgboost import apply_init_score, focal_objective

    base = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "nthread": threads, "disable_default_eval_metric": 1}
    d_builtin = xgb.DMatrix(X, y, nthread=threads)
    d_focal = xgb.DMatrix(X, y, nthread=threads)
    obj = focal_objective(gamma=GAMMA, alpha=ALPHA)
    xgb.train({**base, "objective": "binary:logistic"}, d_builtin, 1)  # warm-ups, not timed
    xgb.train(base, d_focal, 1, obj=obj)
    times: dict[str, float] = {"built-in binary:logistic": float("inf"), "focal": float("inf")}
    for _ in range(repeat):
        times["built-in binary:logistic"] = min(
            times["built-in binary:logistic"],
            timed(lambda: xgb.train({**base, "objective": "binary:logistic"}, d_builtin, rounds)),
        )

        def focal() -> None:
            apply_init_score(d_focal, objective=obj)
            xgb.train(base, d_focal, rounds, obj=obj)

        times["focal"] = min(times["focal"], timed(focal))
    # XGBoost hands float32 margins
    predt = np.random.default_rng(1).normal(-2.0, 1.0, y.shape[0]).astype(np.float32)
    obj(predt, d_focal)
    times["objective call"] = min(timed(lambda: obj(predt, d_focal)) for _ in range(5))
    return times


class CatBoostFocalObjective:
    """A minimal CatBoost objective over :class:`FocalLoss` (benchmark only, not an adapter).

    CatBoost maximizes: ``calc_ders_range`` returns the derivatives of the *negated* loss, as an
    array of shape ``(n, 2)`` (much faster for CatBoost than a list of tuples).
    """

    no_jit = True  # CatBoost would otherwise try (and fail) to numba-compile this method

    def __init__(self, loss: FocalLoss) -> None:
        self.loss = loss

    def calc_ders_range(self, approxes: Any, targets: Any, weights: Any) -> np.ndarray:
        x = np.asarray(approxes, dtype=np.float64)
        y = np.asarray(targets, dtype=np.float64)
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        grad, hess = self.loss.gradient_hessian(y, x, w, check_input=False)
        out = np.empty((x.shape[0], 2))
        np.negative(grad, out=out[:, 0])
        np.negative(hess, out=out[:, 1])
        return out


def bench_catboost(X: np.ndarray, y: np.ndarray, rounds: int, repeat: int, threads: int) -> dict[str, float]:
    import catboost as cb

    pool = cb.Pool(X, y)
    pool.quantize()
    # Same tree and leaf-estimation settings for both (CatBoost's defaults differ between
    # built-in and Python objectives); the same built-in eval metric for both.
    base = {
        "iterations": rounds,
        "depth": 6,
        "learning_rate": 0.1,
        "thread_count": threads,
        "leaf_estimation_method": "Newton",
        "leaf_estimation_iterations": 1,
        "leaf_estimation_backtracking": "No",
        "eval_metric": "Logloss",
        "boost_from_average": False,
        "verbose": False,
        "allow_writing_files": False,
    }
    builtin = f"Focal:focal_alpha={ALPHA};focal_gamma={GAMMA}"
    obj = CatBoostFocalObjective(FocalLoss(gamma=GAMMA, alpha=ALPHA, epsilon=0.0))
    cb.CatBoost({**base, "iterations": 1, "loss_function": builtin}).fit(pool)  # warm-ups, not timed
    cb.CatBoost({**base, "iterations": 1, "loss_function": obj}).fit(pool)
    times: dict[str, float] = {"built-in Focal": float("inf"), "focal": float("inf")}
    for _ in range(repeat):
        times["built-in Focal"] = min(
            times["built-in Focal"], timed(lambda: cb.CatBoost({**base, "loss_function": builtin}).fit(pool))
        )
        times["focal"] = min(times["focal"], timed(lambda: cb.CatBoost({**base, "loss_function": obj}).fit(pool)))
    approx = np.random.default_rng(1).normal(-2.0, 1.0, y.shape[0])
    targets = y.astype(np.float64)
    obj.calc_ders_range(approx, targets, None)
    times["objective call"] = min(timed(lambda: obj.calc_ders_range(approx, targets, None)) for _ in range(5))
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5k rows, 3 rounds, 1 repeat, 1 thread (CI smoke run)")
    parser.add_argument("-n", type=int, default=None, help="rows (default 2M, 20k with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="boosting rounds (default 50, 10 with --quick)")
    parser.add_argument("--repeat", type=int, default=None, help="runs of each, best taken (default 2, 1)")
    parser.add_argument("--threads", type=int, default=None, help="library threads (default: all CPUs, 1 with --quick)")
    parser.add_argument("--only", nargs="+", choices=["lightgbm", "xgboost", "catboost"], default=None)
    args = parser.parse_args(argv)
    n = args.n or (5_000 if args.quick else 2_000_000)
    rounds = args.rounds or (3 if args.quick else 50)
    repeat = args.repeat or (1 if args.quick else 2)
    # --quick is a smoke run: one thread keeps OpenMP from spin-waiting on a busy CI machine.
    args.threads = args.threads or (1 if args.quick else os.cpu_count() or 1)
    X, y = make_data(n)
    print(f"# training: {n:,} x {X.shape[1]} float32, {y.mean():.1%} positive, {rounds} rounds, best of {repeat}")
    fast = dispatch.kernels() is not None
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, {args.threads} threads, fast: {fast}")
    print(f"# focal: gamma={GAMMA}, alpha={ALPHA} (focalboost epsilon=1e-3; CatBoost comparison epsilon=0)")
    print()
    print("| library  | objective                | seconds | ratio to built-in | objective s/round |")
    print("|----------|--------------------------|---------|-------------------|-------------------|")
    benches = {"lightgbm": bench_lightgbm, "xgboost": bench_xgboost, "catboost": bench_catboost}
    for name in args.only or list(benches):
        try:
            times = benches[name](X, y, rounds, repeat, args.threads)
        except ImportError as exc:  # pragma: no cover - a library not installed
            print(f"| {name:<8} | skipped: {exc} |")
            continue
        per_call = times.pop("objective call")
        builtin_name, builtin = next(iter(times.items()))
        for label, t in times.items():
            ratio = t / builtin
            share = f"{per_call:.4f}" if label == "focal" else ""
            print(f"| {name:<8} | {label:<24} | {t:>7.2f} | {ratio:>16.2f}x | {share:>17} |")


if __name__ == "__main__":
    main()
