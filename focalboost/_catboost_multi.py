"""CatBoost's multiclass Python objective: CatBoost calls ``calc_ders_multi(approx, target,
weight)`` once per object, with ``approx`` the object's ``K`` raw scores, and expects the
derivatives of the **negated** loss: a gradient of length ``K`` and a ``K × K`` Hessian (here
diagonal, as in the other libraries).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._softmax_loss import SoftmaxFocalLoss

__all__ = ["SoftmaxFocalObjective"]


class SoftmaxFocalObjective:
    """CatBoost ``loss_function`` object for the softmax focal loss (``calc_ders_multi``).

    Create it with :func:`focalboost.catboost.softmax_focal_objective`.
    """

    no_jit = True

    def __init__(self, loss: SoftmaxFocalLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def calc_ders_multi(self, approx: Any, target: Any, weight: Any) -> tuple[np.ndarray, np.ndarray]:
        raw = np.asarray(approx, dtype=np.float64).reshape(1, -1)
        y = np.array([int(target)])
        w = None if weight is None else np.array([float(weight)])
        grad, hess = self.loss.gradient_hessian(y, raw, w, check_input=False)
        return -grad[0], np.diag(-hess[0])
