"""focalboost for CatBoost: objective and metric objects, the init score as Pool ``baseline``, and
the scikit-learn estimator :class:`FocalCatBoostClassifier`.

Translations only. A Python objective implements ``calc_ders_range(approxes, targets, weights)``
(binary) or ``calc_ders_multi(approx, target, weight)`` (multiclass, once per object) and returns
the derivatives of the **negated** loss (CatBoost maximizes); ``weights`` is ``None`` without
sample weights and the derivatives are multiplied by them. A metric implements
``evaluate(approxes, target, weight) -> (sum, weight_sum)``, ``get_final_error`` and
``is_max_optimal``. CatBoost's margin starts at 0 with a Python objective: the init score goes
into the Pools' ``baseline`` and is added back at prediction. ``no_jit = True`` keeps CatBoost
from trying to compile these methods with numba (it cannot, since they call the loss object);
the loss object itself uses focalboost's fused kernel. Requires ``catboost >= 1.2`` (the
``catboost`` extra).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._boosting import (
    FOCAL_DOC,
    FOCAL_PARAMS,
    METRIC_NAME,
    FocalClassifierMixin,
    add_offset,
    check_scale,
    constant_rows,
    derivatives,
    init_vector,
    num_samples,
)
from ._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss
from ._math import binary as _binary
from ._math import softmax as _softmax

try:
    from catboost import CatBoost, CatBoostClassifier, Pool
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise ImportError(f"focalboost.catboost needs CatBoost ({exc}): pip install 'focalboost[catboost]'") from exc

__all__ = [
    "FocalCatBoostClassifier",
    "FocalMetric",
    "FocalObjective",
    "MulticlassFocalObjective",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "multiclass_focal_metric",
    "multiclass_focal_objective",
    "with_init_score",
]


def _weights(weights: Any) -> np.ndarray | None:
    return None if weights is None else np.asarray(weights, dtype=np.float64)


class FocalObjective:
    """CatBoost ``loss_function`` object for the binary focal loss (``calc_ders_range``).

    Create it with :func:`focal_objective`. Returns ``(−∂L/∂x, −∂²L/∂x²)`` (CatBoost's sign
    convention) as an array of shape ``(n, 2)``, weighted.
    """

    no_jit = True

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

    Create it with :func:`multiclass_focal_objective`; CatBoost needs ``classes_count`` (the
    estimator sets it). CatBoost calls it once per object, with the object's ``K`` raw scores,
    and expects a gradient of length ``K`` and a ``K × K`` Hessian (here diagonal, as in the
    other libraries). With one object per call the cost is Python call overhead, not arithmetic:
    each call runs :func:`focalboost._math.softmax.focal_row` on plain floats, the same function
    the fused kernel compiles (one object through the loss object or the kernel costs more in
    dispatch than ``K`` classes of arithmetic). Training is several times slower than CatBoost's
    built-in ``MultiClass``; ``benchmarks/bench_hessian_policy.py --catboost-multiclass`` measures it.
    """

    no_jit = True

    def __init__(self, loss: MulticlassFocalLoss, scale: float = 1.0) -> None:
        self.loss = loss
        self.scale = float(scale)
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


def focal_objective(
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
) -> FocalObjective:
    """The binary focal loss as a CatBoost ``loss_function`` object.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``).

    Notes
    -----
    CatBoost needs an ``eval_metric`` with a Python objective (use :func:`focal_metric`), picks
    ``learning_rate=0.03`` for it instead of its automatic choice (set one), and starts from
    raw score 0: call :func:`apply_init_score` on the Pools and add the returned constant to
    ``model.predict(X, prediction_type="RawFormulaVal")``, or write it into the model with
    :func:`with_init_score`, which then predicts (and saves) the raw scores on its own.

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
    return FocalObjective(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian), check_scale(scale))


def focal_metric(*, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean binary focal loss as a CatBoost ``eval_metric`` object (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.FocalLoss`.
    """
    return _FocalLossMetric(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def multiclass_focal_objective(
    *,
    gamma: float = 2.0,
    alpha: Sequence[float] | None = None,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
) -> MulticlassFocalObjective:
    """The multiclass (softmax) focal loss as a CatBoost ``loss_function`` object.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.MulticlassFocalLoss`.
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``).

    Notes
    -----
    CatBoost calls a Python multiclass objective once per object (``calc_ders_multi``); see
    :class:`MulticlassFocalObjective` for the cost of that. Set ``classes_count``.
    """
    loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    return MulticlassFocalObjective(loss, check_scale(scale))


def multiclass_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as a CatBoost ``eval_metric`` object.

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.MulticlassFocalLoss`.
    """
    return _FocalLossMetric(MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def apply_init_score(
    train_set: Pool, *eval_sets: Pool, objective: FocalObjective | MulticlassFocalObjective
) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_pool`` and set it as ``baseline`` of all Pools.

    Parameters
    ----------
    train_set : catboost.Pool
        Training data with labels (``{0, 1}``, or class indices for a multiclass objective) and
        optional weights.
    *eval_sets : catboost.Pool
        The evaluation Pools you pass to ``fit(eval_set=...)``; each gets the same constant as
        ``baseline``.
    objective : FocalObjective or MulticlassFocalObjective
        From :func:`focal_objective` or :func:`multiclass_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score; add it to ``model.predict(X, prediction_type="RawFormulaVal")``.
    """
    if not isinstance(objective, (FocalObjective, MulticlassFocalObjective)):
        raise TypeError(f"objective must come from focal_objective or multiclass_focal_objective, got {objective!r}")
    label = train_set.get_label()
    if label is None:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    y = np.asarray(label, dtype=np.float64).reshape(-1)
    init = objective.loss.init_score(y, np.asarray(train_set.get_weight(), dtype=np.float64))
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
    if isinstance(model, FocalCatBoostClassifier):
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


#: What CatBoost makes of the focal parameters' unprefixed names (refused: see FocalClassifierMixin).
_SHADOWS = {
    "gamma": "is not a CatBoost parameter",
    "alpha": "is not a CatBoost parameter",
    "epsilon": "is not a CatBoost parameter",
}


def _logloss_leaf_iterations(params: dict[str, Any], n_features: int, n_classes: int) -> int | None:
    """The Newton steps per leaf CatBoost would take for its own log-loss on this fit, where they
    differ from the one step it gives a Python objective; None where they do not (or the caller
    chose a leaf estimation).

    CatBoost (1.2) defaults ``Logloss`` to 10 Newton steps, ``MultiClass`` and Python objectives
    to 1, and resets an unset count to 1 for runs of fewer than 200 iterations on fewer than 20
    features. So that ``focal_gamma=0`` trains as ``CatBoostClassifier`` does with its log-loss,
    the estimator passes the same count.
    """
    if params.get("leaf_estimation_iterations") is not None or params.get("leaf_estimation_method") is not None:
        return None
    if n_classes > 2:
        return None
    iterations = next(
        (
            params[k]
            for k in ("iterations", "n_estimators", "num_boost_round", "num_trees")
            if params.get(k) is not None
        ),
        1000,
    )
    if iterations < 200 and n_features < 20:
        return None
    return 10


@contextlib.contextmanager
def _library_params_swapped(model: CatBoostClassifier, extra: dict[str, Any]) -> Iterator[None]:
    """Fit with ``extra`` added to CatBoost's own parameters, restored afterwards, even on error.

    CatBoost keeps the constructor's parameters in the private ``_init_params`` dict (and a
    cache of their canonical form in ``_canonized_params``): the one private API of CatBoost this
    estimator relies on; a test fails loudly if CatBoost changes it.
    """
    saved: dict[str, Any] = model._init_params
    model._init_params = {**saved, **extra}
    model._canonized_params = None
    try:
        yield
    finally:
        model._init_params = saved
        model._canonized_params = None


class FocalCatBoostClassifier(FocalClassifierMixin, CatBoostClassifier):
    __doc__ = f"""CatBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`catboost.CatBoostClassifier`: it accepts every parameter of it
    (``loss_function`` must stay unset: the focal loss is the objective) plus the ``focal_*``
    parameters below, kept out of CatBoost's own parameters. ``fit`` computes the optimal
    constant start and applies it as ``baseline`` to the training data and every ``eval_set``;
    ``predict_proba`` adds it back and returns probabilities of shape ``(n_samples, n_classes)``;
    ``predict`` returns labels in the caller's label space. The weighted mean focal loss
    (``"focal_loss"``, lower is better) is the default ``eval_metric`` and drives
    ``early_stopping_rounds``. ``X`` and ``eval_set`` are arrays or DataFrames (with
    ``cat_features`` etc. as fit arguments), not Pools. CatBoost picks ``learning_rate=0.03``
    for Python objectives instead of its automatic choice: set it.

    Parameters
    ----------{FOCAL_DOC}
    **params
        Every parameter of :class:`catboost.CatBoostClassifier`, same names and defaults.
        ``gamma``, ``alpha`` and ``epsilon`` are refused (use the ``focal_*`` names), as is a
        misspelled ``focal_*`` name.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees are added to.
    focal_loss_ : FocalLoss or MulticlassFocalLoss
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | Sequence[float] | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        focal_proba: str = "posterior",
        focal_scale: Any = 1.0,
        **params: Any,
    ) -> None:
        # CatBoost's constructor refuses names it does not know with a bare TypeError: name the
        # focal parameter meant by a misspelled or unprefixed one first.
        self._focal_check_params(_SHADOWS, params)
        super().__init__(**params)
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        self.focal_proba = focal_proba
        self.focal_scale = focal_scale

    # -- parameters: CatBoost keeps its own in _init_params; the focal ones are attributes ------
    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        # CatBoost returns a deep copy whatever ``deep`` says; scikit-learn's clone asks for
        # deep=False and needs the objects given to the constructor (a list of cat_features too).
        params = super().get_params(**kwargs) if deep else dict(self._init_params)
        params.update({name: getattr(self, name) for name in FOCAL_PARAMS})
        return params

    def set_params(self, **params: Any) -> FocalCatBoostClassifier:
        for name in FOCAL_PARAMS:
            if name in params:
                setattr(self, name, params.pop(name))
        if params:
            super().set_params(**params)
        return self

    def __repr__(self) -> str:
        params = self.get_params()
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        extra = {name: getattr(self, name) for name in FOCAL_PARAMS}
        for name in ("init_score_", "focal_loss_", "focal_scale_", "_focal_classes", "_focal_n_features"):
            if name in self.__dict__:
                extra[name] = self.__dict__[name]
        state["__focal__"] = extra
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        extra = state.pop("__focal__", {})
        super().__setstate__(state)
        self.__dict__.update(extra)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags

    # -- fit --------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        cat_features: Any = None,
        text_features: Any = None,
        embedding_features: Any = None,
        graph: Any = None,
        sample_weight: Any = None,
        baseline: Any = None,
        use_best_model: Any = None,
        eval_set: Any = None,
        **kwargs: Any,
    ) -> FocalCatBoostClassifier:
        """Fit on ``X, y`` with the focal loss; arguments as in :meth:`catboost.CatBoostClassifier.fit`.

        ``baseline``, when given, is added to the focal init score (a per-row offset that, as in
        CatBoost, prediction does not add back). ``cat_features``, ``text_features`` and
        ``embedding_features`` given here or to the constructor apply to ``X`` and every
        ``eval_set``. ``init_model`` (continued training) is refused.
        """
        self._focal_check_params(_SHADOWS)
        if kwargs.get("init_model") is not None:
            raise ValueError(
                f"{type(self).__name__} does not continue training from init_model (its start would be the "
                "other model's raw scores, not the focal init score); fit a new model"
            )
        if isinstance(X, Pool) or (eval_set is not None and any(isinstance(e, Pool) for e in _as_list(eval_set))):
            raise TypeError(
                f"{type(self).__name__}.fit takes arrays or DataFrames (cat_features etc. as arguments), "
                "not catboost.Pool: use focalboost.catboost.focal_objective with Pools"
            )
        params = super().get_params()
        for name in ("loss_function", "objective"):
            if params.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__} trains with the focal loss: {name} must stay unset, got {params[name]!r}"
                )
        for name in ("class_weights", "auto_class_weights", "class_names", "scale_pos_weight"):
            if params.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__} does not take {name}={params[name]!r}: weigh classes with focal_alpha "
                    "or sample_weight"
                )
        X = _check_features(X)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        y_enc, loss, init, scale = self._focal_setup(X, y, sample_weight)
        # The column lists of fit, else the constructor's (CatBoostClassifier reads both; the
        # Pools built here must carry them).
        given = dict(cat_features=cat_features, text_features=text_features, embedding_features=embedding_features)
        features = {name: value if value is not None else params.get(name) for name, value in given.items()}
        train = Pool(
            X,
            y_enc,
            weight=sample_weight,
            baseline=add_offset(constant_rows(num_samples(X), init), baseline, flat_order="C"),
            graph=graph,
            **features,
        )
        evals = None
        if eval_set is not None:
            evals = [
                Pool(
                    _check_features(vx),
                    self._focal_transform_labels(vy),
                    baseline=constant_rows(num_samples(vx), init),
                    **features,
                )
                for vx, vy in _as_list(eval_set)
            ]
        focal: dict[str, Any] = {"loss_function": _objective_for(loss, scale)}
        if params.get("eval_metric") is None:
            focal["eval_metric"] = _FocalLossMetric(loss)
        if isinstance(loss, MulticlassFocalLoss):
            focal["classes_count"] = int(self._focal_classes.size)
        leaf_iterations = _logloss_leaf_iterations(params, _num_features(X), int(self._focal_classes.size))
        if leaf_iterations is not None:
            focal["leaf_estimation_iterations"] = leaf_iterations
        with _library_params_swapped(self, focal):
            super().fit(train, eval_set=evals, use_best_model=use_best_model, **kwargs)
        # The init score into the model's bias, so that the model (and the file save_model
        # writes) predicts the raw scores on its own.
        model_scale, bias = self.get_scale_and_bias()
        new_bias = np.atleast_1d(np.asarray(bias, dtype=np.float64)) + np.atleast_1d(init)
        self.set_scale_and_bias(model_scale, float(new_bias[0]) if np.ndim(init) == 0 else new_bias.tolist())
        self.init_score_ = init
        self.focal_loss_ = loss
        self.focal_scale_ = scale
        self._focal_n_features = _num_features(X)
        return self

    # -- prediction -------------------------------------------------------------------------
    @property
    def classes_(self) -> Any:
        return self.__dict__.get("_focal_classes") if self.is_fitted() else None

    def _raw(self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1) -> np.ndarray:
        """Raw scores, init score included (the model's bias holds it; CatBoost adds the bias only
        from the first tree on, so it is added back for ``ntree_start > 0``)."""
        from sklearn.exceptions import NotFittedError

        if not self.is_fitted() or "init_score_" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call fit first")
        X = _check_features(X)
        if _num_features(X) != self._focal_n_features:
            raise ValueError(
                f"X has {_num_features(X)} features, but {type(self).__name__} is expecting "
                f"{self._focal_n_features} features as input"
            )
        raw = CatBoostClassifier.predict(
            self,
            X,
            prediction_type="RawFormulaVal",
            ntree_start=ntree_start,
            ntree_end=ntree_end,
            thread_count=thread_count,
        )
        raw = np.asarray(raw, dtype=np.float64)
        return raw + self.init_score_ if ntree_start > 0 else raw

    def decision_function(self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1) -> np.ndarray:
        """The decision function: shape ``(n_samples,)``, positive where :meth:`predict` gives the
        second class, or ``(n_samples, n_classes)`` whose argmax is :meth:`predict`.

        With ``focal_proba="posterior"`` the log-odds (log-probabilities) of :meth:`predict_proba`,
        with ``"link"`` the raw scores (``predict(X, prediction_type="RawFormulaVal")``)."""
        return self._focal_decision(self._raw(X, ntree_start, ntree_end, thread_count))

    def predict_proba(
        self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1, **kwargs: Any
    ) -> np.ndarray:
        """Class probabilities (``focal_proba``) of shape ``(n_samples, n_classes)``."""
        return self._focal_probabilities(self._raw(X, ntree_start, ntree_end, thread_count))

    def predict_log_proba(
        self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1, **kwargs: Any
    ) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed directly (exact where it underflows)."""
        return self._focal_probabilities(self._raw(X, ntree_start, ntree_end, thread_count), log=True)

    def predict(
        self,
        data: Any,
        prediction_type: str = "Class",
        ntree_start: int = 0,
        ntree_end: int = 0,
        thread_count: int = -1,
        **kwargs: Any,
    ) -> np.ndarray:
        """``"Class"``: labels in the caller's space; ``"Probability"`` / ``"LogProbability"``:
        :meth:`predict_proba` / its logarithm; ``"RawFormulaVal"``: the raw scores (init score
        included)."""
        kinds = ("Class", "Probability", "LogProbability", "RawFormulaVal")
        if prediction_type not in kinds:
            raise ValueError(f"prediction_type must be one of {kinds}, got {prediction_type!r}")
        raw = self._raw(data, ntree_start, ntree_end, thread_count)
        if prediction_type == "RawFormulaVal":
            return raw
        if prediction_type == "LogProbability":
            return self._focal_probabilities(raw, log=True)
        proba = self._focal_probabilities(raw)
        return self._focal_labels(proba) if prediction_type == "Class" else proba

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean accuracy of :meth:`predict` on ``X, y`` (labels in the caller's space)."""
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))


def _check_features(X: Any) -> Any:
    """What CatBoost would reject obscurely, rejected with a ValueError; other array-likes made arrays.

    DataFrames (with categorical or text columns) and scipy sparse matrices pass unchanged.
    """
    import scipy.sparse as sp

    if sp.issparse(X):
        # CatBoost takes scipy sparse matrices (not sparse arrays), with 32-bit indices
        X = sp.csr_matrix(X)
        if X.nnz < np.iinfo(np.int32).max:
            X.indices = X.indices.astype(np.int32)
            X.indptr = X.indptr.astype(np.int32)
        return X
    if not hasattr(X, "shape") or isinstance(X, np.ndarray):
        if not isinstance(X, (list, np.ndarray)) and not hasattr(X, "__array__"):
            return X
        X = np.asarray(X)
    shape: tuple[int, ...] = tuple(getattr(X, "shape", ()))
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(shape)}: Reshape your data")
    if shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is required.")
    if shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={tuple(shape)}) while a minimum of 1 is required.")
    if isinstance(X, np.ndarray) and np.iscomplexobj(X):
        raise ValueError("Complex data not supported")
    return X


def _num_features(X: Any) -> int:
    return int(X.shape[1])


def _as_list(eval_set: Any) -> list[Any]:
    if isinstance(eval_set, (tuple, Pool)):
        return [eval_set]
    return list(eval_set)


def _objective_for(loss: BaseFocalLoss, scale: float) -> FocalObjective | MulticlassFocalObjective:
    if isinstance(loss, MulticlassFocalLoss):
        return MulticlassFocalObjective(loss, scale)
    assert isinstance(loss, FocalLoss)
    return FocalObjective(loss, scale)
