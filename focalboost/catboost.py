"""focalboost for CatBoost: objective and metric objects, the init score as ``baseline``, and
the scikit-learn estimator :class:`FocalCatBoostClassifier`.

Requires ``catboost >= 1.2`` (``pip install focalboost[catboost]``).
"""

from ._catboost import (
    FocalCatBoostClassifier,
    apply_init_score,
    focal_metric,
    focal_objective,
    softmax_focal_metric,
    softmax_focal_objective,
)

__all__ = [
    "FocalCatBoostClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "softmax_focal_metric",
    "softmax_focal_objective",
]
