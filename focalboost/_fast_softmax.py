"""The fused CPU path of the softmax focal loss: a numba kernel compiled from the softmax core.

The per-sample and per-entry formulas are :func:`focalboost._softmax_core.class_term` and
:func:`focalboost._softmax_core.entry_terms`, compiled as they are (arithmetic operators only).
What the kernel adds is the scalar, row-at-a-time form of
:func:`focalboost._softmax_core.softmax_parts` (max, first argmax, the shifted exponentials,
``s``, ``log p_c`` and ``ρ``), written step for step like the array version; ``tests/test_fast.py``
pins the whole path to the generic one. Rows are independent, so the kernel runs on row blocks
from the thread pool of :mod:`focalboost._fast`; the only scratch memory is one row of ``K``
exponentials per block.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _fast, _softmax_core
from ._fast import numba

__all__ = ["softmax_focal", "supports"]


def supports(y: Any, z: Any, w: Any, alpha: Any) -> bool:
    """Whether the kernel takes these arrays: float32/float64 ``z`` of shape ``(n, K)``, int64
    labels of shape ``(n,)``, weights and class weights of ``z``'s dtype or None."""
    if type(z) is not np.ndarray or z.ndim != 2 or z.dtype not in _fast._FLOATS:
        return False
    if type(y) is not np.ndarray or y.dtype != np.int64 or y.shape != (z.shape[0],):
        return False
    if w is not None and (type(w) is not np.ndarray or w.dtype != z.dtype or w.shape != (z.shape[0],)):
        return False
    return alpha is None or (type(alpha) is np.ndarray and alpha.dtype == z.dtype and alpha.shape == (z.shape[1],))


def _make_softmax_rows(stamp: int) -> Any:
    """The softmax kernel, a closure over the core's code hash (see :func:`focalboost._fast._make_binary_rows`)."""

    def _softmax_rows(
        y: Any,
        z: Any,
        w: Any,
        alpha: Any,
        loss_out: Any,
        grad_out: Any,
        hess_out: Any,
        gamma: float,
        epsilon: float,
        exact: bool,
    ) -> None:
        _ = stamp  # part of the closure, hence of numba's cache key
        n, k_classes = z.shape
        want_loss = loss_out.shape[0] > 0
        want_grad = grad_out.shape[0] > 0
        want_hess = hess_out.shape[0] > 0
        e = np.empty(k_classes)  # one row of exp(z − max z): the only scratch memory
        for i in range(n):
            c = y[i]
            if c < 0 or c >= k_classes:  # unchecked labels (check_input=False): NaN, not a stray read
                if want_loss:
                    loss_out[i] = np.nan
                for j in range(k_classes):
                    if want_grad:
                        grad_out[i, j] = np.nan
                    if want_hess:
                        hess_out[i, j] = np.nan
                continue
            # max and first argmax, e = exp(z − m) and O = Σ_{j≠argmax} e_j (_exp_shifted)
            m = np.float64(z[i, 0])
            k = 0
            for j in range(1, k_classes):
                if np.float64(z[i, j]) > m:
                    m = np.float64(z[i, j])
                    k = j
            o_k = 0.0
            s_sum = 0.0
            for j in range(k_classes):
                e[j] = math.exp(np.float64(z[i, j]) - m)
                if j != k:
                    o_k += e[j]
                if j != c:
                    s_sum += e[j]
            big_z = 1.0 + o_k
            p_c = e[c] / big_z
            s = s_sum / big_z
            log_p_c = (np.float64(z[i, c]) - m) - math.log1p(o_k)
            f, g, wt, r, a = _class_term_nb(p_c, s, log_p_c, gamma, epsilon)
            scale = 1.0 if alpha is None else np.float64(alpha[c])
            wi = 1.0 if w is None else np.float64(w[i])
            if want_loss:
                loss_out[i] = (scale * f) * wi
            if not (want_grad or want_hess):
                continue
            # ρ_j = (δ_cj − p_j) / r; for ε = 0 the softmax over the classes j ≠ c
            m_o = -math.inf
            sum_o = 0.0
            if not epsilon > 0.0:
                for j in range(k_classes):
                    if j != c and np.float64(z[i, j]) > m_o:
                        m_o = np.float64(z[i, j])
                for j in range(k_classes):
                    if j != c:
                        sum_o += math.exp(min(np.float64(z[i, j]) - m_o, 0.0))
            for j in range(k_classes):
                p_j = e[j] / big_z
                q_j = o_k / big_z if j == k else 1.0 - p_j
                if epsilon > 0.0:
                    rho = (s if j == c else -p_j) / (s + epsilon)
                elif j == c:
                    rho = 1.0
                else:
                    rho = -(math.exp(min(np.float64(z[i, j]) - m_o, 0.0)) / sum_o)
                pq_over_r = p_j * rho if j == c else -(q_j * rho)
                gj, h_base, h_turn = _entry_terms_nb(rho, p_j * q_j, pq_over_r, p_c, g, wt, r, a, gamma)
                if want_grad:
                    grad_out[i, j] = (scale * gj) * wi
                if want_hess:
                    hess_out[i, j] = (scale * _fast._combine_hessian_nb(h_base, h_turn, exact)) * wi

    return _softmax_rows


_STAMP = _fast._code_stamp(_softmax_core.class_term, _softmax_core.entry_terms)
_class_term_nb: Any = _softmax_core.class_term
_entry_terms_nb: Any = _softmax_core.entry_terms
_KERNEL: Any = None

if numba is not None:
    _scalar = numba.njit(cache=True, inline="always", error_model="numpy")
    _class_term_nb = _scalar(_softmax_core.class_term)
    _entry_terms_nb = _scalar(_softmax_core.entry_terms)


def _kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        rows = _make_softmax_rows(_STAMP)
        _KERNEL = rows if numba is None else numba.njit(cache=True, nogil=True, error_model="numpy")(rows)
    return _KERNEL


def softmax_focal(
    y: np.ndarray,
    z: np.ndarray,
    w: np.ndarray | None,
    *,
    gamma: float,
    epsilon: float,
    alpha: np.ndarray | None,
    loss: bool = True,
    gradient: bool = True,
    hessian: str | None = "exact",
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Weighted :func:`focalboost._softmax_core.softmax_focal`, fused (see :func:`supports`).

    Returns
    -------
    loss : ndarray of shape (n,) or None
    gradient, hessian : ndarray of shape (n, K) or None
        In the dtype of ``z``, computed in float64, each multiplied by ``w`` when given.
    """
    n, k = z.shape
    zc = z  # any layout: LightGBM's (n, K) predictions are Fortran-ordered, and a copy is not needed
    empty = _fast._EMPTY[z.dtype]
    empty2 = empty.reshape(0, k)
    outs = (
        np.empty(n, dtype=z.dtype) if loss else empty,
        np.empty((n, k), dtype=z.dtype) if gradient else empty2,
        np.empty((n, k), dtype=z.dtype) if hessian is not None else empty2,
    )
    kernel = _kernel()
    rest = (float(gamma), float(epsilon), hessian == "exact")
    blocks = min(_fast._threads(), (n * k) // _fast._MIN_BLOCK)
    if blocks <= 1:
        kernel(y, zc, w, alpha, *outs, *rest)
    else:
        edges = [n * j // blocks for j in range(blocks + 1)]

        def run(a: int, b: int) -> None:
            o = [out[a:b] if out.shape[0] else out for out in outs]
            kernel(y[a:b], zc[a:b], None if w is None else w[a:b], alpha, o[0], o[1], o[2], *rest)

        list(_fast._pool().map(run, edges[:-1], edges[1:]))
    want = (loss, gradient, hessian is not None)
    return tuple(o if keep else None for o, keep in zip(outs, want, strict=True))  # type: ignore[return-value]
