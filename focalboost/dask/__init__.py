"""The focal loss on a Dask cluster: :class:`FocalDaskLGBMClassifier` and :class:`FocalDaskXGBClassifier`.

They mirror :class:`lightgbm.dask.DaskLGBMClassifier` and :class:`xgboost.dask.DaskXGBClassifier`
(a ``client``, Dask Arrays or DataFrames in, Dask Arrays out) and add the ``focal_*`` parameters
of the single-machine estimators, through the same shared layer. Before training, one pass over
the labels (and weights) gives the classes and the globally optimal constant start (the init
score: the weighted mean loss of a constant depends on the labels through the class masses
only), which every worker starts from (LightGBM: ``init_score``, XGBoost: ``base_margin``) and
which prediction adds back; ``predict_proba`` returns probabilities of shape
``(n_samples, n_classes)``. Requires the ``dask`` extra.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

# Before the integrations it builds on, so that a missing library names this module's extra.
from .._config import missing_extra

try:
    import dask.array  # noqa: F401  (what ._collections needs, checked here for the message)
    import dask.dataframe  # noqa: F401
    import pandas  # noqa: F401
    from distributed import default_client
    from lightgbm import LGBMModel
    from lightgbm.dask import DaskLGBMClassifier
    from xgboost.dask import DaskXGBClassifier
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise missing_extra(__name__, "dask", exc) from exc

from .._boosting import FOCAL_DOC, FOCAL_PARAMS, FocalClassifierMixin, focal_parameters
from ..lightgbm import _SHADOWS as _LGB_SHADOWS
from ..lightgbm._native import _SklearnMetric as _LGBMMetric
from ..lightgbm._native import _SklearnObjective as _LGBMObjective
from ..lightgbm._native import with_init_score as _lgb_with_init_score
from ..xgboost import _SHADOWS as _XGB_SHADOWS
from ..xgboost import _wrapper_params as _xgb_wrapper_params
from ..xgboost._native import _SklearnObjective as _XGBObjective
from ..xgboost._native import bake_init_score as _xgb_bake
from ..xgboost._native import predict_rounds
from ._collections import (
    _as_array,
    _blockwise,
    _check_eval_labels,
    _constant_like,
    _decision_block,
    _encode_labels,
    _global_classes,
    _labels,
    _probabilities,
    _xgb_margins,
)

__all__ = ["FocalDaskLGBMClassifier", "FocalDaskXGBClassifier"]


def _lgb_dask_train(**kwargs: Any) -> Any:
    """``lightgbm.dask._train``: LightGBM's private distributed training function (its estimators'
    ``fit`` encodes labels per worker, which would break the global classes). The one private API
    of lightgbm.dask used here, with :func:`_lgb_dask_predict`; a test fails loudly if it changes."""
    from lightgbm.dask import _train

    return _train(**kwargs)


def _lgb_dask_train_parameters() -> set[str]:
    from lightgbm.dask import _train

    return set(inspect.signature(_train).parameters)


def _lgb_dask_predict(**kwargs: Any) -> Any:
    """``lightgbm.dask._predict``: prediction of a single-machine model on Dask collections."""
    from lightgbm.dask import _predict

    return _predict(**kwargs)


_LGBM_DROP = (*FOCAL_PARAMS, "client", "objective", "class_weight")


def _eval_pairs(eval_set: Any) -> list[tuple[Any, Any]]:
    if eval_set is None:
        return []
    return [eval_set] if isinstance(eval_set, tuple) else list(eval_set)


def _offsets(init: Any, refs: list[Any], given: Any) -> list[Any]:
    """The init score for each collection in ``refs``, plus the caller's offsets where given."""
    given_list = [None] * len(refs) if given is None else list(given)
    return [
        _constant_like(r, init) if g is None else _constant_like(r, init) + g
        for r, g in zip(refs, given_list, strict=True)
    ]


@focal_parameters()
class FocalDaskLGBMClassifier(FocalClassifierMixin, DaskLGBMClassifier):
    __doc__ = f"""Distributed LightGBM classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`lightgbm.dask.DaskLGBMClassifier`: every parameter of it (``objective``
    must stay ``None``; ``class_weight`` too: LightGBM would balance each worker's part separately,
    so use ``focal_alpha`` or ``sample_weight``) plus the ``focal_*`` parameters below. Two classes
    train with :class:`focalboost.FocalLoss`, more with :class:`focalboost.MulticlassFocalLoss`.

    Parameters
    ----------{FOCAL_DOC}
    client : distributed.Client or None, default=None
        The Dask client; None uses the default one.
    **kwargs
        Every parameter of :class:`lightgbm.dask.DaskLGBMClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score, computed from the whole collection, that every worker starts from.
    focal_loss_ : FocalLoss or MulticlassFocalLoss
    """

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
        self._focal_check_params(_LGB_SHADOWS)
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        if kwargs.get("init_model") is not None:
            raise ValueError(f"{type(self).__name__} does not continue training from init_model; fit a new model")
        if self.class_weight is not None:
            raise ValueError(
                f"{type(self).__name__} does not support class_weight (each worker would weigh its "
                f"own part): use focal_alpha or sample_weight, got {self.class_weight!r}"
            )
        client = self.client if self.client is not None else default_client()
        classes, masses = _global_classes(client, y, sample_weight, X)
        loss, init, scale = self._focal_start(classes, masses)
        eval_x, eval_y = kwargs.pop("eval_X", None), kwargs.pop("eval_y", None)
        if eval_x is not None:  # LightGBM ≥ 4.7's other spelling of eval_set
            xs = eval_x if isinstance(eval_x, tuple) else (eval_x,)
            ys = eval_y if isinstance(eval_y, tuple) else (eval_y,)
            eval_set = list(zip(xs, ys, strict=True))
        pairs = _eval_pairs(eval_set)
        _check_eval_labels(client, [vy for _, vy in pairs], classes)
        eval_pairs = [(vx, _encode_labels(vy, classes)) for vx, vy in pairs]
        if eval_pairs and "eval_X" in _lgb_dask_train_parameters():
            kwargs["eval_X"] = tuple(vx for vx, _ in eval_pairs)  # LightGBM ≥ 4.7 deprecates eval_set
            kwargs["eval_y"] = tuple(vy for _, vy in eval_pairs)
            eval_pairs = []
        eval_inits = _offsets(init, [vy for _, vy in pairs], eval_init_score) or None
        params = {k: v for k, v in self.get_params().items() if k not in _LGBM_DROP}
        if params.get("n_jobs") is None:
            params.pop("n_jobs", None)  # each worker uses its Dask threads; None would only warn
        params["objective"] = _LGBMObjective(loss, scale)
        if not any(k in params for k in ("metric", "metrics", "metric_types")):
            params["metric"] = "None"  # LightGBM's default metric would read raw scores as probabilities
        if classes.size > 2:
            params["num_class"] = classes.size
        metrics: list[Any] = [_LGBMMetric(loss)]
        if eval_metric is not None:
            metrics += list(eval_metric) if isinstance(eval_metric, list) else [eval_metric]
        model = _lgb_dask_train(
            client=client,
            data=X,
            label=_encode_labels(y, classes),
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
        # The init score into the booster, so that booster_ (and its saved file) predicts on its own.
        model._Booster = _lgb_with_init_score(model.booster_, init, num_iteration=-1)
        own = set(model.get_params())
        for name, value in vars(model).items():  # the fitted state (booster, evals, ...)
            if name not in own and name not in ("_other_params", "_objective"):
                setattr(self, name, value)
        self._focal_model = model
        self._classes, self._n_classes = classes, int(classes.size)
        self.init_score_, self.focal_loss_, self.focal_scale_ = init, loss, scale
        return self

    def to_local(self) -> Any:
        """The model as a single-machine :class:`focalboost.lightgbm.FocalLGBMClassifier` (the same
        parameters and, once fitted, the same booster, classes and init score)."""
        from ..lightgbm import FocalLGBMClassifier

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
        local.focal_scale_ = self.focal_scale_
        return local

    def _lgb_predict(self, X: Any, **kwargs: Any) -> Any:
        client = self.client if self.client is not None else default_client()
        return _as_array(_lgb_dask_predict(model=self._focal_model, data=X, client=client, **kwargs))

    def _raw(self, X: Any, **kwargs: Any) -> Any:
        """Raw scores, init score included: the booster holds it in its first iteration, added back
        when ``start_iteration > 0`` skips that."""
        raw = self._lgb_predict(X, raw_score=True, **kwargs)
        return raw + np.asarray(self.init_score_) if kwargs.get("start_iteration", 0) > 0 else raw

    def decision_function(self, X: Any, **kwargs: Any) -> Any:
        """The decision function, a Dask Array of shape ``(n,)`` (positive where :meth:`predict`
        gives the second class) or ``(n, n_classes)`` (its argmax is :meth:`predict`): the log-odds
        (log-probabilities) of :meth:`predict_proba`, or with ``focal_proba="link"`` the raw scores;
        ``kwargs`` as in ``predict`` (``num_iteration``, ...)."""
        return _blockwise(_decision_block, self._raw(X, **kwargs), self.focal_loss_, self.focal_proba, None)

    def predict_proba(self, X: Any, raw_score: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        """Probabilities (``focal_proba``), a Dask Array of shape ``(n_samples, n_classes)``
        (``raw_score``, ``pred_leaf``, ``pred_contrib``: as :meth:`predict`)."""
        if raw_score or kwargs.get("pred_leaf") or kwargs.get("pred_contrib"):
            return self.predict(X, raw_score=raw_score, **kwargs)
        return _probabilities(self._raw(X, **kwargs), self.focal_loss_, self._n_classes, self.focal_proba)

    def predict(self, X: Any, raw_score: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        """Labels in the caller's label space, a Dask Array of shape ``(n_samples,)``.

        ``raw_score=True``: the raw scores (init score included); ``pred_leaf=True``: leaf indices;
        ``pred_contrib=True`` (dense ``X``): SHAP values, whose rows sum to the raw scores.
        """
        if raw_score:
            return self._raw(X, **kwargs)
        if kwargs.get("pred_leaf"):
            return self._lgb_predict(X, **kwargs)
        if kwargs.get("pred_contrib"):
            out = self._lgb_predict(X, **kwargs)
            if kwargs.get("start_iteration", 0) > 0:  # the init score lives in the skipped first iteration
                init = np.atleast_1d(np.asarray(self.init_score_, dtype=np.float64))
                width = self._n_features + 1
                offset = np.zeros(init.size * width)
                offset[width - 1 :: width] = init
                out = out + offset
            return out
        return _labels(self.predict_proba(X, **kwargs), np.asarray(self._classes))


@focal_parameters(objective=None)
class FocalDaskXGBClassifier(FocalClassifierMixin, DaskXGBClassifier):
    __doc__ = f"""Distributed XGBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`xgboost.dask.DaskXGBClassifier` (``objective`` must stay at its
    default) plus the ``focal_*`` parameters below; the client is the ``client`` attribute, as
    there. The init score is applied as ``base_margin`` to training, every ``eval_set`` and
    prediction. Two classes train with :class:`focalboost.FocalLoss`, more with
    :class:`focalboost.MulticlassFocalLoss`.

    Parameters
    ----------{FOCAL_DOC}
    **kwargs
        Every parameter of :class:`xgboost.dask.DaskXGBClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
    focal_loss_ : FocalLoss or MulticlassFocalLoss
    """

    def _wrapper_params(self) -> set[str]:  # never forwarded to the booster
        return _xgb_wrapper_params(self) | set(FOCAL_PARAMS)

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
        self._focal_check_params(_XGB_SHADOWS)
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        if xgb_model is not None:
            raise ValueError(f"{type(self).__name__} does not continue training from xgb_model; fit a new model")
        classes, masses = _global_classes(self.client, y, sample_weight, X)
        loss, init, scale = self._focal_start(classes, masses)
        pairs = _eval_pairs(eval_set)
        _check_eval_labels(self.client, [vy for _, vy in pairs], classes)
        objective = self.objective
        self.objective = _XGBObjective(loss, device=self.device, scale=scale)
        try:
            super().fit(
                X,
                _encode_labels(y, classes),
                sample_weight=sample_weight,
                base_margin=_offsets(init, [y], None if base_margin is None else [base_margin])[0],
                eval_set=[(vx, _encode_labels(vy, classes)) for vx, vy in pairs] or None,
                verbose=verbose,
                xgb_model=None,
                sample_weight_eval_set=sample_weight_eval_set,
                base_margin_eval_set=_offsets(init, [vy for _, vy in pairs], base_margin_eval_set) or None,
                feature_weights=feature_weights,
            )
        finally:
            self.objective = objective
        self.classes_, self.n_classes_ = classes, int(classes.size)
        self.init_score_, self.focal_loss_, self.focal_scale_ = init, loss, scale
        # The init score into the booster, so that get_booster() (and its saved file) predicts on its own.
        self._Booster, self._focal_baked = _xgb_bake(self.get_booster(), init, type(self).__name__, stacklevel=2)
        return self

    def _raw(self, X: Any, base_margin: Any, validate_features: bool, iteration_range: Any) -> Any:
        """Raw margins, init score included (plus ``base_margin``).

        Each partition is predicted with the booster's ``inplace_predict`` (xgboost.dask aligns a
        1-D or ``(n, K)`` ``base_margin`` with the feature axis of a Dask Array, so none is handed
        over); the caller's ``base_margin`` is added afterwards.
        """
        baked = getattr(self, "_focal_baked", False)
        rng = predict_rounds(self, iteration_range)  # the best iteration after early stopping, as in xgboost.dask
        raw = _xgb_margins(self.get_booster(), X, self.init_score_, validate_features, rng, baked)
        if baked and rng[0] > 0 and np.ndim(self.init_score_) == 0:
            raw = raw + self.init_score_  # a binary booster holds it in the skipped first tree
        return raw if base_margin is None else raw + _as_array(base_margin)

    def decision_function(
        self, X: Any, *, base_margin: Any = None, validate_features: bool = True, iteration_range: Any = None
    ) -> Any:
        """The decision function, a Dask Array of shape ``(n,)`` (positive where :meth:`predict`
        gives the second class) or ``(n, n_classes)`` (its argmax is :meth:`predict`): the log-odds
        (log-probabilities) of :meth:`predict_proba`, or with ``focal_proba="link"`` the raw margins."""
        raw = self._raw(X, base_margin, validate_features, iteration_range)
        return _blockwise(_decision_block, raw, self.focal_loss_, self.focal_proba, None)

    def predict_proba(
        self,
        X: Any,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> Any:
        """Probabilities (``focal_proba``), a Dask Array of shape ``(n_samples, n_classes)``."""
        raw = self._raw(X, base_margin, validate_features, iteration_range)
        return _probabilities(raw, self.focal_loss_, self.n_classes_, self.focal_proba)

    def predict(
        self,
        X: Any,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> Any:
        """Labels in the caller's label space (``output_margin=True``: the raw margins, init score
        included)."""
        if output_margin:
            return self._raw(X, base_margin, validate_features, iteration_range)
        return _labels(self.predict_proba(X, validate_features, base_margin, iteration_range), self.classes_)
