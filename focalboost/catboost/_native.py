"""The native CatBoost route: objective and metric objects, the init score as Pool ``baseline`` and
inside a trained model.

Translations only. A Python objective implements ``calc_ders_range(approxes, targets, weights)``
(binary) or ``calc_ders_multi(approx, target, weight)`` (multiclass, once per object) and returns
the derivatives of the **negated** loss (CatBoost maximizes); ``weights`` is ``None`` without
sample weights and the derivatives are multiplied by them. A metric implements
``evaluate(approxes, target, weight) -> (sum, weight_sum)``, ``get_final_error`` and
``is_max_optimal``. CatBoost's margin starts at 0 with a Python objective: the init score goes
into the Pools' ``baseline`` and, after training, into the model's bias. ``no_jit = True`` keeps
CatBoost from trying to compile these methods with numba (it cannot, since they call the loss
object); the loss object itself uses focalboost's fused kernel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from catboost import CatBoost, Pool

from .._boosting import METRIC_NAME, check_scale, constant_rows, derivatives, init_vector, loss_for, loss_parameters_doc
from .._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss
from .._math import binary as _binary
from .._math import softmax as _softmax


def _weights(weights: Any) -> np.ndarray | None:
    return None if weights is None else np.asarray(weights, dtype=np.float64)


class FocalObjective:
    """CatBoost ``loss_function`` object for the binary focal loss (``calc_ders_range``).

    Create it with :func:`focal_objective`. Returns ``(−∂L/∂x, −∂²L/∂x²)`` (CatBoost's sign
    convention) as an array of shape ``(n, 2)``, weighted.
    """

    no_jit = True

    n_classes = 2

    def __init__(self, loss: FocalLoss, scale: float = 1.0) -> None:
        self.loss = loss
        self.scale = float(scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, scale={self.scale!r})"

    def calc_ders_range(self, approxes: Any, targets: Any, weights: Any) -> np.ndarray:
        y = np.asarray(targets, dtype=np.float64)
        raw = np.asarray(approxes, dtype=np.float64)
        grad, hess = derivatives(self.loss, y, raw, _weights(weights), library="catboost", scale=self.scale)
        out = np.empty((grad.shape[0], 2))
        np.negative(grad, out=out[:, 0])
        np.negative(hess, out=out[:, 1])
        return out


class MulticlassFocalObjective:
    """CatBoost ``loss_function`` object for the multiclass (softmax) focal loss (``calc_ders_multi``).

    Create it with :func:`focal_objective` (``n_classes > 2``); CatBoost needs ``classes_count`` (the
    estimator sets it). CatBoost calls it once per object, with the object's ``K`` raw scores,
    and expects a gradient of length ``K`` and a ``K × K`` Hessian (here diagonal, as in the
    other libraries). With one object per call the cost is Python call overhead, not arithmetic:
    each call runs :func:`focalboost._math.softmax.focal_row` on plain floats, the same function
    the fused kernel compiles (one object through the loss object or the kernel costs more in
    dispatch than ``K`` classes of arithmetic). Training is several times slower than CatBoost's
    built-in ``MultiClass``; ``benchmarks/bench_hessian_policy.py --catboost-multiclass`` measures it.
    """

    no_jit = True

    def __init__(self, loss: MulticlassFocalLoss, scale: float = 1.0, n_classes: int | None = None) -> None:
        self.loss = loss
        self.scale = float(scale)
        self.n_classes = n_classes
        self._alpha = None if loss.alpha is None else [float(a) for a in loss.alpha]
        self._exact = loss.hessian == "exact"
        self._zero_eps = _binary.zero_epsilon(loss.epsilon, _binary.FLOAT64_SMALLEST_SUBNORMAL)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, scale={self.scale!r})"

    def calc_ders_multi(self, approx: Any, target: Any, weight: Any) -> tuple[list[float], list[list[float]]]:
        z = [float(v) for v in approx]
        k = len(z)
        c = int(target)
        # One object per call: the checks the loss object makes for arrays, made here, cheaply.
        if c != target or not 0 <= c < k:
            raise ValueError(f"target must be a class index in [0, {k}), got {target!r}")
        if not all(math.isfinite(v) for v in z):
            raise ValueError(f"approx must be finite (no NaN or infinity), got {z!r}")
        if self._alpha is not None and len(self._alpha) != k:
            raise ValueError(
                f"alpha has {len(self._alpha)} class weights but there are {k} classes: alpha={self._alpha!r}"
            )
        scale = (1.0 if self._alpha is None else self._alpha[c]) * (1.0 if weight is None else float(weight))
        scale *= self.scale
        grad, hess, e = [0.0] * k, [0.0] * k, [0.0] * k
        _softmax.focal_row(
            z, c, self.loss.gamma, self.loss.epsilon, self._zero_eps, self._exact, scale, e, grad, hess, True
        )
        # CatBoost's sign convention: derivatives of the negated loss; the Hessian as a K × K matrix
        return [-v for v in grad], [[-hess[i] if i == j else 0.0 for j in range(k)] for i in range(k)]


class FocalMetric:
    """CatBoost ``eval_metric`` object: the (weighted) mean focal loss, lower is better.

    Works for the binary and the softmax loss (``approxes`` holds one array per class). It
    appears as ``"FocalMetric"`` in ``get_evals_result()``.
    """

    no_jit = True

    def __init__(self, loss: BaseFocalLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def is_max_optimal(self) -> bool:
        return False

    def evaluate(self, approxes: Any, target: Any, weight: Any) -> tuple[float, float]:
        y = np.asarray(target, dtype=np.float64)
        if isinstance(self.loss, MulticlassFocalLoss):
            raw = np.column_stack([np.asarray(a, dtype=np.float64) for a in approxes])
        else:
            raw = np.asarray(approxes[0], dtype=np.float64)
        w = _weights(weight)
        values = self.loss.loss(y, raw, w)
        return float(np.sum(values)), float(y.shape[0] if w is None else np.sum(w))

    def get_final_error(self, error: float, weight: float) -> float:
        # The weighted mean; NaN, not a ZeroDivisionError, when every weight is 0 (as the other
        # libraries' focal metric gives).
        return error / weight if weight > 0 else float("nan")


class _FocalLossMetric(FocalMetric):
    """:class:`FocalMetric` under the name the other libraries report the focal metric by."""


# CatBoost names a Python metric in its evaluation results by its class's ``__name__``.
_FocalLossMetric.__name__ = METRIC_NAME


@loss_parameters_doc
def focal_objective(
    *,
    n_classes: int = 2,
    gamma: float = 2.0,
    alpha: Any = 0.25,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
) -> FocalObjective | MulticlassFocalObjective:
    """The focal loss as a CatBoost ``loss_function`` object.

    Parameters
    ----------
    n_classes : int, default=2
        2: the binary focal loss (:class:`FocalObjective`, ``calc_ders_range``); more: the
        softmax focal loss (:class:`MulticlassFocalObjective`, one call per object; set
        ``classes_count`` to the same number).
    {LOSS_PARAMETERS}

    Notes
    -----
    CatBoost needs an ``eval_metric`` with a Python objective (use :func:`focal_metric`), picks
    ``learning_rate=0.03`` for it instead of its automatic choice (set one), and starts from
    raw score 0: call :func:`apply_init_score` on the Pools, and :func:`with_init_score` on the
    trained model, which then predicts (and saves) the raw scores and their sigmoid / softmax.

    Examples
    --------
    >>> import numpy as np
    >>> from catboost import CatBoost, Pool
    >>> from focalboost import FocalLoss
    >>> from focalboost.catboost import apply_init_score, focal_metric, focal_objective, with_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> train = Pool(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(train, objective=obj)
    >>> model = CatBoost({"loss_function": obj, "eval_metric": focal_metric(gamma=2.0, alpha=0.25),
    ...                   "iterations": 20, "learning_rate": 0.1, "verbose": False}).fit(train)
    >>> model = with_init_score(model, init)  # the saved model predicts on its own
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(model.predict(X, prediction_type="RawFormulaVal"))
    >>> proba.shape, bool(((proba > 0) & (proba < 1)).all())
    ((500, 2), True)
    """
    loss = loss_for(n_classes, gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    if isinstance(loss, MulticlassFocalLoss):
        return MulticlassFocalObjective(loss, check_scale(scale), int(n_classes))
    assert isinstance(loss, FocalLoss)
    return FocalObjective(loss, check_scale(scale))


def focal_metric(*, n_classes: int = 2, gamma: float = 2.0, alpha: Any = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean focal loss as a CatBoost ``eval_metric`` object (lower is better).

    Parameters
    ----------
    n_classes, gamma, alpha, epsilon
        As in :func:`focal_objective`.
    """
    return _FocalLossMetric(loss_for(n_classes, gamma=gamma, alpha=alpha, epsilon=epsilon))


def apply_init_score(
    train_set: Pool, *eval_sets: Pool, objective: FocalObjective | MulticlassFocalObjective
) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_set`` and set it as ``baseline`` of all Pools.

    Parameters
    ----------
    train_set : catboost.Pool
        Training data with labels (``{0, 1}``, or class indices for a multiclass objective) and
        optional weights.
    *eval_sets : catboost.Pool
        The evaluation Pools you pass to ``fit(eval_set=...)``; each gets the same constant as
        ``baseline``.
    objective : FocalObjective or MulticlassFocalObjective
        From :func:`focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. After training, :func:`with_init_score` writes it into the model's bias.
    """
    if not isinstance(objective, (FocalObjective, MulticlassFocalObjective)):
        raise TypeError(f"objective must come from focal_objective, got {objective!r}")
    label = train_set.get_label()
    if label is None:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    y = np.asarray(label, dtype=np.float64).reshape(-1)
    w = np.asarray(train_set.get_weight(), dtype=np.float64)
    init = objective.loss.init_score(y, w, n_classes=objective.n_classes)
    for pool in (train_set, *eval_sets):
        pool.set_baseline(constant_rows(pool.num_row(), init))
    return init


def with_init_score(model: CatBoost, init_score: float | np.ndarray) -> CatBoost:
    """A copy of a CatBoost model whose raw output includes the init score.

    Parameters
    ----------
    model : catboost.CatBoost
        Trained with a focal objective from the init score as ``baseline``, e.g. the model
        ``CatBoost(...).fit(pool)`` returns after :func:`apply_init_score`.
        (:class:`FocalCatBoostClassifier` does this itself in ``fit``: its bias already holds the
        init score, and it is refused here.)
    init_score : float or array-like of shape (n_classes,)
        The constant given as ``baseline`` (what ``apply_init_score`` returned).

    Returns
    -------
    catboost.CatBoost
        A new model of the type of ``model`` (``model.copy()``); ``model`` is not modified.
        ``predict(X, prediction_type="RawFormulaVal")`` returns the focal model's raw scores,
        ``"Probability"`` their sigmoid (shape ``(n_samples, 2)``) or softmax, and
        ``get_feature_importance(type="ShapValues")`` rows that sum to the raw scores.
        ``save_model`` writes all of it, for any CatBoost reader.

    Notes
    -----
    The init score is added to the model's bias (``set_scale_and_bias``: a float64 per raw
    score, added after the trees and their scale), on top of any bias it had. CatBoost saves a
    model trained with a Python objective under the loss name ``PythonUserDefinedPerObject`` and
    picks the link from the number of raw scores, so its ``"Probability"`` predictions are the
    sigmoid / softmax of the focal model's raw scores. Caveats: CatBoost adds the bias only when
    prediction starts at the first tree (``ntree_start=0``); continued training
    (``init_model=``) starts from raw scores that already include the init score.
    """
    if hasattr(model, "focal_loss_"):  # a FocalCatBoostClassifier
        raise ValueError(
            "model is a FocalCatBoostClassifier, whose bias already holds its init score (fit writes it there)"
        )
    if not model.is_fitted():
        raise ValueError("model is not fitted: there is nothing to add the init score to")
    out = model.copy()
    scale, bias = out.get_scale_and_bias()
    old = np.atleast_1d(np.asarray(bias, dtype=np.float64))
    new = old + init_vector(init_score, old.size, "model (its bias)")
    out.set_scale_and_bias(scale, float(new[0]) if np.ndim(bias) == 0 else new.tolist())
    return out
