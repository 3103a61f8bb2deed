"""LightGBM native route: objective and metric callables for ``lgb.train`` and the init score
on Datasets (see :mod:`focalboost._lightgbm` for the translations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np

from ._estimator import AnyLoss, constant_rows
from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss

METRIC_NAME = "focal_loss"


def _labels(loss: AnyLoss, label: Any) -> np.ndarray:
    # LightGBM stores labels as float32; class indices are exact in it.
    return np.asarray(label, dtype=np.float64).reshape(-1)


def _weights(weight: Any) -> np.ndarray | None:
    return None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)


class FocalObjective:
    """``params["objective"]`` callable for ``lgb.train``: ``(preds, dataset) -> (grad, hess)``.

    Create it with :func:`focal_objective` (binary: ``preds`` and outputs of shape
    ``(n_samples,)``) or :func:`softmax_focal_objective` (multiclass: ``(n_samples, n_classes)``,
    with ``params["num_class"]``). Gradients and Hessians are multiplied by the dataset's weights.
    """

    def __init__(self, loss: AnyLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, preds: np.ndarray, dataset: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        grad, hess = self.loss.gradient_hessian(
            _labels(self.loss, dataset.get_label()), preds, _weights(dataset.get_weight())
        )
        if hess.ndim == 2:
            # LightGBM's own "multiclass" objective scales the diagonal Hessian by K / (K − 1)
            # (Friedman's (K − 1) / K shrinkage of multiclass Newton steps, which all move at
            # once). The same convention here, so that gamma=0 reproduces "multiclass".
            k = hess.shape[1]
            hess = hess * (k / (k - 1.0))
        return grad, hess


class FocalMetric:
    """``feval`` callable for ``lgb.train``: the weighted mean focal loss, lower is better.

    Create it with :func:`focal_metric` or :func:`softmax_focal_metric`. Returns
    ``("focal_loss", value, False)``.
    """

    def __init__(self, loss: AnyLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, preds: np.ndarray, eval_data: lgb.Dataset) -> tuple[str, float, bool]:
        return self.score(eval_data.get_label(), preds, eval_data.get_weight())

    def score(self, y_true: Any, y_pred: Any, weight: Any = None) -> tuple[str, float, bool]:
        """The scikit-learn-API form ``(y_true, y_pred, weight)`` of the same metric."""
        w = _weights(weight)
        values = self.loss.loss(_labels(self.loss, y_true), y_pred, w)
        mean = float(np.mean(values)) if w is None else float(np.sum(values) / np.sum(w))
        return METRIC_NAME, mean, False


class _SklearnMetric(FocalMetric):
    """``eval_metric`` form for ``LGBMClassifier.fit``: LightGBM counts the arguments."""

    def __call__(self, y_true: Any, y_pred: Any, weight: Any) -> tuple[str, float, bool]:  # type: ignore[override]
        return self.score(y_true, y_pred, weight)


def focal_objective(
    *, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3, hessian: str = "positive"
) -> FocalObjective:
    """The binary focal loss as a LightGBM objective, for ``params["objective"]`` of ``lgb.train``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.

    Returns
    -------
    FocalObjective
        ``objective(preds, dataset) -> (grad, hess)``, each of shape ``(n_samples,)``.

    Notes
    -----
    A custom objective starts every booster at raw score 0; call :func:`apply_init_score` on
    the datasets first and add the returned constant to ``booster.predict(X, raw_score=True)``.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> from focalboost import FocalLoss
    >>> from focalboost.lightgbm import focal_objective, focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> dtrain = lgb.Dataset(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(dtrain, objective=obj)
    >>> params = {"objective": obj, "metric": "None", "verbose": -1}
    >>> booster = lgb.train(params, dtrain, 10, valid_sets=[dtrain], feval=focal_metric(gamma=2.0, alpha=0.25))
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(booster.predict(X, raw_score=True) + init)
    >>> bool(((proba > 0) & (proba < 1)).all())
    True
    """
    return FocalObjective(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def focal_metric(*, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean binary focal loss as a LightGBM ``feval``: ``("focal_loss", value, False)``.

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.FocalLoss`.
    """
    return FocalMetric(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def softmax_focal_objective(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3, hessian: str = "positive"
) -> FocalObjective:
    """The multiclass (softmax) focal loss as a LightGBM objective; set ``params["num_class"]``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.SoftmaxFocalLoss` (``alpha``: ``None`` or one weight per class).

    Returns
    -------
    FocalObjective
        ``objective(preds, dataset) -> (grad, hess)``, each of shape ``(n_samples, n_classes)``
        (LightGBM ≥ 4 passes 2-D ``preds``); the diagonal Hessian.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> from focalboost import SoftmaxFocalLoss
    >>> from focalboost.lightgbm import softmax_focal_objective, softmax_focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = np.digitize(X[:, 0] + rng.normal(size=600), [-1.0, 1.0])
    >>> dtrain = lgb.Dataset(X, y)
    >>> obj = softmax_focal_objective(gamma=2.0)
    >>> init = apply_init_score(dtrain, objective=obj)  # shape (3,)
    >>> params = {"objective": obj, "num_class": 3, "metric": "None", "verbose": -1}
    >>> booster = lgb.train(params, dtrain, 10, valid_sets=[dtrain], feval=softmax_focal_metric(gamma=2.0))
    >>> proba = SoftmaxFocalLoss(gamma=2.0).predict_proba(booster.predict(X, raw_score=True) + init)
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((600, 3), True)
    """
    return FocalObjective(SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def softmax_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as a LightGBM ``feval`` (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.SoftmaxFocalLoss`.
    """
    return FocalMetric(SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def _field(dataset: lgb.Dataset, name: str) -> Any:
    """A label or weight of a Dataset, constructed or not (``get_*`` raises before construction)."""
    value = getattr(dataset, name)
    if value is None:
        try:
            value = dataset.get_field(name)
        except Exception:  # not constructed yet and not given: there is none
            value = None
    return value


def apply_init_score(train_set: lgb.Dataset, *valid_sets: lgb.Dataset, objective: FocalObjective) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_set`` and set it as ``init_score`` of all sets.

    Parameters
    ----------
    train_set : lightgbm.Dataset
        Training data with labels (``{0, 1}``, or class indices for a softmax objective) and
        optional weights.
    *valid_sets : lightgbm.Dataset
        Validation sets; each gets the same constant (they need labels, which give their length).
    objective : FocalObjective
        The objective to train with, from :func:`focal_objective` or :func:`softmax_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. LightGBM never adds it back at prediction time: add it to
        ``booster.predict(X, raw_score=True)`` yourself.
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(f"objective must come from focal_objective or softmax_focal_objective, got {objective!r}")
    label = _field(train_set, "label")
    if label is None:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    y = _labels(objective.loss, label)
    w = _weights(_field(train_set, "weight"))
    loss = objective.loss
    init = (
        loss.init_score(y, w) if isinstance(loss, FocalLoss) else loss.init_score(y, w, n_classes=_num_class(y, loss))
    )
    for ds in (train_set, *valid_sets):
        lab = _field(ds, "label")
        if lab is None:
            raise ValueError("every Dataset passed to apply_init_score needs labels (they give its length)")
        ds.set_init_score(constant_rows(np.asarray(lab).reshape(-1).shape[0], init))
    return init


def _num_class(y: np.ndarray, loss: SoftmaxFocalLoss) -> int:
    return len(loss.alpha) if loss.alpha is not None else int(y.max()) + 1
