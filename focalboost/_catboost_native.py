"""CatBoost native route: objective and metric objects and the init score as Pool ``baseline``
(see :mod:`focalboost._catboost` for the translations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from catboost import Pool

from ._catboost_multi import SoftmaxFocalObjective
from ._estimator import AnyLoss, constant_rows
from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss


def _weights(weights: Any) -> np.ndarray | None:
    return None if weights is None else np.asarray(weights, dtype=np.float64)


class FocalObjective:
    """CatBoost ``loss_function`` object for the binary focal loss (``calc_ders_range``).

    Create it with :func:`focal_objective`. Returns ``(−∂L/∂x, −∂²L/∂x²)`` (CatBoost's sign
    convention) as an array of shape ``(n, 2)``, weighted.
    """

    no_jit = True

    def __init__(self, loss: FocalLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def calc_ders_range(self, approxes: Any, targets: Any, weights: Any) -> np.ndarray:
        grad, hess = self.loss.gradient_hessian(
            np.asarray(targets, dtype=np.float64), np.asarray(approxes, dtype=np.float64), _weights(weights)
        )
        out = np.empty((grad.shape[0], 2))
        np.negative(grad, out=out[:, 0])
        np.negative(hess, out=out[:, 1])
        return out


class FocalMetric:
    """CatBoost ``eval_metric`` object: the (weighted) mean focal loss, lower is better.

    Works for the binary and the softmax loss (``approxes`` holds one array per class). It
    appears as ``"FocalMetric"`` in ``get_evals_result()``.
    """

    no_jit = True

    def __init__(self, loss: AnyLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def is_max_optimal(self) -> bool:
        return False

    def evaluate(self, approxes: Any, target: Any, weight: Any) -> tuple[float, float]:
        y = np.asarray(target, dtype=np.float64)
        if isinstance(self.loss, FocalLoss):
            raw = np.asarray(approxes[0], dtype=np.float64)
        else:
            raw = np.column_stack([np.asarray(a, dtype=np.float64) for a in approxes])
        w = _weights(weight)
        values = self.loss.loss(y, raw, w)
        return float(np.sum(values)), float(y.shape[0] if w is None else np.sum(w))

    def get_final_error(self, error: float, weight: float) -> float:
        return error / weight


def focal_objective(
    *, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3, hessian: str = "positive"
) -> FocalObjective:
    """The binary focal loss as a CatBoost ``loss_function`` object.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.

    Notes
    -----
    CatBoost needs an ``eval_metric`` with a Python objective (use :func:`focal_metric`), picks
    ``learning_rate=0.03`` for it instead of its automatic choice (set one), and starts from
    raw score 0: call :func:`apply_init_score` on the Pools and add the returned constant to
    ``model.predict(X, prediction_type="RawFormulaVal")``.

    Examples
    --------
    >>> import numpy as np
    >>> from catboost import CatBoost, Pool
    >>> from focalboost import FocalLoss
    >>> from focalboost.catboost import focal_objective, focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> train = Pool(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(train, objective=obj)
    >>> model = CatBoost({"loss_function": obj, "eval_metric": focal_metric(gamma=2.0, alpha=0.25),
    ...                   "iterations": 20, "learning_rate": 0.1, "verbose": False}).fit(train)
    >>> raw = model.predict(X, prediction_type="RawFormulaVal") + init
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(raw)
    >>> bool(((proba > 0) & (proba < 1)).all())
    True
    """
    return FocalObjective(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def focal_metric(*, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean binary focal loss as a CatBoost ``eval_metric`` object (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.FocalLoss`.
    """
    return FocalMetric(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def softmax_focal_objective(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3, hessian: str = "positive"
) -> SoftmaxFocalObjective:
    """The multiclass (softmax) focal loss as a CatBoost ``loss_function`` object.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.SoftmaxFocalLoss`.

    Notes
    -----
    CatBoost calls a Python multiclass objective once per object (``calc_ders_multi``); see
    :class:`focalboost._catboost_multi.SoftmaxFocalObjective` for how that cost is kept down
    and the measured slowdown against the built-in ``MultiClass``. Set ``classes_count``.
    """
    return SoftmaxFocalObjective(SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def softmax_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as a CatBoost ``eval_metric`` object.

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.SoftmaxFocalLoss`.
    """
    return FocalMetric(SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def apply_init_score(
    train_pool: Pool, *eval_pools: Pool, objective: FocalObjective | SoftmaxFocalObjective
) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_pool`` and set it as ``baseline`` of all Pools.

    Parameters
    ----------
    train_pool : catboost.Pool
        Training data with labels (``{0, 1}``, or class indices for a softmax objective) and
        optional weights.
    *eval_pools : catboost.Pool
        Evaluation Pools; each gets the same constant as ``baseline``.
    objective : FocalObjective or SoftmaxFocalObjective
        From :func:`focal_objective` or :func:`softmax_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score; add it to ``model.predict(X, prediction_type="RawFormulaVal")``.
    """
    if not isinstance(objective, (FocalObjective, SoftmaxFocalObjective)):
        raise TypeError(f"objective must come from focal_objective or softmax_focal_objective, got {objective!r}")
    label = train_pool.get_label()
    if label is None:
        raise ValueError("train_pool has no label: apply_init_score needs the training labels")
    y = np.asarray(label, dtype=np.float64).reshape(-1)
    w = np.asarray(train_pool.get_weight(), dtype=np.float64)
    loss = objective.loss
    if isinstance(loss, FocalLoss):
        init: float | np.ndarray = loss.init_score(y, w)
    else:
        k = len(loss.alpha) if loss.alpha is not None else int(y.max()) + 1
        init = loss.init_score(y, w, n_classes=k)
    for pool in (train_pool, *eval_pools):
        pool.set_baseline(constant_rows(pool.num_row(), init))
    return init
