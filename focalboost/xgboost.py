"""focalboost for XGBoost: ``obj`` and ``custom_metric`` callables for ``xgb.train``, the init
score as ``base_margin``, and the scikit-learn estimator :class:`FocalXGBClassifier`.

Translations only. ``xgb.train(params, dtrain, obj=f(predt, dmat), custom_metric=m(predt, dmat))``;
``predt`` is a float32 numpy array of raw margins (base margin included) when ``obj`` is given;
``dmat.get_weight()`` is an empty array when there are no weights. A custom objective starts
from ``base_score`` (a raw margin, 0.5 by default, or an intercept XGBoost estimates) unless a
``base_margin`` is set: the init score goes there, which replaces ``base_score`` for that
DMatrix, so the default never leaks in. Requires ``xgboost >= 2`` (the ``xgboost`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._boosting import (
    FOCAL_DOC,
    FOCAL_PARAMS,
    METRIC_NAME,
    FocalClassifierMixin,
    add_offset,
    constant_rows,
    derivatives,
    mean_loss,
    num_samples,
    swapped_attributes,
)
from ._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss

try:
    import xgboost as xgb
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise ImportError(
        f"focalboost.xgboost needs XGBoost and scikit-learn ({exc}): pip install 'focalboost[xgboost]'"
    ) from exc

__all__ = [
    "FocalMetric",
    "FocalObjective",
    "FocalXGBClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "multiclass_focal_metric",
    "multiclass_focal_objective",
]


def _weight(dmat: xgb.DMatrix) -> np.ndarray | None:
    w = dmat.get_weight()
    return None if w.size == 0 else w


def _on_cuda(device: Any) -> bool:
    """True when XGBoost trains on a GPU (``device="cuda"`` / ``"cuda:1"`` / ``"gpu"``) and torch
    sees one; without a GPU the objective computes on the CPU."""
    if not isinstance(device, str) or not device.startswith(("cuda", "gpu")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _cuda_derivatives(loss: BaseFocalLoss, y_true: Any, y_pred: Any, weight: Any, device: str) -> tuple[Any, Any]:
    """Gradient and Hessian of XGBoost's float32 margins computed with torch on a CUDA ``device``;
    the results stay there and reach XGBoost through ``__cuda_array_interface__``."""
    import torch

    def tensor(a: Any) -> Any:
        # Host arrays are copied to the device once; device arrays (cupy) are taken as they are.
        if hasattr(a, "__cuda_array_interface__"):
            return torch.as_tensor(a, device=device).to(torch.float32)
        return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)

    w = None if weight is None else tensor(weight)
    grad, hess = derivatives(loss, tensor(y_true), tensor(y_pred), w, library="xgboost")
    return grad.contiguous(), hess.contiguous()


def _xgb_derivatives(loss: BaseFocalLoss, y_true: Any, y_pred: Any, weight: Any, device: Any) -> tuple[Any, Any]:
    if _on_cuda(device):
        return _cuda_derivatives(loss, y_true, y_pred, weight, "cuda" if device == "gpu" else str(device))
    return derivatives(loss, y_true, y_pred, weight, library="xgboost")


class FocalObjective:
    """``obj`` callable for ``xgb.train``: ``(predt, dmat) -> (grad, hess)``.

    Create it with :func:`focal_objective` (shapes ``(n_samples,)``) or
    :func:`multiclass_focal_objective` (shapes ``(n_samples, n_classes)``, with
    ``params["num_class"]``). Gradients and Hessians are multiplied by the weights. With
    ``device`` naming a CUDA device (as XGBoost's ``device`` parameter) and torch installed,
    they are computed there and handed to XGBoost as CUDA arrays.
    """

    def __init__(self, loss: BaseFocalLoss, device: Any = None) -> None:
        self.loss = loss
        self.device = device

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, predt: np.ndarray, dmat: xgb.DMatrix) -> tuple[Any, Any]:
        return _xgb_derivatives(self.loss, dmat.get_label(), predt, _weight(dmat), self.device)


class _SklearnObjective(FocalObjective):
    """``objective`` form for ``XGBClassifier``: ``(y_true, y_pred, sample_weight=None)``."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[Any, Any]:
        return _xgb_derivatives(self.loss, y_true, y_pred, sample_weight, self.device)


class FocalMetric:
    """``custom_metric`` callable for ``xgb.train``: ``("focal_loss", weighted mean loss)``.

    Lower is better (XGBoost's early stopping minimizes metrics not named like AUC).
    """

    __name__ = METRIC_NAME  # XGBoost's scikit-learn wrapper names a metric by its __name__

    def __init__(self, loss: BaseFocalLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, predt: np.ndarray, dmat: xgb.DMatrix) -> tuple[str, float]:
        return METRIC_NAME, mean_loss(self.loss, dmat.get_label(), predt, _weight(dmat))


class _SklearnMetric(FocalMetric):
    """``eval_metric`` form for ``XGBClassifier``: ``(y_true, y_pred, sample_weight=None) -> float``."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:  # type: ignore[override]
        return mean_loss(self.loss, y_true, y_pred, sample_weight)


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
    >>> proba.shape, bool(((proba > 0) & (proba < 1)).all())
    ((500, 2), True)
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


def multiclass_focal_objective(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3, hessian: str = "positive"
) -> FocalObjective:
    """The multiclass (softmax) focal loss as an XGBoost objective; set ``params["num_class"]``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.MulticlassFocalLoss`.

    Returns
    -------
    FocalObjective
        ``obj(predt, dmat) -> (grad, hess)`` of shape ``(n_samples, n_classes)``; the Hessian is
        twice the diagonal, XGBoost's convention for ``multi:softprob``.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> from focalboost import MulticlassFocalLoss
    >>> from focalboost.xgboost import multiclass_focal_objective, multiclass_focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = np.digitize(X[:, 0] + rng.normal(size=600), [-1.0, 1.0])
    >>> dtrain = xgb.DMatrix(X, y)
    >>> obj = multiclass_focal_objective(gamma=2.0)
    >>> init = apply_init_score(dtrain, objective=obj)  # shape (3,)
    >>> booster = xgb.train({"num_class": 3, "disable_default_eval_metric": 1}, dtrain, 10, obj=obj,
    ...                     custom_metric=multiclass_focal_metric(gamma=2.0))
    >>> dtest = xgb.DMatrix(X, base_margin=np.tile(init, (len(X), 1)))
    >>> proba = MulticlassFocalLoss(gamma=2.0).predict_proba(booster.predict(dtest, output_margin=True))
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((600, 3), True)
    """
    return FocalObjective(MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian))


def multiclass_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as an XGBoost ``custom_metric`` (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.MulticlassFocalLoss`.
    """
    return FocalMetric(MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def apply_init_score(train_set: xgb.DMatrix, *eval_sets: xgb.DMatrix, objective: FocalObjective) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_set`` and set it as ``base_margin`` of all sets.

    Parameters
    ----------
    train_set : xgboost.DMatrix
        Training data with labels (``{0, 1}``, or class indices for a multiclass objective) and
        optional weights.
    *eval_sets : xgboost.DMatrix
        The evaluation sets you pass to ``xgb.train(evals=...)``; each gets the same constant as
        ``base_margin``.
    objective : FocalObjective
        The objective to train with, from :func:`focal_objective` or :func:`multiclass_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. Set it (repeated per row) as ``base_margin`` of every DMatrix you
        predict on: without one, XGBoost adds its ``base_score`` instead.
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(
            f"objective must come from focal_objective or multiclass_focal_objective, got {objective!r}"
        )
    label = train_set.get_label()
    if label.size == 0:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    init = objective.loss.init_score(label.astype(np.float64), _weight(train_set))
    for dm in (train_set, *eval_sets):
        dm.set_base_margin(constant_rows(dm.num_row(), init))
    return init


def _wrapper_params(model: xgb.XGBModel) -> set[str]:
    """The ``get_params()`` entries XGBoost's scikit-learn wrapper keeps from the booster.

    XGBoost's private ``XGBModel._wrapper_params()``: the one private API of XGBoost this
    estimator relies on (overridden below to add the ``focal_*`` parameters); a test fails
    loudly if XGBoost changes it.
    """
    return xgb.XGBModel._wrapper_params(model)


class FocalXGBClassifier(xgb.XGBClassifier, FocalClassifierMixin):
    __doc__ = f"""XGBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`xgboost.XGBClassifier`: it accepts every parameter of it (``objective``
    must stay at its default: the focal loss is the objective) plus the ``focal_*`` parameters
    below, which are never forwarded to the booster. ``fit`` computes the optimal constant start
    and applies it as ``base_margin`` to the training set and every ``eval_set`` (so XGBoost's
    ``base_score`` never enters); ``predict_proba`` adds it back and returns probabilities of
    shape ``(n_samples, n_classes)`` (binary focal loss for two classes, softmax focal loss for
    more); ``predict`` returns labels in the caller's label space. The
    weighted mean focal loss (``"focal_loss"``, lower is better) is evaluated on every
    ``eval_set`` and drives ``early_stopping_rounds``; string ``eval_metric`` entries are
    evaluated before it, on probabilities. With ``device="cuda"`` and torch installed, the
    gradients are computed on the GPU.

    Parameters
    ----------{FOCAL_DOC}
    **kwargs
        Every parameter of :class:`xgboost.XGBClassifier`, same names and defaults.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees are added to (one per class for more than two classes).
    focal_loss_ : FocalLoss or MulticlassFocalLoss
        :class:`focalboost.FocalLoss` for two classes, :class:`focalboost.MulticlassFocalLoss` for more.
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        super().__init__(**kwargs)

    # XGBoost forwards every get_params() entry except these "wrapper" ones to the booster.
    def _wrapper_params(self) -> set[str]:
        return _wrapper_params(self) | set(FOCAL_PARAMS)

    def get_xgb_params(self) -> dict[str, Any]:
        params = super().get_xgb_params()
        if getattr(self, "_focal_fitting", False):
            # During fit eval_metric is [*built-in names, focal metric]: only names go to the
            # booster (the focal metric goes as custom_metric and is evaluated last).
            builtin = [m for m in params.pop("eval_metric", None) or [] if isinstance(m, str)]
            if builtin:
                params["eval_metric"] = builtin
            else:
                params["disable_default_eval_metric"] = True
        return params

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False  # one label per sample: binary or multiclass
        return tags

    @property
    def classes_(self) -> np.ndarray:
        # XGBClassifier.fit checks the (encoded) training labels against classes_: during our
        # fit those are 0 .. n-1; afterwards classes_ holds the caller's labels.
        if getattr(self, "_focal_fitting", False):
            return np.arange(self.n_classes_)
        return self._focal_classes

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        verbose: bool | int | None = True,
        xgb_model: Any = None,
        sample_weight_eval_set: Any = None,
        base_margin_eval_set: Any = None,
        feature_weights: Any = None,
    ) -> FocalXGBClassifier:
        """Fit on ``X, y`` with the focal loss; arguments as in :meth:`xgboost.XGBClassifier.fit`.

        ``base_margin`` / ``base_margin_eval_set``, when given, are added to the focal init
        score (a per-row offset; pass the same offset as ``base_margin`` when predicting).
        """
        if self.objective not in (None, "binary:logistic", "multi:softprob"):
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must stay at its default, "
                f"got {self.objective!r}"
            )
        metric = self.eval_metric
        if callable(metric) or (isinstance(metric, (list, tuple)) and any(callable(m) for m in metric)):
            raise ValueError(
                f"{type(self).__name__} evaluates the focal loss as XGBoost's one custom metric; "
                f"eval_metric may only name built-in metrics, got {metric!r}"
            )
        y_enc, loss, init = self._focal_setup(y, sample_weight)
        train_margin = add_offset(constant_rows(num_samples(X), init), base_margin, flat_order="C")
        if isinstance(eval_set, tuple):
            eval_set = [eval_set]
        eval_margin = None
        if eval_set:
            eval_set = [(vx, self._focal_transform_labels(vy)) for vx, vy in eval_set]
            given = list(base_margin_eval_set) if base_margin_eval_set is not None else [None] * len(eval_set)
            eval_margin = [
                add_offset(constant_rows(num_samples(vx), init), g, flat_order="C")
                for (vx, _), g in zip(eval_set, given, strict=True)
            ]
        builtin = [] if metric is None else [metric] if isinstance(metric, str) else list(metric)
        self._focal_fitting = True
        try:
            with swapped_attributes(
                self,
                objective=_SklearnObjective(loss, device=self.device),
                eval_metric=[*builtin, _SklearnMetric(loss)],
            ):
                super().fit(
                    X,
                    y_enc,
                    sample_weight=sample_weight,
                    base_margin=train_margin,
                    eval_set=eval_set,
                    verbose=verbose,
                    xgb_model=xgb_model,
                    sample_weight_eval_set=sample_weight_eval_set,
                    base_margin_eval_set=eval_margin,
                    feature_weights=feature_weights,
                )
        finally:
            self._focal_fitting = False
        self.init_score_ = init
        self.focal_loss_ = loss
        return self

    def decision_function(
        self, X: Any, *, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """Raw scores, init score included: the log-odds of the second class, shape ``(n_samples,)``,
        or one score per class, shape ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        margin = add_offset(constant_rows(num_samples(X), self.init_score_), base_margin, flat_order="C")
        raw = xgb.XGBModel.predict(
            self,
            X,
            output_margin=True,
            validate_features=validate_features,
            base_margin=margin,
            iteration_range=iteration_range,
        )
        return np.asarray(raw, dtype=np.float64)

    def predict_proba(
        self, X: Any, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """Class probabilities of shape ``(n_samples, n_classes)``."""
        return self._focal_proba(
            self.decision_function(
                X, validate_features=validate_features, base_margin=base_margin, iteration_range=iteration_range
            )
        )

    def predict(
        self,
        X: Any,
        *,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> np.ndarray:
        """Labels in the caller's label space; ``output_margin=True``: margins with the init score."""
        raw = self.decision_function(
            X, validate_features=validate_features, base_margin=base_margin, iteration_range=iteration_range
        )
        if output_margin:
            return raw
        return self._focal_labels(self._focal_proba(raw))
