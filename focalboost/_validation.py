"""Validation at the public boundary: each error names the parameter, the allowed range and the value."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

HESSIAN_POLICIES = ("positive", "exact")
PROBA_KINDS = ("posterior", "link")


def check_real(name: str, value: Any, *, low: float | None = 0.0, high: float | None = None) -> float:
    """Return ``value`` as a float after checking its type, finiteness and range ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and v < low:
        rng = f"[{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ValueError(f"{name} must be {rng}, got {value!r}")
    if high is not None and v > high:
        rng = f"[{low:g}, {high:g}]" if low is not None else f"<= {high:g}"
        raise ValueError(f"{name} must be {rng}, got {value!r}")
    return v


def check_hessian(name: str, value: Any) -> str:
    return check_choice(name, value, HESSIAN_POLICIES)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``choices``; a TypeError or ValueError naming ``name`` otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {value!r} of type {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def namespace(*arrays: Any) -> Any:
    """The array namespace of the given arrays: numpy itself for numpy arrays and for anything
    numpy converts (lists, pandas objects, scalars); the array-api-compat namespace of torch or
    cupy tensors otherwise."""
    others = [a for a in arrays if a is not None and not isinstance(a, np.ndarray) and _is_tensor(a)]
    if not others:
        # numpy itself: every function the core uses exists in numpy 1.x and 2.x alike.
        return np
    import array_api_compat

    return array_api_compat.array_namespace(*others)


def _is_tensor(a: Any) -> bool:
    mod = type(a).__module__.split(".")[0]
    return mod in ("torch", "cupy", "jax", "jaxlib")


def as_float_array(name: str, value: Any, xp: Any, dtype: Any = None) -> Any:
    """Convert ``value`` to a floating array of ``xp``; integer and boolean input becomes float64."""
    if xp is np:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        if dtype is not None:
            return arr.astype(dtype, copy=False)
        if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
            arr = arr.astype(np.float64)
        return arr
    arr = value if hasattr(value, "dtype") else xp.asarray(value)
    if dtype is not None:
        return arr if arr.dtype == dtype else xp.astype(arr, dtype)
    if not xp.isdtype(arr.dtype, "real floating"):
        arr = xp.astype(arr, xp.float64)
    return arr


def check_same_shape(name: str, arr: Any, ref_name: str, ref: Any) -> None:
    if tuple(arr.shape) != tuple(ref.shape):
        raise ValueError(
            f"{name} and {ref_name} must have the same shape, got {name} of shape {tuple(arr.shape)} "
            f"and {ref_name} of shape {tuple(ref.shape)}"
        )


def _first_bad(xp: Any, arr: Any, bad: Any) -> Any:
    flat = xp.reshape(arr, (-1,))
    idx = xp.nonzero(xp.reshape(bad, (-1,)))[0]
    return float(flat[int(idx[0])])


def check_labels(name: str, y: Any, xp: Any) -> None:
    """``y`` must lie in [0, 1] (soft labels allowed) and hold no NaN."""
    bad = xp.isnan(y) | (y < 0) | (y > 1)
    if bool(xp.any(bad)):
        value = _first_bad(xp, y, bad)
        hint = ""
        if 1 < value < math.inf and value == math.floor(value):  # a class index: more than two classes
            hint = (
                "; labels above 1 look like class indices of more than two classes, which need the multiclass "
                "loss: MulticlassFocalLoss, or focal_objective(n_classes=K) / focal_metric(n_classes=K)"
            )
        raise ValueError(f"{name} must hold values in [0, 1] and no NaN, got {value!r}{hint}")


def check_finite(name: str, x: Any, xp: Any) -> None:
    bad = ~xp.isfinite(x)
    if bool(xp.any(bad)):
        raise ValueError(f"{name} must be finite (no NaN or infinity), got {_first_bad(xp, x, bad)!r}")


def check_weights(name: str, w: Any, xp: Any) -> None:
    bad = ~xp.isfinite(w) | (w < 0)
    if bool(xp.any(bad)):
        raise ValueError(f"{name} must be finite and >= 0, got {_first_bad(xp, w, bad)!r}")


def check_class_alpha(alpha: Any) -> tuple[float, ...] | None:
    """Per-class weights: None, or a 1-D sequence of at least 2 finite reals >= 0, as a tuple."""
    if alpha is None:
        return None
    if isinstance(alpha, (str, bytes)) or not hasattr(alpha, "__len__"):
        raise TypeError(
            f"alpha must be None or a sequence of per-class weights, got {alpha!r} of type {type(alpha).__name__}"
        )
    values = np.asarray(alpha)
    if values.dtype.kind not in "iuf" or values.ndim != 1:
        raise TypeError(f"alpha must be None or a 1-D sequence of real per-class weights, got {alpha!r}")
    if values.size < 2:
        raise ValueError(f"alpha must hold one weight per class (at least 2), got {alpha!r}")
    return tuple(check_real(f"alpha[{i}]", float(v)) for i, v in enumerate(values))


def as_class_labels(name: str, y_true: Any, xp: Any, n_classes: int | None, check: bool) -> Any:
    """Class indices as an integer array of ``xp``; integral floats (LightGBM's and XGBoost's
    float labels) are accepted."""
    arr = np.asarray(y_true) if xp is np else (y_true if hasattr(y_true, "dtype") else xp.asarray(y_true))
    if xp is np:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
        is_float = arr.dtype.kind == "f"
    else:
        is_float = bool(xp.isdtype(arr.dtype, "real floating"))
        if not (is_float or xp.isdtype(arr.dtype, "integral") or arr.dtype == xp.bool):
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if check:
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D class labels of shape (n_samples,), got shape {tuple(arr.shape)}")
        if is_float:
            bad = ~xp.isfinite(arr)
            bad = bad | (xp.where(bad, xp.zeros_like(arr), arr) != xp.round(xp.where(bad, xp.zeros_like(arr), arr)))
            if bool(xp.any(bad)):
                idx = int(xp.nonzero(bad)[0][0])
                raise ValueError(f"{name} must hold integer class labels, got {float(arr[idx])!r}")
        if n_classes is not None and arr.shape[0] > 0:
            lo, hi = float(xp.min(arr)), float(xp.max(arr))
            if lo < 0 or hi >= n_classes:
                bad_value = lo if lo < 0 else hi
                raise ValueError(
                    f"{name} must hold class labels in [0, {n_classes}) (raw_prediction has {n_classes} "
                    f"columns), got {bad_value!r}"
                )
    return arr.astype(np.int64, copy=False) if xp is np else xp.astype(arr, xp.int64)
