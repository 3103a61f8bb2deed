"""The fused CPU path: numba kernels compiled from the core's formulas, for numpy inputs.

The generic path (:func:`focalboost._core.binary_focal` on numpy arrays) makes some twenty
full-size temporaries per call. The kernels here make none: one pass over the rows, parallel
(``prange``), each row computed in registers and written into preallocated outputs.

No formula is written twice. The focal term itself is :func:`focalboost._core.positive_term`,
compiled as is (it uses arithmetic operators only, so ``numba.njit`` turns the very function the
generic path runs into a scalar kernel). What the kernels add are the scalar forms of the array
primitives around it: the stable sigmoid parts (:func:`focalboost._core.sigmoid_parts`), the
Hessian policy (:func:`focalboost._core.combine_hessian`) and the mirrored combination of
:func:`focalboost._core.binary_focal`; ``tests/test_fast.py`` pins each of them to its array
original, and the whole kernel to the generic path, to 1e-12 relative.

Without numba (it is the ``fast`` extra) :func:`enabled` is False and
:class:`focalboost.FocalLoss` uses the generic path. Setting the environment variable
``FOCALBOOST_DISABLE_FAST=1`` before import, or calling :func:`set_enabled` (private, for tests
and benchmarks), switches the fast path off too.
"""

from __future__ import annotations

import hashlib
import math
import os
from typing import Any

import numpy as np

from . import _core

try:  # numba is optional (the ``fast`` extra)
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is not installed
    numba = None  # type: ignore[assignment]

__all__ = ["available", "binary_focal", "enabled", "set_enabled", "supports"]

_ENABLED = numba is not None and os.environ.get("FOCALBOOST_DISABLE_FAST", "") not in ("1", "true", "True", "yes")


def available() -> bool:
    """Whether numba is importable, so that the fused kernels can be compiled."""
    return numba is not None


def enabled() -> bool:
    """Whether :class:`focalboost.FocalLoss` dispatches numpy inputs to the fused kernels."""
    return _ENABLED


def set_enabled(flag: bool) -> bool:
    """Switch the fast path on or off (it stays off without numba); return the previous setting."""
    global _ENABLED
    previous = _ENABLED
    _ENABLED = bool(flag) and numba is not None
    return previous


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def supports(*arrays: Any) -> bool:
    """Whether the kernels take these numpy arrays (``None`` entries ignored): float32 or
    float64, all of one shape. Anything else (float128, broadcasting) goes the generic way."""
    ref = None
    for a in arrays:
        if a is None:
            continue
        if type(a) is not np.ndarray or a.dtype not in _FLOATS:
            return False
        if ref is None:
            ref = a.shape
        elif a.shape != ref:
            return False
    return ref is not None


# -- scalar primitives ---------------------------------------------------------------------------
# Each is the scalar form of an array primitive of _core, written operation for operation in the
# same order so that the results agree to rounding (tests/test_fast.py compares them).


def _sigmoid_parts(x: float) -> tuple[float, float, float, float]:
    """Scalar :func:`focalboost._core.sigmoid_parts`: stable ``p, q, log p, log q``."""
    e = math.exp(-abs(x))  # ∈ (0, 1]: never overflows
    d = 1.0 + e  # ∈ [1, 2]
    big = 1.0 / d
    small = e * big  # e / d to an ulp; one division per row instead of two
    # log1p(e) from log: d = fl(1 + e) is off by c = e − (d − 1), exactly representable (d − 1
    # is exact by Sterbenz, and so is the rounding error of a sum), with |c| ≤ 2⁻⁵³ d. Then
    # log1p(e) = log(d) + log1p(c / d) = log(d) + c / d to within 2⁻¹⁰⁶, so the result is within
    # an ulp or two of log1p(e) for every e ∈ (0, 1], including e < 2⁻⁵³ where d = 1 and
    # log(d) = 0 (the correction is then e itself). glibc's log1p costs about 3 times its log.
    l1pe = math.log(d) + (e - (d - 1.0)) * big
    if x >= 0.0:
        return big, small, -l1pe, -(x + l1pe)  # log p = −(max(−x, 0) + log1p(e))
    return small, big, -(-x + l1pe), -l1pe


def _combine_hessian(h_base: float, h_turn: float, exact: bool) -> float:
    """Scalar :func:`focalboost._core.combine_hessian` (``exact`` or ``positive`` policy)."""
    if exact:
        return h_base + h_turn
    return h_base + max(h_turn, 0.0)


def _make_binary_rows(stamp: int, gamma_const: float | None) -> Any:
    """The binary kernel's loop, as a closure so that numba's cache key covers the core.

    numba's on-disk cache (``cache=True``) is invalidated when *this* file changes, not when a
    function it calls from another module does. Its key does hash the closure's variables, so
    ``stamp`` (a hash of the compiled core functions' code, see :func:`_code_stamp`) is captured
    here: editing :func:`focalboost._core.positive_term` recompiles instead of loading a stale
    kernel. ``gamma_const`` (not None) freezes ``γ`` as a compile-time constant, which lets LLVM
    turn ``r ** 0.5`` into a square root (the run-time ``gamma`` argument is then ignored).
    """

    def _binary_rows(
        y: Any,
        x: Any,
        w: Any,
        loss_out: Any,
        grad_out: Any,
        hess_out: Any,
        gamma: Any,
        epsilon: float,
        alpha_pos: float,
        alpha_neg: float,
        exact: bool,
    ) -> None:
        """Weighted loss, gradient and Hessian of every row, into the preallocated outputs.

        Outputs of length 0 are not computed; ``w`` of length 0 means unit weights. Every row is
        computed in float64 and stored in the outputs' dtype.
        """
        _ = stamp  # referenced so that it is part of the closure (numba's cache key)
        g = gamma if gamma_const is None else gamma_const
        n = x.shape[0]
        weighted = w.shape[0] > 0
        want_loss = loss_out.shape[0] > 0
        want_grad = grad_out.shape[0] > 0
        want_hess = hess_out.shape[0] > 0
        for i in _prange(n):
            xi = np.float64(x[i])  # float() would keep float32: numba types it as the input
            yi = np.float64(y[i])
            p, q, log_p, log_q = _sigmoid_parts_nb(xi)
            # A hard label needs one of the two mirrored terms: with y = 1 the generic path's
            # c0 = α₀ (1 − y) is exactly 0 and c1 = α₁ y exactly α₁, so skipping the other term
            # changes no bit of the gradient and Hessian (the skipped term is finite, so 0 · term
            # is exactly 0). The loss of a zero coefficient is 0, as in _core.binary_focal: the
            # term itself can overflow to inf for huge logits, and 0 · inf would be NaN.
            if yi == 1.0:
                f1, d1, hb1, ht1 = _positive_term_nb(p, q, log_p, g, epsilon)
                li = 0.0 if alpha_pos == 0.0 else alpha_pos * f1
                gi = alpha_pos * d1
                hi = alpha_pos * _combine_hessian_nb(hb1, ht1, exact)
            elif yi == 0.0:
                f0, d0, hb0, ht0 = _positive_term_nb(q, p, log_q, g, epsilon)
                li = 0.0 if alpha_neg == 0.0 else alpha_neg * f0
                gi = -(alpha_neg * d0)
                hi = alpha_neg * _combine_hessian_nb(hb0, ht0, exact)
            else:  # soft label: both terms, as in _core.binary_focal
                f1, d1, hb1, ht1 = _positive_term_nb(p, q, log_p, g, epsilon)
                f0, d0, hb0, ht0 = _positive_term_nb(q, p, log_q, g, epsilon)
                c1 = alpha_pos * yi
                c0 = alpha_neg * (1.0 - yi)
                li = (0.0 if c1 == 0.0 else c1 * f1) + (0.0 if c0 == 0.0 else c0 * f0)
                gi = c1 * d1 - c0 * d0
                hi = c1 * _combine_hessian_nb(hb1, ht1, exact) + c0 * _combine_hessian_nb(hb0, ht0, exact)
            if weighted:
                wi = np.float64(w[i])
                li = li * wi
                gi = gi * wi
                hi = hi * wi
            if want_loss:
                loss_out[i] = li
            if want_grad:
                grad_out[i] = gi
            if want_hess:
                hess_out[i] = hi

    return _binary_rows


def _code_stamp(*funcs: Any) -> int:
    """A 60-bit hash of the functions' code (bytecode, constants, names), stable across runs."""
    h = hashlib.sha256()

    def feed(code: Any) -> None:
        h.update(code.co_code)
        h.update(repr(code.co_names).encode())
        for c in code.co_consts:  # nested code objects by content: their repr holds an address
            if hasattr(c, "co_code"):
                feed(c)
            else:
                h.update(repr(c).encode())

    for f in funcs:
        feed(f.__code__)
    return int(h.hexdigest()[:15], 16)


_CORE_STAMP = _code_stamp(_core.positive_term)

# Pure-Python stand-ins, replaced by their compiled forms below when numba is present: they let
# the tests run the kernel's own source without numba too.
_prange: Any = range
_positive_term_nb = _core.positive_term
_sigmoid_parts_nb = _sigmoid_parts
_combine_hessian_nb = _combine_hessian
_KERNELS: dict[float | None, Any] = {}
# γ values compiled as constants: LLVM turns r ** 0.5 into sqrt (pow costs ~10 times more). An
# integral γ needs no constant: it is passed as an integer, and numba's float ** int multiplies.
_CONSTANT_GAMMAS = (0.5,)


def _kernel(gamma_const: float | None) -> Any:
    """The (lazily built, cached) binary kernel for a constant ``γ``, or the run-time one."""
    kernel = _KERNELS.get(gamma_const)
    if kernel is None:
        rows = _make_binary_rows(_CORE_STAMP, gamma_const)
        kernel = rows if numba is None else numba.njit(cache=True, parallel=True, nogil=True)(rows)
        _KERNELS[gamma_const] = kernel
    return kernel


if numba is not None:
    _prange = numba.prange
    _scalar = numba.njit(cache=True, inline="always")
    _positive_term_nb = _scalar(_core.positive_term)
    _sigmoid_parts_nb = _scalar(_sigmoid_parts)
    _combine_hessian_nb = _scalar(_combine_hessian)


def _gamma_arg(gamma: float) -> tuple[float | None, Any]:
    """``(constant, argument)`` for the kernel: a compiled-in constant, an integer, or a float."""
    if gamma in _CONSTANT_GAMMAS:
        return gamma, gamma
    if gamma.is_integer() and gamma <= 64:
        return None, int(gamma)
    return None, gamma


_EMPTY = {dt: np.empty(0, dtype=dt) for dt in _FLOATS}


def binary_focal(
    y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray | None,
    *,
    gamma: float,
    epsilon: float,
    alpha_pos: float,
    alpha_neg: float,
    loss: bool,
    gradient: bool,
    hessian: str | None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Weighted per-element loss, gradient and Hessian of the binary focal loss, fused.

    Parameters
    ----------
    y, x : ndarray of shape (...)
        Labels in [0, 1] and raw predictions; float32 or float64 each (see :func:`supports`).
    w : ndarray of shape (...) or None
        Sample weights multiplying every output, or None.
    gamma, epsilon, alpha_pos, alpha_neg : float
        As in :func:`focalboost._core.binary_focal`.
    loss, gradient : bool
        Which outputs to compute.
    hessian : {"exact", "positive"} or None
        Hessian policy, or None for no Hessian.

    Returns
    -------
    loss, gradient, hessian : ndarray of shape (...) of the dtype of ``x``, or None
        Equal to ``_core.binary_focal(...)`` times ``w`` up to rounding, with no temporaries
        beyond the outputs (plus a flattened copy of any input that is not contiguous).
    """
    shape = x.shape
    xf = np.ravel(x)
    yf = np.ravel(y)
    wf = _EMPTY[x.dtype] if w is None else np.ravel(w)
    outs = [np.empty(xf.shape[0], dtype=x.dtype) if want else _EMPTY[x.dtype] for want in (loss, gradient, hessian)]
    const, g = _gamma_arg(float(gamma))
    _kernel(const)(yf, xf, wf, outs[0], outs[1], outs[2], g, epsilon, alpha_pos, alpha_neg, hessian == "exact")
    want = (loss, gradient, hessian is not None)
    return tuple(o.reshape(shape) if k else None for o, k in zip(outs, want, strict=True))  # type: ignore[return-value]
