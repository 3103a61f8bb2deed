"""focalboost for LightGBM: objective and metric callables for ``lgb.train``, the init score,
and the scikit-learn estimator :class:`FocalLGBMClassifier`.

Requires ``lightgbm >= 4`` (``pip install focalboost[lightgbm]``).
"""

from ._lightgbm import (
    FocalLGBMClassifier,
    apply_init_score,
    focal_metric,
    focal_objective,
    softmax_focal_metric,
    softmax_focal_objective,
)

__all__ = [
    "FocalLGBMClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "softmax_focal_metric",
    "softmax_focal_objective",
]
