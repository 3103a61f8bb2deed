"""Effect of the Hessian policy (``hessian="positive"``, the default, vs ``"exact"``) on boosting.

    python benchmarks/bench_hessian_policy.py            # ~3 minutes on 2 shared CPU cores
    python benchmarks/bench_hessian_policy.py --quick

The exact second derivative of the focal loss is negative on badly misclassified points; a Newton
step ``-G / (H + lambda)`` over a leaf where those points dominate can point the wrong way or blow
up. Two imbalanced (1:20) problems with label noise, LightGBM and XGBoost estimators,
gamma in {0.5, 2, 5}, epsilon=1e-3 (the default):

* ``noise``: 10% of the labels flipped, an aggressive learning rate (0.3);
* ``warm-start``: the same data, but training starts from a confidently wrong model: a tenth of
  the positives get a raw-score offset of -8 (p ~ 1e-4), deep in the negative-Hessian region.

Reported per run: the focal loss on the training and validation sets after the last round, the
validation ROC-AUC and PR-AUC, the share of training rounds where the training loss went up, and
NaN / divergence (final training loss above the starting one).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from focalboost import FocalLoss


def data(n: int, seed: int) -> tuple[np.ndarray, ...]:
    X, y = make_classification(n, 20, n_informative=8, weights=[0.95], flip_y=0.0, class_sep=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.10, 1 - y, y)
    return tuple(train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed))


def fit(library: str, gamma: float, policy: str, rounds: int, X, y, Xv, yv, offset, offset_v):
    kw = dict(focal_gamma=gamma, focal_hessian=policy, n_estimators=rounds, learning_rate=0.3, random_state=0, n_jobs=2)
    if library == "LightGBM":
        from focalboost.lightgbm import FocalLGBMClassifier

        est = FocalLGBMClassifier(num_leaves=15, verbose=-1, **kw)
        est.fit(X, y, init_score=offset, eval_set=[(X, y), (Xv, yv)], eval_init_score=[offset, offset_v])
        curves = [np.asarray(r["focal_loss"]) for r in est.evals_result_.values()]
    else:
        from focalboost.xgboost import FocalXGBClassifier

        est = FocalXGBClassifier(max_depth=4, **kw)
        est.fit(
            X,
            y,
            base_margin=offset,
            eval_set=[(X, y), (Xv, yv)],
            base_margin_eval_set=[offset, offset_v],
            verbose=False,
        )
        curves = [np.asarray(r["focal_loss"]) for r in est.evals_result_.values()]
    return est, curves[0], curves[1]


def catboost_multiclass(n: int, iterations: int) -> None:
    """Time CatBoost's per-object multiclass routes against its built-in MultiClass."""
    import time

    from catboost import CatBoost, Pool

    from focalboost import MulticlassFocalLoss
    from focalboost.catboost import focal_metric, focal_objective

    X, y = make_classification(n, 8, n_informative=6, n_classes=4, random_state=0)
    loss = MulticlassFocalLoss(gamma=2.0)

    class LossObjectRoute:
        """One row through MulticlassFocalLoss.gradient_hessian per object."""

        no_jit = True

        def calc_ders_multi(self, approx, target, weight):
            g, h = loss.gradient_hessian(
                np.array([int(target)]), np.asarray(approx, dtype=np.float64).reshape(1, -1), None, check_input=False
            )
            return -g[0], np.diag(-h[0])

    common = dict(
        iterations=iterations, learning_rate=0.1, depth=4, thread_count=1, random_seed=0, verbose=False, classes_count=4
    )
    times = {}
    for name, objective in [
        ("MultiClass (built-in)", "MultiClass"),
        ("loss object, 1 row", LossObjectRoute()),
        ("plain floats (shipped)", focal_objective(n_classes=4, gamma=2.0, alpha=None)),
    ]:
        params = {**common, "loss_function": objective}
        if not isinstance(objective, str):
            params["eval_metric"] = focal_metric(n_classes=4, gamma=2.0, alpha=None)
        start = time.perf_counter()
        CatBoost(params).fit(Pool(X, y))
        times[name] = time.perf_counter() - start
    base = times["MultiClass (built-in)"]
    print(f"CatBoost multiclass, {n} objects x 4 classes, {iterations} iterations, 1 thread")
    for name, t in times.items():
        print(f"  {name:<24} {t:7.2f} s  {t / base:6.1f}x  {t / (n * iterations) * 1e6:7.1f} us/object/iteration")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--catboost-multiclass",
        action="store_true",
        help="instead: time CatBoost's multiclass objective routes against MultiClass",
    )
    parser.add_argument("--n-samples", type=int, default=6_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.rounds = 3_000, 50
    if args.catboost_multiclass:
        catboost_multiclass(2000, 20)
        return
    X, Xv, y, yv = data(args.n_samples, 0)
    scenarios = {"noise": (None, None)}
    wrong, wrong_v = ((yy == 1) & (np.arange(yy.size) % 10 == 0) for yy in (y, yv))
    scenarios["warm-start"] = (np.where(wrong, -8.0, 0.0), np.where(wrong_v, -8.0, 0.0))

    print(
        f"{len(y)} train / {len(yv)} valid samples, {y.mean():.3f} positive (10% labels flipped), "
        f"{args.rounds} rounds, learning_rate 0.3, epsilon 1e-3\n"
    )
    header = (
        f"{'scenario':<10} {'library':<8} {'gamma':>5} {'hessian':<8} {'train loss':>10} {'valid loss':>10} "
        f"{'ROC-AUC':>7} {'PR-AUC':>7} {'rounds up':>9} {'NaN/diverged':>12}"
    )
    print(header)
    print("-" * len(header))
    for scenario, (off, off_v) in scenarios.items():
        for library in ("LightGBM", "XGBoost"):
            for gamma in (0.5, 2.0, 5.0):
                for policy in ("positive", "exact"):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        est, train_curve, valid_curve = fit(
                            library, gamma, policy, args.rounds, X, y, Xv, yv, off, off_v
                        )
                    # raw margins (focal_proba="link": decision_function is the margin itself)
                    margin = est.set_params(focal_proba="link").decision_function(Xv)
                    margin = margin + (0.0 if off_v is None else off_v)
                    p = FocalLoss().predict_proba(margin, kind="link")[:, 1]
                    finite = bool(np.all(np.isfinite(train_curve)) and np.all(np.isfinite(p)))
                    start = FocalLoss(gamma=gamma).loss(
                        y.astype(float), np.full(y.shape, est.init_score_) + (0.0 if off is None else off)
                    )
                    diverged = (not finite) or train_curve[-1] > float(np.mean(start))
                    ups = float(np.mean(np.diff(train_curve) > 1e-12 * train_curve[:-1]))
                    roc = roc_auc_score(yv, p) if finite else float("nan")
                    pr = average_precision_score(yv, p) if finite else float("nan")
                    flag = "NaN" if not finite else ("diverged" if diverged else "no")
                    print(
                        f"{scenario:<10} {library:<8} {gamma:5.1f} {policy:<8} {train_curve[-1]:10.5f} "
                        f"{valid_curve[-1]:10.5f} {roc:7.4f} {pr:7.4f} {ups:9.0%} {flag:>12}"
                    )


if __name__ == "__main__":
    main()
