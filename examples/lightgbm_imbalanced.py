"""LightGBM's native API on a 1:100 problem
========================================

LightGBM's native API with the focal loss on a 1:100 problem, against the built-in "binary"::

    python examples/lightgbm_imbalanced.py

Shows the whole native route: the objective in ``params["objective"]``, the focal metric as
``feval`` with early stopping, the init score on both Datasets, and raw scores turned into
probabilities (LightGBM never adds the init score back).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from focalboost import FocalLoss
from focalboost.lightgbm import apply_init_score, focal_metric, focal_objective

# %%
# One imbalanced problem (1 positive in 100), split into training, validation and test sets.

X, y = make_classification(20_000, 20, n_informative=8, weights=[0.99], flip_y=0.005, class_sep=0.8, random_state=0)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
X_tr, X_va, y_tr, y_va = train_test_split(X_tr, y_tr, test_size=0.2, stratify=y_tr, random_state=0)
base = {"learning_rate": 0.05, "num_leaves": 15, "verbose": -1, "seed": 0}

# %%
# The focal loss: objective, metric and init score share the parameters.

gamma, alpha = 2.0, 0.25
objective = focal_objective(gamma=gamma, alpha=alpha)
dtrain, dvalid = lgb.Dataset(X_tr, y_tr), lgb.Dataset(X_va, y_va)
init = apply_init_score(dtrain, dvalid, objective=objective)
focal = lgb.train(
    {**base, "objective": objective, "metric": "None"},
    dtrain,
    num_boost_round=1000,
    valid_sets=[dvalid],
    feval=focal_metric(gamma=gamma, alpha=alpha),
    callbacks=[lgb.early_stopping(50, verbose=False)],
)
p_focal = FocalLoss(gamma=gamma, alpha=alpha).predict_proba(focal.predict(X_te, raw_score=True) + init)[:, 1]

# %%
# The built-in log-loss, same settings and early stopping on its own metric; both on the test set.

builtin = lgb.train(
    {**base, "objective": "binary"},
    lgb.Dataset(X_tr, y_tr),
    num_boost_round=1000,
    valid_sets=[lgb.Dataset(X_va, y_va)],
    callbacks=[lgb.early_stopping(50, verbose=False)],
)
p_builtin = builtin.predict(X_te)

print(f"{'objective':<10} {'trees':>5} {'PR-AUC':>7} {'ROC-AUC':>8} {'log-loss':>9}")
for name, booster, p in [("binary", builtin, p_builtin), ("focal", focal, p_focal)]:
    print(
        f"{name:<10} {booster.best_iteration:>5} {average_precision_score(y_te, p):7.4f} "
        f"{roc_auc_score(y_te, p):8.4f} {log_loss(y_te, np.clip(p, 1e-15, 1 - 1e-15)):9.4f}"
    )
