"""The focal loss on a Dask cluster: :class:`FocalDaskLGBMClassifier` and :class:`FocalDaskXGBClassifier`.

They mirror :class:`lightgbm.dask.DaskLGBMClassifier` and :class:`xgboost.dask.DaskXGBClassifier`
(a ``client``, Dask Arrays or DataFrames in, Dask Arrays out) and add the ``focal_*`` parameters.
Before training, one pass over the labels (and weights) gives the classes and the globally
optimal constant start (the init score), which every worker starts from and which prediction
adds back; ``predict_proba`` returns probabilities of shape ``(n_samples, n_classes)``.
Helpers live in :mod:`focalboost._dask`.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from distributed import default_client
from lightgbm import LGBMModel
from lightgbm.dask import DaskLGBMClassifier, _predict, _train
from xgboost.dask import DaskXGBClassifier

from ._dask import (
    _FOCAL_DOC,
    FOCAL_PARAMS,
    LGBMMetric,
    LGBMObjective,
    XGBObjective,
    _as_array,
    check_eval_labels,
    constant_like,
    encode_labels,
    focal_start,
    global_classes,
    labels,
    probabilities,
    xgb_margins,
)

__all__ = ["FocalDaskLGBMClassifier", "FocalDaskXGBClassifier"]

# Parameters of the scikit-learn wrapper that must not reach the booster of a worker.
_LGBM_DROP = (*FOCAL_PARAMS, "client", "objective", "class_weight")


def _eval_pairs(eval_set: Any) -> list[tuple[Any, Any]]:
    if eval_set is None:
        return []
    return [eval_set] if isinstance(eval_set, tuple) else list(eval_set)


def _offsets(init: Any, refs: list[Any], given: Any) -> list[Any]:
    """The init score for each collection in ``refs``, plus the caller's offsets where given."""
    given_list = [None] * len(refs) if given is None else list(given)
    return [
        constant_like(r, init) if g is None else constant_like(r, init) + g
        for r, g in zip(refs, given_list, strict=True)
    ]


class FocalDaskLGBMClassifier(DaskLGBMClassifier):
    __doc__ = f"""Distributed LightGBM classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`lightgbm.dask.DaskLGBMClassifier`: every parameter of it (``objective``
    must stay ``None``; ``class_weight`` too: LightGBM would balance each worker's part separately,
    so use ``focal_alpha`` or ``sample_weight``) plus the ``focal_*`` parameters below. Two classes
    train with :class:`focalboost.FocalLoss`, more with :class:`focalboost.SoftmaxFocalLoss`.

    Parameters
    ----------{_FOCAL_DOC}
    client : distributed.Client or None, default=None
        The Dask client; None uses the default one.
    **kwargs
        Every parameter of :class:`lightgbm.dask.DaskLGBMClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score, computed from the whole collection, that every worker starts from.
    focal_loss_ : FocalLoss or SoftmaxFocalLoss
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: Any = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        super().__init__(client=client, **kwargs)

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        init_score: Any = None,
        eval_set: Any = None,
        eval_names: Any = None,
        eval_sample_weight: Any = None,
        eval_init_score: Any = None,
        eval_metric: Any = None,
        **kwargs: Any,
    ) -> FocalDaskLGBMClassifier:
        """Fit on Dask collections; arguments as in :meth:`lightgbm.dask.DaskLGBMClassifier.fit`.

        ``init_score`` / ``eval_init_score``, when given, are added to the focal init score. The
        focal loss (``"focal_loss"``) is always evaluated on ``eval_set`` (by each worker on its
        own parts, as LightGBM's Dask metrics are), before ``eval_metric``.
        """
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        if self.class_weight is not None:
            raise ValueError(
                f"{type(self).__name__} does not support class_weight (each worker would weigh its "
                f"own part): use focal_alpha or sample_weight, got {self.class_weight!r}"
            )
        client = self.client if self.client is not None else default_client()
        classes, masses = global_classes(client, y, sample_weight)
        loss, init = focal_start(self, classes, masses)
        eval_x, eval_y = kwargs.pop("eval_X", None), kwargs.pop("eval_y", None)
        if eval_x is not None:  # LightGBM ≥ 4.7's other spelling of eval_set
            xs = eval_x if isinstance(eval_x, tuple) else (eval_x,)
            ys = eval_y if isinstance(eval_y, tuple) else (eval_y,)
            eval_set = list(zip(xs, ys, strict=True))
        pairs = _eval_pairs(eval_set)
        check_eval_labels(client, [vy for _, vy in pairs], classes)
        eval_pairs = [(vx, encode_labels(vy, classes)) for vx, vy in pairs]
        if eval_pairs and "eval_X" in inspect.signature(_train).parameters:
            kwargs["eval_X"] = tuple(vx for vx, _ in eval_pairs)  # LightGBM ≥ 4.7 deprecates eval_set
            kwargs["eval_y"] = tuple(vy for _, vy in eval_pairs)
            eval_pairs = []
        eval_inits = _offsets(init, [vy for _, vy in pairs], eval_init_score) or None
        params = {k: v for k, v in self.get_params().items() if k not in _LGBM_DROP}
        if params.get("n_jobs") is None:
            params.pop("n_jobs", None)  # each worker uses its Dask threads; None would only warn
        params["objective"] = LGBMObjective(loss)
        if not any(k in params for k in ("metric", "metrics", "metric_types")):
            params["metric"] = "None"  # LightGBM's default metric would read raw scores as probabilities
        if classes.size > 2:
            params["num_class"] = classes.size
        metrics: list[Any] = [LGBMMetric(loss)]
        if eval_metric is not None:
            metrics += list(eval_metric) if isinstance(eval_metric, list) else [eval_metric]
        model = _train(
            client=client,
            data=X,
            label=encode_labels(y, classes),
            params=params,
            model_factory=LGBMModel,  # no per-worker label encoding: the labels are encoded here
            sample_weight=sample_weight,
            init_score=_offsets(init, [y], None if init_score is None else [init_score])[0],
            eval_set=eval_pairs or None,
            eval_names=eval_names,
            eval_sample_weight=eval_sample_weight,
            eval_init_score=eval_inits,
            eval_metric=metrics,
            **kwargs,
        )
        own = set(model.get_params())
        for name, value in vars(model).items():  # the fitted state (booster, evals, ...)
            if name not in own and name not in ("_other_params", "_objective"):
                setattr(self, name, value)
        self._focal_model = model
        self._classes, self._n_classes = classes, int(classes.size)
        self.init_score_, self.focal_loss_ = init, loss
        return self

    def to_local(self) -> Any:
        """The model as a single-machine :class:`focalboost.lightgbm.FocalLGBMClassifier` (the same
        parameters and, once fitted, the same booster, classes and init score)."""
        from ._lightgbm import FocalLGBMClassifier

        local = FocalLGBMClassifier(**{k: v for k, v in self.get_params().items() if k != "client"})
        model = getattr(self, "_focal_model", None)
        if model is None:
            return local
        own = set(model.get_params())
        for name, value in vars(model).items():  # booster, evals, feature counts, ...
            if name not in own and name != "_other_params":
                setattr(local, name, value)
        local._classes = local._focal_classes = np.asarray(self._classes)
        local._n_classes = self._n_classes
        local.init_score_, local.focal_loss_ = self.init_score_, self.focal_loss_
        return local

    def _lgb_predict(self, X: Any, **kwargs: Any) -> Any:
        client = self.client if self.client is not None else default_client()
        return _as_array(_predict(model=self._focal_model, data=X, client=client, **kwargs))

    def decision_function(self, X: Any, **kwargs: Any) -> Any:
        """Raw scores with the init score, a Dask Array of shape ``(n,)`` (log-odds of the second
        class) or ``(n, n_classes)``; ``kwargs`` as in ``predict`` (``num_iteration``, ...)."""
        return self._lgb_predict(X, raw_score=True, **kwargs) + np.asarray(self.init_score_)

    def predict_proba(self, X: Any, raw_score: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        """Probabilities, a Dask Array of shape ``(n_samples, n_classes)`` (``raw_score``,
        ``pred_leaf``, ``pred_contrib``: as :meth:`predict`)."""
        if raw_score or kwargs.get("pred_leaf") or kwargs.get("pred_contrib"):
            return self.predict(X, raw_score=raw_score, **kwargs)
        return probabilities(self.decision_function(X, **kwargs), self.focal_loss_, self._n_classes)

    def predict(self, X: Any, raw_score: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        """Labels in the caller's label space, a Dask Array of shape ``(n_samples,)``.

        ``raw_score=True``: :meth:`decision_function`; ``pred_leaf=True``: leaf indices;
        ``pred_contrib=True`` (dense ``X``): SHAP values whose expected-value column (the last of
        each class's block of ``n_features + 1``) includes the init score.
        """
        if raw_score:
            return self.decision_function(X, **kwargs)
        if kwargs.get("pred_leaf"):
            return self._lgb_predict(X, **kwargs)
        if kwargs.get("pred_contrib"):
            init = np.atleast_1d(np.asarray(self.init_score_, dtype=np.float64))
            width = self._n_features + 1
            offset = np.zeros(init.size * width)
            offset[width - 1 :: width] = init
            return self._lgb_predict(X, **kwargs) + offset
        return labels(self.predict_proba(X, **kwargs), np.asarray(self._classes))


class FocalDaskXGBClassifier(DaskXGBClassifier):
    __doc__ = f"""Distributed XGBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`xgboost.dask.DaskXGBClassifier` (``objective`` must stay at its
    default) plus the ``focal_*`` parameters below; the client is the ``client`` attribute, as
    there. The init score is applied as ``base_margin`` to training, every ``eval_set`` and
    prediction. Two classes train with :class:`focalboost.FocalLoss`, more with
    :class:`focalboost.SoftmaxFocalLoss`.

    Parameters
    ----------{_FOCAL_DOC}
    **kwargs
        Every parameter of :class:`xgboost.dask.DaskXGBClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
    focal_loss_ : FocalLoss or SoftmaxFocalLoss
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: Any = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        super().__init__(**kwargs)

    def _wrapper_params(self) -> set[str]:  # never forwarded to the booster
        return super()._wrapper_params() | set(FOCAL_PARAMS)

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
    ) -> FocalDaskXGBClassifier:
        """Fit on Dask collections; arguments as in :meth:`xgboost.dask.DaskXGBClassifier.fit`.

        ``base_margin`` / ``base_margin_eval_set``, when given, are added to the focal init score
        (pass the same offset as ``base_margin`` when predicting).
        """
        if self.objective not in (None, "binary:logistic", "multi:softprob"):
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must stay at its "
                f"default, got {self.objective!r}"
            )
        classes, masses = global_classes(self.client, y, sample_weight)
        loss, init = focal_start(self, classes, masses)
        pairs = _eval_pairs(eval_set)
        check_eval_labels(self.client, [vy for _, vy in pairs], classes)
        objective = self.objective
        self.objective = XGBObjective(loss, device=self.device)
        try:
            super().fit(
                X,
                encode_labels(y, classes),
                sample_weight=sample_weight,
                base_margin=_offsets(init, [y], None if base_margin is None else [base_margin])[0],
                eval_set=[(vx, encode_labels(vy, classes)) for vx, vy in pairs] or None,
                verbose=verbose,
                xgb_model=xgb_model,
                sample_weight_eval_set=sample_weight_eval_set,
                base_margin_eval_set=_offsets(init, [vy for _, vy in pairs], base_margin_eval_set) or None,
                feature_weights=feature_weights,
            )
        finally:
            self.objective = objective
        self.classes_, self.n_classes_ = classes, int(classes.size)
        self.init_score_, self.focal_loss_ = init, loss
        return self

    def decision_function(
        self, X: Any, *, base_margin: Any = None, validate_features: bool = True, iteration_range: Any = None
    ) -> Any:
        """Raw margins with the init score (plus ``base_margin``), shape ``(n,)`` or ``(n, n_classes)``.

        Each partition is predicted with the booster's ``inplace_predict`` and the init score as
        its ``base_margin``, built inside the partition (xgboost.dask aligns a 1-D or ``(n, K)``
        ``base_margin`` with the feature axis of a Dask Array, so it is not handed over).
        """
        raw = xgb_margins(self.get_booster(), X, self.init_score_, validate_features, iteration_range or (0, 0))
        return raw if base_margin is None else raw + _as_array(base_margin)

    def predict_proba(
        self,
        X: Any,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> Any:
        """Probabilities, a Dask Array of shape ``(n_samples, n_classes)``."""
        raw = self.decision_function(
            X, base_margin=base_margin, validate_features=validate_features, iteration_range=iteration_range
        )
        return probabilities(raw, self.focal_loss_, self.n_classes_)

    def predict(
        self,
        X: Any,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> Any:
        """Labels in the caller's label space (``output_margin=True``: :meth:`decision_function`)."""
        if output_margin:
            return self.decision_function(
                X, base_margin=base_margin, validate_features=validate_features, iteration_range=iteration_range
            )
        return labels(self.predict_proba(X, validate_features, base_margin, iteration_range), self.classes_)
