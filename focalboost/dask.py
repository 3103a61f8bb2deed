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
import warnings
from typing import Any

import numpy as np

# Before the integrations it builds on, so that a missing library names this module's extra.
try:
    import dask
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd
    import xgboost as xgb
    from distributed import default_client
    from lightgbm import LGBMModel
    from lightgbm.dask import DaskLGBMClassifier
    from xgboost.dask import DaskXGBClassifier
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise ImportError(
        f"focalboost.dask needs Dask, LightGBM and XGBoost ({exc}): pip install 'focalboost[dask]'"
    ) from exc

from ._boosting import FOCAL_DOC, FOCAL_PARAMS, FocalClassifierMixin, decision, probabilities
from ._loss import BaseFocalLoss
from ._validation import PROBA_KINDS, check_choice
from .lightgbm import _SHADOWS as _LGB_SHADOWS
from .lightgbm import _SklearnMetric as _LGBMMetric
from .lightgbm import _SklearnObjective as _LGBMObjective
from .lightgbm import with_init_score as _lgb_with_init_score
from .xgboost import _SHADOWS as _XGB_SHADOWS
from .xgboost import _SklearnObjective as _XGBObjective
from .xgboost import _wrapper_params as _xgb_wrapper_params
from .xgboost import with_init_score as _xgb_with_init_score

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


# -- classes, labels and the start, in one pass ---------------------------------------------------
def _partition_summary(y: Any, w: Any) -> dict[str, Any]:
    """What one partition of ``y`` (and ``w``) holds: its labels and their sample weight, and what
    the checks before training need (rows, dimensions, NaN, bad weights)."""
    arr = np.asarray(y)
    out: dict[str, Any] = {"rows": int(arr.shape[0]) if arr.ndim else 1, "ndim": arr.ndim, "width": 1}
    if arr.ndim > 1:
        out["width"] = int(np.prod(arr.shape[1:]))
    flat = arr.reshape(-1)
    out["nan"] = bool(flat.dtype.kind == "f" and np.isnan(flat).any())
    weights = None
    if w is not None:
        weights = np.asarray(w, dtype=np.float64).reshape(-1)
        out["weight_rows"] = int(weights.shape[0])
        bad = ~np.isfinite(weights) | (weights < 0)
        out["bad_weight"] = float(weights[bad][0]) if bad.any() else None
    if out["nan"] or out["width"] != 1 or (weights is not None and (weights.shape[0] != flat.shape[0] or bad.any())):
        out["labels"], out["masses"] = flat[:0], np.zeros(0)
        return out
    labels, inverse = np.unique(flat, return_inverse=True)
    out["labels"] = labels
    out["masses"] = np.bincount(inverse.reshape(-1), weights=weights, minlength=labels.size)
    return out


def _rows(block: Any) -> int:
    return int(np.shape(block)[0])


def _parts(collection: Any) -> list[Any]:
    """One delayed object per row partition of a Dask Array, Series or DataFrame."""
    if isinstance(collection, da.Array):
        if collection.ndim > 1 and len(collection.chunks[1]) > 1:
            collection = collection.rechunk({1: -1})
        return list(collection.to_delayed().reshape(-1))
    if isinstance(collection, (dd.Series, dd.DataFrame)):
        return list(collection.to_delayed())
    raise TypeError(f"expected a Dask Array, Series or DataFrame, got {type(collection).__name__}")


def _global_classes(
    client: Any, y: Any, sample_weight: Any = None, X: Any = None, name: str = "y"
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted labels of the whole collection ``y`` and their total sample weight, in one pass,
    after checking everything that would otherwise fail on the workers.

    A failure inside LightGBM's distributed training leaves its workers waiting for each other,
    so that the next fit on the cluster hangs; so ``y``, ``sample_weight`` and the partitioning
    of ``X`` are checked here, before any training starts: ``y`` 1-D, without NaN, of a
    classification type; weights finite and ``>= 0``; ``X``, ``y`` and ``sample_weight``
    partitioned alike, row for row.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    masses : ndarray of shape (n_classes,)
        ``Σ_{y_i = c} w_i`` (counts when ``sample_weight`` is None).
    """
    from sklearn.utils.multiclass import type_of_target

    ys = _parts(y)
    ws = [None] * len(ys) if sample_weight is None else _parts(sample_weight)
    xs = [] if X is None else _parts(X)
    if len(ws) != len(ys):
        raise ValueError(f"sample_weight has {len(ws)} partitions but {name} has {len(ys)}: partition them alike")
    if X is not None and len(xs) != len(ys):
        raise ValueError(f"X has {len(xs)} partitions but {name} has {len(ys)}: partition them alike")
    tasks = [dask.delayed(_partition_summary)(a, b) for a, b in zip(ys, ws, strict=True)]
    tasks += [dask.delayed(_rows)(a) for a in xs]
    results = client.gather(client.compute(tasks))
    parts, x_rows = results[: len(ys)], results[len(ys) :]
    for i, part in enumerate(parts):
        if part["ndim"] > 1 and part["width"] != 1:
            raise ValueError(
                f"{name} must be 1-D (one label per sample), got partition {i} of {part['ndim']} dimensions"
            )
        if part["nan"]:
            raise ValueError(f"{name} holds NaN (in partition {i}): every sample needs a label")
        if "weight_rows" in part and part["weight_rows"] != part["rows"]:
            raise ValueError(
                f"sample_weight and {name} are partitioned differently: partition {i} has {part['weight_rows']} "
                f"weights and {part['rows']} labels"
            )
        if part.get("bad_weight") is not None:
            raise ValueError(f"sample_weight must be finite and >= 0, got {part['bad_weight']!r} (in partition {i})")
        if x_rows and x_rows[i] != part["rows"]:
            raise ValueError(
                f"X and {name} are partitioned differently: partition {i} has {x_rows[i]} rows of X and "
                f"{part['rows']} labels"
            )
    classes = np.unique(np.concatenate([part["labels"] for part in parts]))
    kind = type_of_target(classes)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {kind!r} ({name} must hold class labels, got {classes[:5].tolist()!r}...)"
        )
    masses = np.zeros(classes.size)
    for part in parts:
        np.add.at(masses, np.searchsorted(classes, part["labels"]), part["masses"])
    return classes, masses


def _check_eval_labels(client: Any, eval_ys: list[Any], classes: np.ndarray) -> None:
    """Raise on labels of an evaluation set that the training labels do not hold (before any
    training starts: a failure inside LightGBM's network training would leave the workers waiting)."""
    for i, vy in enumerate(eval_ys):
        seen, _ = _global_classes(client, vy, name=f"eval_set[{i}]'s y")
        unknown = np.setdiff1d(seen, classes)
        if unknown.size:
            raise ValueError(
                f"eval_set[{i}] holds labels not seen in the training y: {unknown[:5].tolist()!r}; "
                f"classes are {classes.tolist()!r}"
            )


# -- aligned Dask collections ---------------------------------------------------------------------
def _encode_block(y: Any, classes: np.ndarray) -> np.ndarray:
    arr = np.asarray(y).reshape(-1)
    idx = np.clip(np.searchsorted(classes, arr), 0, classes.size - 1)
    unknown = classes[idx] != arr
    if np.any(unknown):
        raise ValueError(f"labels not seen in the training y: {np.unique(arr[unknown])[:5].tolist()!r}")  # safety net
    return idx.astype(np.float64)


def _encode_labels(y: Any, classes: np.ndarray) -> Any:
    """``y`` as float class indices ``0 … K−1``, partitioned like ``y`` (Array or Series)."""
    if isinstance(y, da.Array):
        arr: Any = y
        return arr.map_blocks(_encode_block, classes, dtype=np.float64)
    if isinstance(y, dd.DataFrame):
        y = y[y.columns[0]]
    return y.map_partitions(
        lambda s: pd.Series(_encode_block(s, classes), index=s.index, name="label"), meta=("label", "f8")
    )


def _constant_block(block: Any, init: np.ndarray) -> np.ndarray:
    n = block.shape[0]
    return np.full(n, float(init)) if init.ndim == 0 else np.tile(init, (n, 1))


def _constant_like(ref: Any, init: float | np.ndarray) -> Any:
    """The init score repeated for every row of ``ref`` (Array, Series or DataFrame), partitioned
    like it: shape ``(n,)`` for a float, ``(n, K)`` for a vector."""
    init_arr = np.asarray(init, dtype=np.float64)
    if isinstance(ref, da.Array):
        col: Any = ref if ref.ndim == 1 else ref[:, 0]
        if init_arr.ndim == 0:
            return col.map_blocks(_constant_block, init_arr, dtype=np.float64)
        k = init_arr.size
        return col.map_blocks(_constant_block, init_arr, dtype=np.float64, new_axis=1, chunks=(col.chunks[0], (k,)))
    if init_arr.ndim == 0:
        return ref.map_partitions(
            lambda p: pd.Series(_constant_block(p, init_arr), index=p.index, name="init"), meta=("init", "f8")
        )
    names = [f"init_{j}" for j in range(init_arr.size)]
    meta = pd.DataFrame({c: pd.Series(dtype="f8") for c in names})
    return ref.map_partitions(
        lambda p: pd.DataFrame(_constant_block(p, init_arr), index=p.index, columns=names), meta=meta
    )


def _margin_block(block: Any, booster: xgb.Booster, init: np.ndarray, validate: bool, rng: Any, baked: bool) -> Any:
    # A booster that holds the init score predicts from it; another one is given it as base_margin.
    raw = booster.inplace_predict(
        block,
        iteration_range=rng,
        predict_type="margin",
        base_margin=None if baked else _constant_block(block, init),
        validate_features=validate,
        strict_shape=init.ndim > 0,
    )
    raw = np.asarray(raw, dtype=np.float64).reshape(block.shape[0], -1)
    return raw[:, 0] if init.ndim == 0 else raw


def _xgb_margins(booster: xgb.Booster, X: Any, init: Any, validate: bool, rng: Any, baked: bool) -> da.Array:
    """Raw margins of ``X`` (Array or DataFrame), init score included, partition by partition."""
    init_arr = np.asarray(init, dtype=np.float64)
    k = init_arr.size
    if isinstance(X, dd.DataFrame):
        X = X.map_partitions(
            lambda p: pd.DataFrame(
                _margin_block(p, booster, init_arr, validate, rng, baked).reshape(len(p), -1), index=p.index
            ),
            meta=pd.DataFrame({j: pd.Series(dtype="f8") for j in range(1 if init_arr.ndim == 0 else k)}),
        ).to_dask_array(lengths=True)
        return X[:, 0] if init_arr.ndim == 0 else X
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a Dask Array or DataFrame, got {type(X).__name__}")
    X = X.rechunk({1: -1})
    args = (booster, init_arr, validate, rng, baked)
    if init_arr.ndim == 0:
        return X.map_blocks(_margin_block, *args, dtype=np.float64, drop_axis=1)
    return X.map_blocks(_margin_block, *args, dtype=np.float64, chunks=(X.chunks[0], (k,)))


def _as_array(result: Any) -> da.Array:
    if isinstance(result, (dd.Series, dd.DataFrame)):
        return result.to_dask_array()
    return result


def _proba_block(raw: np.ndarray, loss: BaseFocalLoss, kind: str) -> np.ndarray:
    return probabilities(loss, raw, kind)


def _decision_block(raw: np.ndarray, loss: BaseFocalLoss, kind: str) -> np.ndarray:
    return decision(loss, raw, kind)


def _blockwise(fn: Any, raw: Any, loss: BaseFocalLoss, kind: str, n_out: int | None) -> da.Array:
    """``fn(block, loss, kind)`` on every row block of the raw scores (one column per class, or a
    vector for two classes); ``n_out`` columns out, or the shape of ``raw`` for None."""
    check_choice("focal_proba", kind, PROBA_KINDS)
    if raw.ndim == 1:
        if n_out is None:
            return raw.map_blocks(fn, loss, kind, dtype=np.float64)
        return raw.map_blocks(fn, loss, kind, dtype=np.float64, new_axis=1, chunks=(raw.chunks[0], (n_out,)))
    raw = raw.rechunk({1: -1})
    width = raw.shape[1] if n_out is None else n_out
    return raw.map_blocks(fn, loss, kind, dtype=np.float64, chunks=(raw.chunks[0], (width,)))


def _probabilities(raw: Any, loss: BaseFocalLoss, n_classes: int, kind: str) -> da.Array:
    """``(n, K)`` probabilities (``kind``: see ``focal_proba``) from raw scores, block by block."""
    return _blockwise(_proba_block, raw, loss, kind, n_classes)


def _labels(proba: Any, classes: np.ndarray) -> da.Array:
    """The class of largest probability, in the caller's label space."""
    return proba.map_blocks(lambda p: classes[np.argmax(p, axis=1)], dtype=classes.dtype, drop_axis=1)


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
        _constant_like(r, init) if g is None else _constant_like(r, init) + g
        for r, g in zip(refs, given_list, strict=True)
    ]


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

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: Any = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        focal_proba: str = "posterior",
        focal_scale: Any = 1.0,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        self.focal_proba = focal_proba
        self.focal_scale = focal_scale
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
        from .lightgbm import FocalLGBMClassifier

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

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: Any = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        focal_proba: str = "posterior",
        focal_scale: Any = 1.0,
        objective: Any = None,
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        self.focal_proba = focal_proba
        self.focal_scale = focal_scale
        super().__init__(objective=objective, **kwargs)

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
        booster = self.get_booster()
        self._focal_baked = False
        try:
            self._Booster = _xgb_with_init_score(booster, init, num_iteration=booster.num_boosted_rounds())
            self._focal_baked = True
        except ValueError as exc:
            warnings.warn(
                f"{type(self).__name__}: the booster cannot hold the init score ({exc}); this estimator adds it "
                "at prediction, but a booster saved from it predicts without it",
                UserWarning,
                stacklevel=2,
            )
        return self

    def _raw(self, X: Any, base_margin: Any, validate_features: bool, iteration_range: Any) -> Any:
        """Raw margins, init score included (plus ``base_margin``).

        Each partition is predicted with the booster's ``inplace_predict`` (xgboost.dask aligns a
        1-D or ``(n, K)`` ``base_margin`` with the feature axis of a Dask Array, so none is handed
        over); the caller's ``base_margin`` is added afterwards.
        """
        baked = getattr(self, "_focal_baked", False)
        rng = iteration_range or (0, 0)
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
