"""CatBoost's native API on a 1:100 problem
========================================

CatBoost with the focal loss on a 1:100 problem, against the built-in "Logloss"::

    python examples/catboost_imbalanced.py

Shows the native route: the objective and metric objects, the init score as the Pools'
``baseline``, early stopping on the focal metric, and raw scores turned into probabilities
(CatBoost's model does not contain the baseline).
"""

from __future__ import annotations

import numpy as np
from catboost import CatBoost, CatBoostClassifier, Pool
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from focalboost import FocalLoss
from focalboost.catboost import apply_init_score, focal_metric, focal_objective

# %%
# One imbalanced problem (1 positive in 100), split into training, validation and test sets.

X, y = make_classification(20_000, 20, n_informative=8, weights=[0.99], flip_y=0.005, class_sep=0.8, random_state=0)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
X_tr, X_va, y_tr, y_va = train_test_split(X_tr, y_tr, test_size=0.2, stratify=y_tr, random_state=0)
# CatBoost picks learning_rate=0.03 for Python objectives instead of its automatic choice: set it
base = {
    "iterations": 1000,
    "learning_rate": 0.1,
    "depth": 5,
    "random_seed": 0,
    "verbose": False,
    "early_stopping_rounds": 50,
}

# %%
# The focal loss: objective and metric objects, the init score as the Pools' baseline.

gamma, alpha = 2.0, 0.25
objective = focal_objective(gamma=gamma, alpha=alpha)
train, valid = Pool(X_tr, y_tr), Pool(X_va, y_va)
init = apply_init_score(train, valid, objective=objective)
focal = CatBoost({**base, "loss_function": objective, "eval_metric": focal_metric(gamma=gamma, alpha=alpha)})
focal.fit(train, eval_set=valid)
raw = focal.predict(X_te, prediction_type="RawFormulaVal") + init
p_focal = FocalLoss(gamma=gamma, alpha=alpha).predict_proba(raw)[:, 1]

# %%
# The built-in log-loss with the same settings, and both on the test set.

builtin = CatBoostClassifier(loss_function="Logloss", **base).fit(X_tr, y_tr, eval_set=(X_va, y_va))
p_builtin = builtin.predict_proba(X_te)[:, 1]

print(f"{'objective':<10} {'trees':>5} {'PR-AUC':>7} {'ROC-AUC':>8} {'log-loss':>9}")
for name, model, p in [("Logloss", builtin, p_builtin), ("focal", focal, p_focal)]:
    print(
        f"{name:<10} {model.get_best_iteration() + 1:>5} {average_precision_score(y_te, p):7.4f} "
        f"{roc_auc_score(y_te, p):8.4f} {log_loss(y_te, np.clip(p, 1e-15, 1 - 1e-15)):9.4f}"
    )
