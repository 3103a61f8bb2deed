"""The three libraries, focal loss against log-loss
================================================

LightGBM, XGBoost and CatBoost, each trained with the focal loss and with its
built-in log-loss on the same imbalanced problem (1 positive in 100), one comparison table::

    python examples/demo.py            # ~1 minute on 2 CPU cores
    python examples/demo.py --quick    # a smaller problem, for CI

Metrics on a held-out test set: PR-AUC (average precision; the metric that matters at 1:100),
ROC-AUC, and log-loss of the predicted probabilities. The focal loss trades calibration for
ranking of the rare class, so its log-loss is expected to be higher.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split


def make_data(n_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    X, y = make_classification(
        n_samples=n_samples,
        n_features=20,
        n_informative=8,
        n_redundant=4,
        weights=[0.99],
        flip_y=0.005,
        class_sep=0.8,
        random_state=seed,
    )
    return tuple(train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed))


def models(n_trees: int, seed: int, focal: dict) -> list[tuple[str, str, object]]:
    """(library, objective, estimator) pairs with the same tree settings per library."""
    out: list[tuple[str, str, object]] = []
    try:
        import lightgbm as lgb

        from focalboost.lightgbm import FocalLGBMClassifier

        kw = dict(n_estimators=n_trees, learning_rate=0.05, num_leaves=15, n_jobs=2, random_state=seed, verbose=-1)
        out += [
            ("LightGBM", "binary (built-in)", lgb.LGBMClassifier(objective="binary", **kw)),
            ("LightGBM", "focal", FocalLGBMClassifier(**focal, **kw)),
        ]
    except ImportError:
        print("lightgbm not installed: skipped")
    try:
        import xgboost as xgb

        from focalboost.xgboost import FocalXGBClassifier

        kw = dict(n_estimators=n_trees, learning_rate=0.05, max_depth=4, n_jobs=2, random_state=seed)
        out += [
            ("XGBoost", "binary:logistic (built-in)", xgb.XGBClassifier(objective="binary:logistic", **kw)),
            ("XGBoost", "focal", FocalXGBClassifier(**focal, **kw)),
        ]
    except ImportError:
        print("xgboost not installed: skipped")
    try:
        import catboost

        from focalboost.catboost import FocalCatBoostClassifier

        kw = dict(iterations=n_trees, learning_rate=0.1, depth=5, thread_count=2, random_seed=seed, verbose=False)
        out += [
            ("CatBoost", "Logloss (built-in)", catboost.CatBoostClassifier(loss_function="Logloss", **kw)),
            ("CatBoost", "focal", FocalCatBoostClassifier(**focal, **kw)),
        ]
    except ImportError:
        print("catboost not installed: skipped")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--n-trees", type=int, default=200)
    parser.add_argument("--gamma", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="5,000 samples and 100 trees")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.n_trees = 5_000, 100

    X_train, X_test, y_train, y_test = make_data(args.n_samples, args.seed)
    print(
        f"{len(y_train)} training / {len(y_test)} test samples, {int(y_train.sum())} / {int(y_test.sum())} "
        f"positives; focal gamma={args.gamma}, alpha={args.alpha}, epsilon=1e-3\n"
    )
    focal = dict(focal_gamma=args.gamma, focal_alpha=args.alpha)
    rows = []
    for library, objective, model in models(args.n_trees, args.seed, focal):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        p = model.predict_proba(X_test)[:, 1]
        rows.append(
            (
                library,
                objective,
                average_precision_score(y_test, p),
                roc_auc_score(y_test, p),
                log_loss(y_test, p),
                seconds,
            )
        )

    header = f"{'library':<9} {'objective':<27} {'PR-AUC':>7} {'ROC-AUC':>8} {'log-loss':>9} {'fit s':>6}"
    print(header)
    print("-" * len(header))
    for library, objective, pr, roc, ll, seconds in rows:
        print(f"{library:<9} {objective:<27} {pr:7.4f} {roc:8.4f} {ll:9.4f} {seconds:6.1f}")


if __name__ == "__main__":
    main()
