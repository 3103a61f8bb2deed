"""The fused CPU kernels: numba compiled from the formulas of :mod:`.binary` and :mod:`.softmax`.

The plain array path (:func:`focalboost._math.binary.binary_focal` on numpy arrays) makes some
twenty full-size temporaries per call. The binary kernel makes none: one pass over the rows,
each row computed in registers and written into preallocated outputs, branch-free so that LLVM
vectorizes it (4 rows per AVX2 instruction), on row blocks run by a thread pool (the kernels
release the GIL). The softmax kernel runs :func:`focalboost._math.softmax.focal_row` on each row,
with one row of scratch memory per block.

No formula is written twice. The focal terms (:func:`~focalboost._math.binary.positive_term`,
:func:`~focalboost._math.binary.combine_hessian`, :func:`~focalboost._math.softmax.focal_row`)
are compiled as they are: they use arithmetic operators and :mod:`math` only, so ``numba.njit``
turns the very functions the plain path runs into scalar kernels. What this module adds are the
scalar forms of the binary array primitives (:func:`~focalboost._math.binary.sigmoid_parts`,
with ``exp`` and ``log1p`` as polynomials, since libm calls cannot be vectorized) and the
mirrored combination of :func:`~focalboost._math.binary.binary_focal` (one term for a hard
label, both for a soft one); the tests pin each piece to its original, and each kernel to the
plain path, to 1e-12 relative.

This module is imported on first use (:mod:`focalboost._math.dispatch`), never by
``import focalboost``. Without numba its functions run as plain Python (slowly: only the tests
do that). Compiled kernels are cached on disk by numba (``cache=True``): the first call in a
fresh environment compiles for a few seconds, later processes load them in well under a second.
"""

from __future__ import annotations

import hashlib
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import _config
from . import binary, softmax

try:  # numba is optional (the ``fast`` extra)
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is not installed
    numba = None  # type: ignore[assignment]

__all__ = ["all_valid", "binary_focal", "softmax_focal", "supports", "supports_softmax"]

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
# Scalar forms of the array primitives of .binary, branch-free so that LLVM vectorizes the loop
# (4 rows per AVX2 instruction). libm's exp and log are opaque calls that stop vectorization, so
# exp(t ≤ 0) and log1p(e ∈ [0, 1]) are written here as polynomials; the tests pin each primitive
# to numpy's exp / log1p and to binary.sigmoid_parts within a few ulps.

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split (fdlibm): k · _LN2_HI is exact for |k| < 2¹¹
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00


def _pow2(k: float) -> float:
    """``2.0 ** k`` for an integral float ``−1022 ≤ k ≤ 1023`` (exact)."""
    return math.ldexp(1.0, int(k))


def _exp_nonpos(t: float) -> float:
    """``exp(t)`` for ``t ≤ 0``, to within an ulp or two (0 below −745.2, like libm).

    ``t = k ln 2 + r`` with ``|r| ≤ ln 2 / 2`` (Cody–Waite: ``k · ln2_hi`` is exact); ``exp(r)``
    by its Taylor polynomial of degree 13 (remainder ``r¹⁴/14! < 5e−18``); ``2^k`` as two exact
    powers of two so that subnormal results are rounded once, at the last multiplication.
    """
    tt = max(t, -746.0)  # exp(−746) rounds to 0; keeps k in range
    # k stays a float: AVX2 has no packed float64 → int64 conversion, which would stop LLVM from
    # vectorizing the loop (np.floor is one vroundpd); _pow2 builds 2^k from k's bits instead.
    k = np.floor(tt * _INV_LN2 + 0.5)
    r = (tt - k * _LN2_HI) - k * _LN2_LO
    poly = 1.0 / 6227020800.0  # 1/13!
    poly = 1.0 / 479001600.0 + r * poly
    poly = 1.0 / 39916800.0 + r * poly
    poly = 1.0 / 3628800.0 + r * poly
    poly = 1.0 / 362880.0 + r * poly
    poly = 1.0 / 40320.0 + r * poly
    poly = 1.0 / 5040.0 + r * poly
    poly = 1.0 / 720.0 + r * poly
    poly = 1.0 / 120.0 + r * poly
    poly = 1.0 / 24.0 + r * poly
    poly = 1.0 / 6.0 + r * poly
    poly = 0.5 + r * poly
    poly = 1.0 + r * poly
    poly = 1.0 + r * poly
    k1 = np.floor(0.5 * k)
    return (poly * _pow2_nb(k1)) * _pow2_nb(k - k1)


def _log1p_unit(e: float) -> float:
    """``log1p(e)`` for ``0 ≤ e ≤ 1``, to within an ulp or two.

    ``log1p(e) = 2 atanh(u) = 2 (u + u³/3 + u⁵/5 + …)`` with ``u = e / (2 + e) ∈ [0, 1/3]``;
    17 terms leave a remainder below ``u³⁶/37 < 2e−19`` relative. No cancellation: every term
    is positive, and ``u`` itself is one correctly rounded division.
    """
    two_u = e * (2.0 / (2.0 + e))  # 2u without halving e: e / 2 would round a subnormal e to 0
    v = 0.25 * (two_u * two_u)  # u²
    s = 1.0 / 35.0
    s = 1.0 / 33.0 + v * s
    s = 1.0 / 31.0 + v * s
    s = 1.0 / 29.0 + v * s
    s = 1.0 / 27.0 + v * s
    s = 1.0 / 25.0 + v * s
    s = 1.0 / 23.0 + v * s
    s = 1.0 / 21.0 + v * s
    s = 1.0 / 19.0 + v * s
    s = 1.0 / 17.0 + v * s
    s = 1.0 / 15.0 + v * s
    s = 1.0 / 13.0 + v * s
    s = 1.0 / 11.0 + v * s
    s = 1.0 / 9.0 + v * s
    s = 1.0 / 7.0 + v * s
    s = 1.0 / 5.0 + v * s
    s = 1.0 / 3.0 + v * s
    return two_u + two_u * (v * s)


def _sigmoid_parts(x: float) -> tuple[float, float, float, float]:
    """Scalar :func:`focalboost._math.binary.sigmoid_parts`: stable ``p, q, log p, log q``, branch-free."""
    e = _exp_nonpos_nb(-abs(x))  # ∈ [0, 1]: never overflows
    d = 1.0 + e  # ∈ [1, 2]
    big = 1.0 / d
    small = e * big  # e / d to an ulp; one division per row instead of two
    l1pe = _log1p_unit_nb(e)
    nonneg = x >= 0.0
    p = big if nonneg else small
    q = small if nonneg else big
    return p, q, -(max(-x, 0.0) + l1pe), -(max(x, 0.0) + l1pe)


def _make_binary_rows(stamp: int, gamma_const: float | None) -> Any:
    """The binary kernel, as a closure so that numba's cache key covers the core.

    numba's on-disk cache (``cache=True``) is invalidated when *this* file changes, not when a
    function it calls from another module does. Its key does hash the closure's variables, so
    ``stamp`` (a hash of the core's code, see :func:`_code_stamp`) is captured here: editing
    :func:`focalboost._math.binary.positive_term` recompiles instead of loading a stale kernel.
    ``gamma_const`` (not None) freezes ``γ`` as a compile-time constant: LLVM then turns
    ``r ** 2.0`` into ``r * r`` and ``r ** 0.5`` into a square root, where a run-time ``γ``
    costs a ``pow`` call per row that also stops vectorization.
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

        ``w`` is an array or None (unit weights; numba compiles that case apart). Outputs of
        length 0 are not computed. Rows are computed in float64 and stored in the outputs' dtype.
        """
        _ = stamp  # referenced so that it is part of the closure (numba's cache key)
        g = gamma if gamma_const is None else gamma_const
        n = x.shape[0]
        want_loss = loss_out.shape[0] > 0
        want_grad = grad_out.shape[0] > 0
        want_hess = hess_out.shape[0] > 0
        # Pass 1, every row as a hard label: L = α_t f(z) with z = x, α_t = α₁ for y = 1 and
        # z = −x, α_t = α₀ for y = 0 (the mirrored term of binary.binary_focal); dL/dx = ±α_t f'(z).
        # The generic path's other term has a coefficient of exactly 0 and finite derivatives,
        # so this is the same arithmetic. Selects, not branches: the loop vectorizes.
        for i in range(n):
            xi = np.float64(x[i])  # float() would keep float32: numba types it as the input
            pos = np.float64(y[i]) >= 0.5
            z = xi if pos else -xi
            p, q, log_p, _ = _sigmoid_parts_nb(z)
            f, df, h_base, h_turn = _positive_term_nb(p, q, log_p, g, epsilon)
            c = alpha_pos if pos else alpha_neg
            wi = 1.0 if w is None else np.float64(w[i])
            if want_loss:  # a zero coefficient gives 0, not 0 · inf (f can overflow), as in binary
                loss_out[i] = (0.0 if c == 0.0 else c * f) * wi
            if want_grad:
                grad_out[i] = (c * df if pos else -(c * df)) * wi
            if want_hess:
                hess_out[i] = (c * _combine_hessian_nb(h_base, h_turn, exact)) * wi
        # Pass 2, soft labels 0 < y < 1 only: both terms, as in binary.binary_focal. LLVM would
        # if-convert the test below and compute both terms on every row, so the rows are first
        # counted (a vectorized scan) and the pass skipped when there are none.
        n_soft = 0
        for i in range(n):
            yi = np.float64(y[i])
            n_soft += 1 if 0.0 < yi < 1.0 else 0
        if n_soft == 0:
            return
        for i in range(n):
            yi = np.float64(y[i])
            if 0.0 < yi < 1.0:
                xi = np.float64(x[i])
                p, q, log_p, log_q = _sigmoid_parts_nb(xi)
                f1, d1, hb1, ht1 = _positive_term_nb(p, q, log_p, g, epsilon)
                f0, d0, hb0, ht0 = _positive_term_nb(q, p, log_q, g, epsilon)
                c1 = alpha_pos * yi
                c0 = alpha_neg * (1.0 - yi)
                wi = 1.0 if w is None else np.float64(w[i])
                if want_loss:
                    loss_out[i] = ((0.0 if c1 == 0.0 else c1 * f1) + (0.0 if c0 == 0.0 else c0 * f0)) * wi
                if want_grad:
                    grad_out[i] = (c1 * d1 - c0 * d0) * wi
                if want_hess:
                    h1 = _combine_hessian_nb(hb1, ht1, exact)
                    hess_out[i] = (c1 * h1 + c0 * _combine_hessian_nb(hb0, ht0, exact)) * wi

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


_CORE_STAMP = _code_stamp(binary.positive_term, binary.combine_hessian)

# Pure-Python stand-ins, replaced by their compiled forms below when numba is present: they let
# the tests run the kernel's own source without numba too.
_pow2_nb: Any = _pow2
_exp_nonpos_nb: Any = _exp_nonpos
_log1p_unit_nb: Any = _log1p_unit
_positive_term_nb: Any = binary.positive_term
_sigmoid_parts_nb: Any = _sigmoid_parts
_combine_hessian_nb: Any = binary.combine_hessian
_KERNELS: dict[float | None, Any] = {}
# γ values compiled as constants (the default, the paper's γ < 1 example, and γ = 1): LLVM turns
# r ** 2.0 into r * r, r ** 0.5 into a square root and r ** 1.0 into r, and the loop vectorizes.
# Any other γ is passed at run time and costs a pow call per row (measured ~0.5x the speed;
# numba's float ** int, a loop over the exponent's bits, was slower still).
_CONSTANT_GAMMAS = (0.5, 1.0, 2.0)

if numba is not None:
    from llvmlite import ir
    from numba.extending import intrinsic

    @intrinsic
    def _bits_to_float(typingctx: Any, bits: Any) -> Any:
        """Reinterpret an int64 as a float64 (one LLVM bitcast, vectorizable)."""

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], ir.DoubleType())

        return numba.types.float64(numba.types.int64), codegen

    @intrinsic
    def _float_to_bits(typingctx: Any, value: Any) -> Any:
        """Reinterpret a float64 as an int64 (one LLVM bitcast, vectorizable)."""

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], ir.IntType(64))

        return numba.types.int64(numba.types.float64), codegen

    def _pow2_bits(k: float) -> float:
        """``2.0 ** k`` for an integral float ``−1022 ≤ k ≤ 1023``, from IEEE-754 bits: adding
        2⁵² + 1023 puts the biased exponent ``k + 1023`` in the low mantissa bits (exactly, as
        it is an integer below 2⁵²), and shifting them into the exponent field gives ``2^k``."""
        biased = _float_to_bits(k + (4503599627370496.0 + 1023.0)) - 0x4330000000000000  # type: ignore[call-arg]
        return _bits_to_float(biased << 52)

    _scalar = numba.njit(cache=True, inline="always", error_model="numpy")
    _pow2_nb = _scalar(_pow2_bits)
    _exp_nonpos_nb = _scalar(_exp_nonpos)
    _log1p_unit_nb = _scalar(_log1p_unit)
    _positive_term_nb = _scalar(binary.positive_term)
    _sigmoid_parts_nb = _scalar(_sigmoid_parts)
    _combine_hessian_nb = _scalar(binary.combine_hessian)


def _kernel(gamma_const: float | None) -> Any:
    """The (lazily built, cached) binary kernel for a constant ``γ``, or the run-time one."""
    kernel = _KERNELS.get(gamma_const)
    if kernel is None:
        rows = _make_binary_rows(_CORE_STAMP, gamma_const)
        if numba is not None:
            # error_model="numpy": x / 0 gives inf or nan like numpy instead of a Python
            # exception, whose check on every division would stop vectorization.
            # Serial and nogil: binary_focal runs it on row blocks from a thread pool, which
            # compiles 4 times faster than numba's parallel=True (prange) for the same speed.
            rows = numba.njit(cache=True, nogil=True, error_model="numpy")(rows)
        kernel = _KERNELS[gamma_const] = rows
    return kernel


def _gamma_arg(gamma: float) -> tuple[float | None, float]:
    """``(constant, argument)`` for the kernel: a compiled-in constant, or None and a float."""
    return (gamma if gamma in _CONSTANT_GAMMAS else None), gamma


def _valid_rows(y: Any, x: Any, w: Any) -> bool:
    """True when every ``y`` is in [0, 1], every ``x`` finite and every ``w`` finite and ≥ 0
    (NaN fails every comparison). No early exit, so that the loop vectorizes."""
    bad = 0
    for i in range(x.shape[0]):
        yi = np.float64(y[i])
        ok = yi >= 0.0 and yi <= 1.0 and abs(np.float64(x[i])) <= _FLOAT64_MAX
        if w is not None:
            wi = np.float64(w[i])
            ok = ok and wi >= 0.0 and wi <= _FLOAT64_MAX
        bad += 0 if ok else 1
    return bad == 0


_FLOAT64_MAX = float(np.finfo(np.float64).max)
_valid_rows_nb: Any = None


def all_valid(y: np.ndarray, x: np.ndarray, w: np.ndarray | None) -> bool:
    """One fused pass of FocalLoss's input checks (labels in [0, 1], finite raw predictions,
    finite non-negative weights) over arrays of one shape (see :func:`supports`). False means
    that the generic checks must run, to find and report the first offending value."""
    global _valid_rows_nb
    if _valid_rows_nb is None:
        _valid_rows_nb = _valid_rows if numba is None else numba.njit(cache=True, nogil=True)(_valid_rows)
    return bool(_valid_rows_nb(np.ravel(y), np.ravel(x), None if w is None else np.ravel(w)))


_MIN_BLOCK = 50_000  # rows per thread below which one thread is faster than handing out blocks
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0


def _threads() -> int:
    """Threads for the row blocks: the ``threads`` setting of :func:`focalboost.set_config`, or
    for ``-1`` numba's ``NUMBA_NUM_THREADS`` (the CPU count unless set).

    Read from numba's config, not ``numba.get_num_threads()``: that call starts numba's OpenMP
    threading layer, which resets the OpenMP thread count torch shares (a user's
    ``torch.set_num_threads(1)`` became 2, and torch ran several times slower)."""
    threads = int(_config.get_config()["threads"])
    if threads > 0:
        return threads
    return 1 if numba is None else max(1, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))


def _forget_pool() -> None:
    """In a forked child the parent's pool threads do not exist: start a new pool on demand."""
    global _POOL, _POOL_SIZE
    _POOL, _POOL_SIZE = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _pool() -> ThreadPoolExecutor:
    """A shared pool with at least :func:`_threads` workers (rebuilt if that setting grew)."""
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE < _threads():
        _POOL_SIZE = _threads()
        _POOL = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="focalboost")
    return _POOL


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
        As in :func:`focalboost._math.binary.binary_focal`.
    loss, gradient : bool
        Which outputs to compute.
    hessian : {"exact", "positive"} or None
        Hessian policy, or None for no Hessian.

    Returns
    -------
    loss, gradient, hessian : ndarray of shape (...) of the dtype of ``x``, or None
        Equal to ``binary.binary_focal(...)`` times ``w`` up to rounding, with no temporaries
        beyond the outputs (plus a flattened copy of any input that is not contiguous).
    """
    shape = x.shape
    xf = np.ravel(x)
    yf = np.ravel(y)
    wf = None if w is None else np.ravel(w)
    outs = [np.empty(xf.shape[0], dtype=x.dtype) if want else _EMPTY[x.dtype] for want in (loss, gradient, hessian)]
    const, g = _gamma_arg(float(gamma))
    kernel = _kernel(const)
    rest = (g, epsilon, alpha_pos, alpha_neg, hessian == "exact")
    n = xf.shape[0]
    blocks = min(_threads(), n // _MIN_BLOCK)
    if blocks <= 1:
        kernel(yf, xf, wf, outs[0], outs[1], outs[2], *rest)
    else:
        edges = [n * j // blocks for j in range(blocks + 1)]

        def run(a: int, b: int) -> None:  # views: each thread writes its own rows of the outputs
            ws = None if wf is None else wf[a:b]
            o = [out[a:b] if out.shape[0] else out for out in outs]
            kernel(yf[a:b], xf[a:b], ws, o[0], o[1], o[2], *rest)

        list(_pool().map(run, edges[:-1], edges[1:]))  # list(): re-raises a worker's exception
    want = (loss, gradient, hessian is not None)
    return tuple(o.reshape(shape) if k else None for o, k in zip(outs, want, strict=True))  # type: ignore[return-value]


# -- softmax ------------------------------------------------------------------------------------


def supports_softmax(y: Any, z: Any, w: Any, alpha: Any) -> bool:
    """Whether the softmax kernel takes these arrays: float32/float64 ``z`` of shape ``(n, K)``,
    int64 labels of shape ``(n,)``, weights and class weights of ``z``'s dtype or None."""
    if type(z) is not np.ndarray or z.ndim != 2 or z.dtype not in _FLOATS:
        return False
    if type(y) is not np.ndarray or y.dtype != np.int64 or y.shape != (z.shape[0],):
        return False
    if w is not None and (type(w) is not np.ndarray or w.dtype != z.dtype or w.shape != (z.shape[0],)):
        return False
    return alpha is None or (type(alpha) is np.ndarray and alpha.dtype == z.dtype and alpha.shape == (z.shape[1],))


def _make_softmax_rows(stamp: int) -> Any:
    """The softmax kernel, a closure over the formulas' code hash (see :func:`_make_binary_rows`)."""

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
        zero_eps: bool,
        exact: bool,
    ) -> None:
        """:func:`softmax.focal_row` on every row; outputs of length 0 are not written."""
        _ = stamp  # part of the closure, hence of numba's cache key
        n, k_classes = z.shape
        want_loss = loss_out.shape[0] > 0
        want_grad = grad_out.shape[0] > 0
        want_hess = hess_out.shape[0] > 0
        derivatives = want_grad or want_hess
        zr = np.empty(k_classes)  # the row in float64 (LightGBM hands Fortran-ordered (n, K) arrays)
        e = np.empty(k_classes)
        g = np.empty(k_classes)
        h = np.empty(k_classes)
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
            for j in range(k_classes):
                zr[j] = np.float64(z[i, j])
            scale = 1.0 if alpha is None else np.float64(alpha[c])
            if w is not None:
                scale *= np.float64(w[i])
            f = _focal_row_nb(zr, c, gamma, epsilon, zero_eps, exact, scale, e, g, h, derivatives)
            if want_loss:
                loss_out[i] = f
            for j in range(k_classes):
                if want_grad:
                    grad_out[i, j] = g[j]
                if want_hess:
                    hess_out[i, j] = h[j]

    return _softmax_rows


_SOFTMAX_STAMP = _code_stamp(softmax.focal_row, softmax.class_term, softmax.entry_terms, binary.combine_hessian)
_focal_row_nb: Any = softmax.focal_row
_SOFTMAX_KERNEL: Any = None

if numba is not None:
    _focal_row_nb = _scalar(
        softmax.make_focal_row(_scalar(softmax.class_term), _scalar(softmax.entry_terms), _combine_hessian_nb)
    )


def _softmax_kernel() -> Any:
    global _SOFTMAX_KERNEL
    if _SOFTMAX_KERNEL is None:
        rows = _make_softmax_rows(_SOFTMAX_STAMP)
        _SOFTMAX_KERNEL = rows if numba is None else numba.njit(cache=True, nogil=True, error_model="numpy")(rows)
    return _SOFTMAX_KERNEL


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
    """Weighted :func:`focalboost._math.softmax.softmax_focal`, fused (see :func:`supports_softmax`).

    Returns
    -------
    loss : ndarray of shape (n,) or None
    gradient, hessian : ndarray of shape (n, K) or None
        In the dtype of ``z``, computed in float64, each multiplied by ``w`` when given.
    """
    n, k = z.shape
    empty = _EMPTY[z.dtype]
    empty2 = empty.reshape(0, k)
    outs = (
        np.empty(n, dtype=z.dtype) if loss else empty,
        np.empty((n, k), dtype=z.dtype) if gradient else empty2,
        np.empty((n, k), dtype=z.dtype) if hessian is not None else empty2,
    )
    kernel = _softmax_kernel()
    zero_eps = binary.zero_epsilon(float(epsilon), binary.FLOAT64_SMALLEST_SUBNORMAL)
    rest = (float(gamma), float(epsilon), zero_eps, hessian == "exact")
    blocks = min(_threads(), (n * k) // _MIN_BLOCK)
    if blocks <= 1:
        kernel(y, z, w, alpha, *outs, *rest)
    else:
        edges = [n * j // blocks for j in range(blocks + 1)]

        def run(a: int, b: int) -> None:
            o = [out[a:b] if out.shape[0] else out for out in outs]
            kernel(y[a:b], z[a:b], None if w is None else w[a:b], alpha, o[0], o[1], o[2], *rest)

        list(_pool().map(run, edges[:-1], edges[1:]))
    want = (loss, gradient, hessian is not None)
    return tuple(o if keep else None for o, keep in zip(outs, want, strict=True))  # type: ignore[return-value]
