"""XGBoost's native API on a 1:100 problem
=======================================

XGBoost's native API with the focal loss on a 1:100 problem, against "binary:logistic"::

    python examples/xgboost_imbalanced.py

Shows the whole native route: ``obj`` and ``custom_metric`` for ``xgb.train`` with early
stopping, the init score as ``base_margin`` of every DMatrix (which keeps ``base_score`` out, at
prediction time too), and margins turned into probabilities.
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from focalboost import FocalLoss
from focalboost.xgboost import apply_init_score, focal_metric, focal_objective

# %%
# One imbalanced problem (1 positive in 100), split into training, validation and test sets.

X, y = make_classification(20_000, 20, n_informative=8, weights=[0.99], flip_y=0.005, class_sep=0.8, random_state=0)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
X_tr, X_va, y_tr, y_va = train_test_split(X_tr, y_tr, test_size=0.2, stratify=y_tr, random_state=0)
base = {"eta": 0.05, "max_depth": 4, "seed": 0}

# %%
# The focal loss: ``obj`` and ``custom_metric``, the init score as ``base_margin``.

gamma, alpha = 2.0, 0.25
objective = focal_objective(gamma=gamma, alpha=alpha)
dtrain, dvalid = xgb.DMatrix(X_tr, y_tr), xgb.DMatrix(X_va, y_va)
init = apply_init_score(dtrain, dvalid, objective=objective)
focal = xgb.train(
    {**base, "disable_default_eval_metric": 1},
    dtrain,
    num_boost_round=1000,
    obj=objective,
    custom_metric=focal_metric(gamma=gamma, alpha=alpha),
    evals=[(dvalid, "valid")],
    early_stopping_rounds=50,
    verbose_eval=False,
)
dtest = xgb.DMatrix(X_te, base_margin=np.full(len(X_te), init))  # the start replaces base_score
margin = focal.predict(dtest, output_margin=True, iteration_range=(0, focal.best_iteration + 1))
p_focal = FocalLoss(gamma=gamma, alpha=alpha).predict_proba(margin)[:, 1]

# %%
# The built-in log-loss with the same settings, and both on the test set.

builtin = xgb.train(
    {**base, "objective": "binary:logistic", "eval_metric": "logloss"},
    xgb.DMatrix(X_tr, y_tr),
    num_boost_round=1000,
    evals=[(xgb.DMatrix(X_va, y_va), "valid")],
    early_stopping_rounds=50,
    verbose_eval=False,
)
p_builtin = builtin.predict(xgb.DMatrix(X_te), iteration_range=(0, builtin.best_iteration + 1))

print(f"{'objective':<16} {'trees':>5} {'PR-AUC':>7} {'ROC-AUC':>8} {'log-loss':>9}")
for name, booster, p in [("binary:logistic", builtin, p_builtin), ("focal", focal, p_focal)]:
    print(
        f"{name:<16} {booster.best_iteration + 1:>5} {average_precision_score(y_te, p):7.4f} "
        f"{roc_auc_score(y_te, p):8.4f} {log_loss(y_te, np.clip(p, 1e-15, 1 - 1e-15)):9.4f}"
    )
