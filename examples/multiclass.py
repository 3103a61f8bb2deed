"""Multiclass: per-class recall on four imbalanced classes
=======================================================

Multiclass focal loss with LightGBM, XGBoost and CatBoost on a 4-class imbalanced problem
(class shares 70 / 20 / 7 / 3 %): per-class recall against each library's built-in multiclass
objective::

    python examples/multiclass.py            # ~1-2 minutes on 2 CPU cores
    python examples/multiclass.py --quick

The estimators switch to the softmax focal loss by themselves for more than two classes;
``focal_alpha`` takes one weight per class (here ``None``: the focusing alone).
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=12_000)
    parser.add_argument("--n-trees", type=int, default=150)
    parser.add_argument("--gamma", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="3,000 samples, 60 trees")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.n_trees = 3_000, 60

    X, y = make_classification(
        args.n_samples,
        20,
        n_informative=10,
        n_redundant=4,
        n_classes=4,
        n_clusters_per_class=2,
        weights=[0.70, 0.20, 0.07, 0.03],
        class_sep=0.8,
        random_state=0,
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    focal = dict(focal_gamma=args.gamma, focal_alpha=None)
    runs = []
    try:
        import lightgbm as lgb

        from focalboost.lightgbm import FocalLGBMClassifier

        kw = dict(n_estimators=args.n_trees, learning_rate=0.05, num_leaves=15, n_jobs=2, random_state=0, verbose=-1)
        runs += [
            ("LightGBM", "multiclass", lgb.LGBMClassifier(objective="multiclass", **kw)),
            ("LightGBM", "focal", FocalLGBMClassifier(**focal, **kw)),
        ]
    except ImportError:
        print("lightgbm not installed: skipped")
    try:
        import xgboost as xgb

        from focalboost.xgboost import FocalXGBClassifier

        kw = dict(n_estimators=args.n_trees, learning_rate=0.1, max_depth=4, n_jobs=2, random_state=0)
        runs += [
            ("XGBoost", "multi:softprob", xgb.XGBClassifier(objective="multi:softprob", **kw)),
            ("XGBoost", "focal", FocalXGBClassifier(**focal, **kw)),
        ]
    except ImportError:
        print("xgboost not installed: skipped")
    try:
        import catboost

        from focalboost.catboost import FocalCatBoostClassifier

        # CatBoost calls a Python multiclass objective once per object: fewer, deeper trees here
        kw = dict(
            iterations=max(args.n_trees // 3, 20),
            learning_rate=0.3,
            depth=6,
            thread_count=2,
            random_seed=0,
            verbose=False,
        )
        runs += [
            ("CatBoost", "MultiClass", catboost.CatBoostClassifier(loss_function="MultiClass", **kw)),
            ("CatBoost", "focal", FocalCatBoostClassifier(**focal, **kw)),
        ]
    except ImportError:
        print("catboost not installed: skipped")

    print(f"{len(y_tr)} training / {len(y_te)} test samples; class counts in test: {np.bincount(y_te).tolist()}\n")
    header = f"{'library':<9} {'objective':<15} " + " ".join(f"{f'recall {c}':>9}" for c in range(4)) + "  bal.acc"
    print(header)
    print("-" * len(header))
    for library, objective, model in runs:
        model.fit(X_tr, y_tr)
        pred = np.asarray(model.predict(X_te)).reshape(-1)
        recalls = recall_score(y_te, pred, average=None, labels=[0, 1, 2, 3])
        print(
            f"{library:<9} {objective:<15} "
            + " ".join(f"{r:9.3f}" for r in recalls)
            + f"  {balanced_accuracy_score(y_te, pred):7.3f}"
        )


if __name__ == "__main__":
    main()
