"""focalboost for XGBoost: ``obj`` and ``custom_metric`` callables for ``xgb.train``, the init
score as ``base_margin``, and the scikit-learn estimator :class:`FocalXGBClassifier`.

Requires ``xgboost >= 2`` (``pip install focalboost[xgboost]``).
"""

from ._xgboost import (
    FocalXGBClassifier,
    apply_init_score,
    focal_metric,
    focal_objective,
    softmax_focal_metric,
    softmax_focal_objective,
)

__all__ = [
    "FocalXGBClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "softmax_focal_metric",
    "softmax_focal_objective",
]
