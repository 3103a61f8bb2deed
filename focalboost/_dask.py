"""Dask estimators: the focal loss on Dask collections with LightGBM and XGBoost.

Translations only (DESIGN.md §4). The labels and the init score are computed globally, from
one pass over the whole collection (per-partition label masses, merged on the client), before
either library sees the data; each library then trains with a callable objective shipped to the
workers, and starts every row from the same constant (LightGBM: ``init_score``, XGBoost:
``base_margin``), which is added back at prediction time.
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import xgboost as xgb

from ._lightgbm import _SklearnMetric as LGBMMetric  # the focal metric in LightGBM's scikit-learn form
from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss
from ._validation import check_hessian, check_real

__all__ = [
    "LGBMMetric",
    "LGBMObjective",
    "XGBObjective",
    "check_eval_labels",
    "constant_like",
    "encode_labels",
    "focal_start",
    "global_classes",
    "labels",
    "probabilities",
    "torch_derivatives",
    "xgb_margins",
]

FOCAL_PARAMS = ("focal_gamma", "focal_alpha", "focal_epsilon", "focal_hessian")
AnyLoss = FocalLoss | SoftmaxFocalLoss

_FOCAL_DOC = """
    focal_gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0`` (``0`` is cross-entropy).
    focal_alpha : float, sequence of float or None, default=0.25
        Two classes: weight ``α ∈ [0, 1]`` of the second class of ``classes_`` (the first gets
        ``1 − α``). More classes: one weight per class in the order of ``classes_`` (a single
        float weighs every class alike). ``None`` weighs every class 1.
    focal_epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of the stabilized focal loss (``0``: Lin et al.'s loss).
    focal_hessian : {"positive", "exact"}, default="positive"
        Hessian policy of :class:`focalboost.FocalLoss` / :class:`focalboost.SoftmaxFocalLoss`.
"""


# -- the loss and its start ----------------------------------------------------------------------
def _make_loss(est: Any, n_classes: int) -> AnyLoss:
    """The loss object for ``n_classes``, with errors naming the ``focal_*`` parameter."""
    gamma = check_real("focal_gamma", est.focal_gamma)
    epsilon = check_real("focal_epsilon", est.focal_epsilon)
    hessian = check_hessian("focal_hessian", est.focal_hessian)
    alpha = est.focal_alpha
    if n_classes == 2:
        alpha = None if alpha is None else check_real("focal_alpha", alpha, high=1.0)
        return FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    if alpha is not None and np.ndim(alpha) == 0:
        alpha = [check_real("focal_alpha", alpha)] * n_classes
    if alpha is not None and len(alpha) != n_classes:
        raise ValueError(f"focal_alpha must hold one weight per class ({n_classes} classes), got {alpha!r}")
    try:
        return SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"focal_{exc}") from exc


def _partition_masses(y: Any, w: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sorted labels of one partition and the sum of their sample weights (counts without)."""
    labels, inverse = np.unique(np.asarray(y).reshape(-1), return_inverse=True)
    weights = None if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    return labels, np.bincount(inverse.reshape(-1), weights=weights, minlength=labels.size)


def _parts(collection: Any) -> list[Any]:
    """One delayed object per row partition of a Dask Array, Series or DataFrame."""
    if isinstance(collection, da.Array):
        if collection.ndim > 1 and len(collection.chunks[1]) > 1:
            collection = collection.rechunk({1: -1})
        return list(collection.to_delayed().reshape(-1))
    if isinstance(collection, (dd.Series, dd.DataFrame)):
        return list(collection.to_delayed())
    raise TypeError(f"expected a Dask Array, Series or DataFrame, got {type(collection).__name__}")


def global_classes(client: Any, y: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The sorted labels of the whole collection ``y`` and their total sample weight, in one pass.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    masses : ndarray of shape (n_classes,)
        ``Σ_{y_i = c} w_i`` (counts when ``sample_weight`` is None).
    """
    ys = _parts(y)
    ws = [None] * len(ys) if sample_weight is None else _parts(sample_weight)
    if len(ws) != len(ys):
        raise ValueError(f"sample_weight has {len(ws)} partitions but y has {len(ys)}: partition them alike")
    tasks = [dask.delayed(_partition_masses)(a, b) for a, b in zip(ys, ws, strict=True)]
    results = client.gather(client.compute(tasks))
    classes = np.unique(np.concatenate([labels for labels, _ in results]))
    masses = np.zeros(classes.size)
    for labels, m in results:
        np.add.at(masses, np.searchsorted(classes, labels), m)
    return classes, masses


def check_eval_labels(client: Any, eval_ys: list[Any], classes: np.ndarray) -> None:
    """Raise on labels of an evaluation set that the training labels do not hold (before any
    training starts: a failure inside LightGBM's network training would leave the workers waiting)."""
    for i, vy in enumerate(eval_ys):
        seen, _ = global_classes(client, vy)
        unknown = np.setdiff1d(seen, classes)
        if unknown.size:
            raise ValueError(
                f"eval_set[{i}] holds labels not seen in the training y: {unknown[:5].tolist()!r}; "
                f"classes are {classes.tolist()!r}"
            )


def focal_start(est: Any, classes: np.ndarray, masses: np.ndarray) -> tuple[AnyLoss, float | np.ndarray]:
    """The loss for ``len(classes)`` classes and its optimal constant raw prediction.

    The weighted mean loss of a constant depends on the labels only through the class masses,
    so ``init_score`` of one sample per class, weighted by its mass, is the global minimizer.
    """
    k = classes.size
    if k < 2:
        raise ValueError(f"{type(est).__name__} needs samples of at least 2 classes in y; got {classes.tolist()!r}")
    loss = _make_loss(est, k)
    try:
        if isinstance(loss, FocalLoss):
            return loss, loss.init_score(np.array([0.0, 1.0]), masses)
        return loss, loss.init_score(np.arange(k), masses, n_classes=k)
    except ValueError as exc:
        raise ValueError(f"{type(est).__name__} cannot fit: no finite init score exists ({exc})") from exc


# -- aligned Dask collections ---------------------------------------------------------------------
def _encode_block(y: Any, classes: np.ndarray) -> np.ndarray:
    arr = np.asarray(y).reshape(-1)
    idx = np.clip(np.searchsorted(classes, arr), 0, classes.size - 1)
    unknown = classes[idx] != arr
    if np.any(unknown):
        raise ValueError(f"labels not seen in the training y: {np.unique(arr[unknown])[:5].tolist()!r}")  # safety net
    return idx.astype(np.float64)


def encode_labels(y: Any, classes: np.ndarray) -> Any:
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


def constant_like(ref: Any, init: float | np.ndarray) -> Any:
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


def _margin_block(block: Any, booster: xgb.Booster, init: np.ndarray, validate: bool, rng: Any) -> Any:
    raw = booster.inplace_predict(
        block,
        iteration_range=rng,
        predict_type="margin",
        base_margin=_constant_block(block, init),
        validate_features=validate,
        strict_shape=init.ndim > 0,
    )
    raw = np.asarray(raw, dtype=np.float64).reshape(block.shape[0], -1)
    return raw[:, 0] if init.ndim == 0 else raw


def xgb_margins(booster: xgb.Booster, X: Any, init: Any, validate: bool, rng: Any) -> da.Array:
    """Raw margins of ``X`` (Array or DataFrame), each partition starting from the init score."""
    init_arr = np.asarray(init, dtype=np.float64)
    k = init_arr.size
    if isinstance(X, dd.DataFrame):
        X = X.map_partitions(
            lambda p: pd.DataFrame(
                _margin_block(p, booster, init_arr, validate, rng).reshape(len(p), -1), index=p.index
            ),
            meta=pd.DataFrame({j: pd.Series(dtype="f8") for j in range(1 if init_arr.ndim == 0 else k)}),
        ).to_dask_array(lengths=True)
        return X[:, 0] if init_arr.ndim == 0 else X
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a Dask Array or DataFrame, got {type(X).__name__}")
    X = X.rechunk({1: -1})
    if init_arr.ndim == 0:
        return X.map_blocks(_margin_block, booster, init_arr, validate, rng, dtype=np.float64, drop_axis=1)
    return X.map_blocks(_margin_block, booster, init_arr, validate, rng, dtype=np.float64, chunks=(X.chunks[0], (k,)))


def _as_array(result: Any) -> da.Array:
    if isinstance(result, (dd.Series, dd.DataFrame)):
        return result.to_dask_array()
    return result


def _proba_block(raw: np.ndarray, loss: AnyLoss) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.float64)
    if isinstance(loss, SoftmaxFocalLoss):
        return np.asarray(loss.predict_proba(raw.reshape(raw.shape[0], -1)))
    # σ(−x) directly, never 1 − σ(x): tiny probabilities keep their digits.
    return np.column_stack((loss.predict_proba(-raw), loss.predict_proba(raw)))


def probabilities(raw: Any, loss: AnyLoss, n_classes: int) -> da.Array:
    """``(n, K)`` probabilities from raw scores (init score included), block by block."""
    if raw.ndim == 1:
        return raw.map_blocks(_proba_block, loss, dtype=np.float64, new_axis=1, chunks=(raw.chunks[0], (n_classes,)))
    raw = raw.rechunk({1: -1})
    return raw.map_blocks(_proba_block, loss, dtype=np.float64, chunks=(raw.chunks[0], (n_classes,)))


def labels(proba: Any, classes: np.ndarray) -> da.Array:
    """The class of largest probability, in the caller's label space."""
    return proba.map_blocks(lambda p: classes[np.argmax(p, axis=1)], dtype=classes.dtype, drop_axis=1)


# -- objectives and metrics shipped to the workers -----------------------------------------------
class LGBMObjective:
    """scikit-learn-API objective of LightGBM: ``(y_true, y_pred, weight) -> (grad, hess)``."""

    def __init__(self, loss: AnyLoss) -> None:
        self.loss = loss

    def __call__(self, y_true: Any, y_pred: Any, weight: Any) -> tuple[np.ndarray, np.ndarray]:
        grad, hess = self.loss.gradient_hessian(np.asarray(y_true, dtype=np.float64), y_pred, weight)
        if hess.ndim == 2:
            # LightGBM's own "multiclass" scales the diagonal Hessian by K / (K − 1); the same
            # convention as focalboost._lightgbm.FocalObjective (a test pins the two together),
            # so that gamma=0 reproduces "multiclass". That one reads a Dataset: this one takes
            # the scikit-learn API's arrays, as LightGBM's Dask workers hand them.
            k = hess.shape[1]
            hess = hess * (k / (k - 1.0))
        return grad, hess


def _on_cuda(device: Any) -> bool:
    """True when XGBoost trains on a GPU (``device="cuda"`` / ``"cuda:1"`` / ``"gpu"``) and torch
    sees one; without a GPU the objective falls back to the CPU path."""
    if not isinstance(device, str) or not device.startswith(("cuda", "gpu")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def torch_derivatives(loss: AnyLoss, y_true: Any, y_pred: Any, weight: Any, device: str) -> tuple[Any, Any]:
    """Gradient and Hessian of XGBoost's float32 margins computed with torch on ``device``.

    The same core runs on the tensors (float32, as XGBoost keeps them); on a GPU the results
    stay there and are handed to XGBoost through ``__cuda_array_interface__``.
    """
    import torch

    def tensor(a: Any) -> Any:
        # Host arrays are copied to the device once; device arrays (cupy) are taken as they are.
        if hasattr(a, "__cuda_array_interface__"):
            return torch.as_tensor(a, device=device).to(torch.float32)
        return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)

    z, y = tensor(y_pred), tensor(y_true)
    w = None if weight is None else tensor(weight)
    grad, hess = loss.gradient_hessian(y, z, w)
    if hess.ndim == 2:
        hess = 2.0 * hess  # XGBoost's "multi:softprob" convention, as focalboost._xgboost._derivatives
    return grad.contiguous(), hess.contiguous()


class XGBObjective:
    """scikit-learn-API objective of XGBoost: ``(y_true, y_pred, *, sample_weight) -> (grad, hess)``.

    With ``device`` naming a GPU that torch can use, the derivatives are computed there
    (:func:`torch_derivatives`) and returned as CUDA tensors; otherwise on the CPU in float64.
    """

    def __init__(self, loss: AnyLoss, device: Any = None) -> None:
        self.loss = loss
        self.device = device

    def __call__(self, y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> tuple[Any, Any]:
        if _on_cuda(self.device):
            dev = "cuda" if self.device == "gpu" else str(self.device)
            return torch_derivatives(self.loss, y_true, y_pred, sample_weight, dev)
        # The single-machine adapter's translation (float64 derivatives of the float32 margins,
        # XGBoost's 2x multiclass Hessian convention): one place for it.
        from ._xgboost import _derivatives

        return _derivatives(self.loss, y_true, y_pred, sample_weight)
