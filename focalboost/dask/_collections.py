"""The Dask collections side of :mod:`focalboost.dask`: one pass over the labels (classes, their
sample weight and every check that would otherwise fail on a worker), labels encoded and
constant starts laid out partition by partition, and raw scores turned into what the estimators
return, block by block."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import xgboost as xgb

from .._boosting import decision, probabilities
from .._loss import BaseFocalLoss
from .._validation import PROBA_KINDS, check_choice
from ..xgboost._native import dmatrix_margins


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
    # A booster that holds the init score predicts from it; one that cannot hold it (DART) is given
    # it as base_margin, through a DMatrix (XGBoost's inplace_predict mishandles that case).
    if baked:
        raw = booster.inplace_predict(
            block, iteration_range=rng, predict_type="margin", validate_features=validate, strict_shape=init.ndim > 0
        )
    else:
        margin = _constant_block(block, init)
        raw = dmatrix_margins(booster, block, margin, iteration_range=rng, validate_features=validate)
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
        ).to_dask_array()  # lengths=True would predict every partition now, and again at compute
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
