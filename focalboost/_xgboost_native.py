"""XGBoost native route: ``obj`` and ``custom_metric`` callables for ``xgb.train`` and the init
score as ``base_margin`` (see :mod:`focalboost._xgboost` for the translations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xgboost as xgb

from . import _fast
from ._estimator import (
    AnyLoss,
    constant_rows,
)
from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss

METRIC_NAME = "focal_loss"


def _weight(dmat: xgb.DMatrix) -> np.ndarray | None:
    w = dmat.get_weight()
    return None if w.size == 0 else w.astype(np.float64)


def _margin(predt: np.ndarray) -> np.ndarray:
    # XGBoost hands float32 margins; the derivatives are computed in float64 (XGBoost rounds
    # them to float32 afterwards), as its built-in objectives do internally.
    return np.asarray(predt, dtype=np.float64)


def _derivatives(loss: AnyLoss, y_true: Any, predt: Any, weight: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(loss, FocalLoss) and _fast.enabled() and getattr(predt, "dtype", None) == np.float32:
        # The fused kernel reads XGBoost's float32 arrays as they are, computes in float64 and
        # rounds once to float32, which is what XGBoost keeps: the same numbers as converting
        # first, without three conversions of every row per round (measured in bench_training).
        w = None if weight is None else np.asarray(weight, dtype=np.float32)
        return loss.gradient_hessian(y_true, predt, w)
    grad, hess = loss.gradient_hessian(np.asarray(y_true, dtype=np.float64), _margin(predt), weight)
    if hess.ndim == 2:
        # XGBoost's own "multi:softprob" uses twice the diagonal softmax Hessian (a bound on the
        # full Hessian's curvature, since all class scores move at once). The same convention
        # here, so that gamma=0 reproduces "multi:softprob".
        hess = 2.0 * hess
    return grad, hess


class FocalObjective:
    """``obj`` callable for ``xgb.train``: ``(predt, dmat) -> (grad, hess)``.

    Create it with :func:`focal_objective` (shapes ``(n_samples,)``) or
    :func:`softmax_focal_objective` (shapes ``(n_samples, n_classes)``, with
    ``params["num_class"]``). Gradients and Hessians are multiplied by the weights.
    """

    def __init__(self, loss: AnyLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, predt: np.ndarray, dmat: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
        return _derivatives(self.loss, dmat.get_label(), predt, _weight(dmat))


class FocalMetric:
    """``custom_metric`` callable for ``xgb.train``: ``("focal_loss", weighted mean loss)``.

    Lower is better (XGBoost's early stopping minimizes metrics not named like AUC).
    """

    __name__ = METRIC_NAME  # XGBoost's scikit-learn wrapper names a metric by its __name__

    def __init__(self, loss: AnyLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, predt: np.ndarray, dmat: xgb.DMatrix) -> tuple[str, float]:
        return METRIC_NAME, self.score(dmat.get_label(), predt, _weight(dmat))

    def score(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        """The scikit-learn form ``(y_true, y_pred, sample_weight)`` of the same metric."""
        values = self.loss.loss(np.asarray(y_true, dtype=np.float64), _margin(y_pred), sample_weight)
        if sample_weight is None:
            return float(np.mean(values))
        return float(np.sum(values) / np.sum(sample_weight))


class _SklearnObjective(FocalObjective):
    """``objective`` form for ``XGBClassifier``: ``(y_true, y_pred, sample_weight=None)``."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        return _derivatives(self.loss, y_true, y_pred, sample_weight)


class _SklearnMetric(FocalMetric):
    """``eval_metric`` form for ``XGBClassifier``: ``(y_true, y_pred, sample_weight=None) -> float``."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:  # type: ignore[override]
        return self.score(y_true, y_pred, sample_weight)


def focal_objective(
    *, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3, hessian: str = "positive"
) -> FocalObjective:
    """The binary focal loss as an XGBoost objective, for ``xgb.train(..., obj=...)``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.

    Returns
    -------
    FocalObjective
        ``obj(predt, dmat) -> (grad, hess)``, each of shape ``(n_samples,)``.

    Notes
    -----
    Call :func:`apply_init_score` on every DMatrix first (it sets ``base_margin``, which keeps
    XGBoost's ``base_score`` out) and give any DMatrix you predict on the same ``base_margin``.
    Adding the constant to predictions made *without* a ``base_margin`` is wrong: XGBoost then
    adds its ``base_score`` (0.5, or an intercept it estimated) to the margin.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> from focalboost import FocalLoss
    >>> from focalboost.xgboost import focal_objective, focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> dtrain = xgb.DMatrix(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(dtrain, objective=obj)
    >>> booster = xgb.train({"disable_default_eval_metric": 1}, dtrain, 10, obj=obj,
    ...                     custom_metric=focal_metric(gamma=2.0, alpha=0.25),
    ...                     evals=[(dtrain, "train")], verbose_eval=False)
    >>> dtest = xgb.DMatrix(X, base_margin=np.full(len(X), init))  # the start, instead of base_score
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(booster.predict(dtest, output_margin=True))
    >>> bool(((proba > 0) & (proba < 1)).all())
    True
    """
    return FocalObjective(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def focal_metric(*, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean binary focal loss as an XGBoost ``custom_metric``: ``("focal_loss", value)``.

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.FocalLoss`.
    """
    return FocalMetric(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def softmax_focal_objective(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3, hessian: str = "positive"
) -> FocalObjective:
    """The multiclass (softmax) focal loss as an XGBoost objective; set ``params["num_class"]``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.SoftmaxFocalLoss`.

    Returns
    -------
    FocalObjective
        ``obj(predt, dmat) -> (grad, hess)`` of shape ``(n_samples, n_classes)``; the Hessian is
        twice the diagonal, XGBoost's convention for ``multi:softprob``.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> from focalboost import SoftmaxFocalLoss
    >>> from focalboost.xgboost import softmax_focal_objective, softmax_focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = np.digitize(X[:, 0] + rng.normal(size=600), [-1.0, 1.0])
    >>> dtrain = xgb.DMatrix(X, y)
    >>> obj = softmax_focal_objective(gamma=2.0)
    >>> init = apply_init_score(dtrain, objective=obj)  # shape (3,)
    >>> booster = xgb.train({"num_class": 3, "disable_default_eval_metric": 1}, dtrain, 10, obj=obj,
    ...                     custom_metric=softmax_focal_metric(gamma=2.0))
    >>> dtest = xgb.DMatrix(X, base_margin=np.tile(init, (len(X), 1)))
    >>> proba = SoftmaxFocalLoss(gamma=2.0).predict_proba(booster.predict(dtest, output_margin=True))
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((600, 3), True)
    """
    return FocalObjective(SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def softmax_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as an XGBoost ``custom_metric`` (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.SoftmaxFocalLoss`.
    """
    return FocalMetric(SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def apply_init_score(train_set: xgb.DMatrix, *other_sets: xgb.DMatrix, objective: FocalObjective) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_set`` and set it as ``base_margin`` of all sets.

    Parameters
    ----------
    train_set : xgboost.DMatrix
        Training data with labels (``{0, 1}``, or class indices for a softmax objective) and
        optional weights.
    *other_sets : xgboost.DMatrix
        Evaluation sets; each gets the same constant as ``base_margin``.
    objective : FocalObjective
        The objective to train with, from :func:`focal_objective` or :func:`softmax_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. Set it (repeated per row) as ``base_margin`` of every DMatrix you
        predict on: without one, XGBoost adds its ``base_score`` instead.
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(f"objective must come from focal_objective or softmax_focal_objective, got {objective!r}")
    label = train_set.get_label()
    if label.size == 0:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    loss = objective.loss
    y = label.astype(np.float64)
    if isinstance(loss, FocalLoss):
        init: float | np.ndarray = loss.init_score(y, _weight(train_set))
    else:
        k = len(loss.alpha) if loss.alpha is not None else int(y.max()) + 1
        init = loss.init_score(y, _weight(train_set), n_classes=k)
    for dm in (train_set, *other_sets):
        dm.set_base_margin(constant_rows(dm.num_row(), init))
    return init
