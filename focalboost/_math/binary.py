"""The binary (stabilized) focal loss and its derivatives: the one place their formulas are written.

Everything here is elementwise and never reduces. Weights, sums, signs and shapes belong to
the callers (:mod:`focalboost._loss`, the adapters).

Notation: raw prediction ``x``, ``p = σ(x)``, ``q = 1 − p = σ(−x)``, label
``y ∈ [0, 1]``, class weights ``α₁`` (positive term) and ``α₀`` (negative term), focusing
parameter ``γ ≥ 0`` and smoothing constant ``ε ≥ 0``::

    L(x, y) = −α₁ y (q + ε)^γ log p − α₀ (1 − y) (p + ε)^γ log q

The negative term is the positive term mirrored, ``L₀(x) = L₁(−x)``, so one function of one
variable, ``f(x) = −(q + ε)^γ log p``, gives the loss and all its derivatives.

The module has two layers:

* :func:`positive_term` and :func:`combine_hessian` hold the formulas. They use arithmetic
  operators only (no function of any array library), so the *same Python functions* run on
  numpy arrays, torch and cupy tensors, and on plain floats inside a numba kernel
  (:mod:`focalboost._math.kernels` compiles them).
* :func:`sigmoid_parts` and :func:`binary_focal` compute the stable primitives ``p, q, log p,
  log q`` with the array namespace ``xp`` and combine the two mirrored terms.
* :func:`posterior_logit` / :func:`posterior` map a focal-trained score back to the class
  posterior it stands for, through ``χ`` (:func:`log_neg_dloss_dlogp`), the derivative of the
  per-class loss in log-probability space; the init score uses ``ψ`` (:func:`log_neg_dloss_dp`).
"""

from __future__ import annotations

import math
from typing import Any

Array = Any


def positive_term(p: Any, q: Any, log_p: Any, gamma: float, epsilon: float) -> tuple[Any, Any, Any, Any]:
    """Value and derivatives of ``f(x) = −(q + ε)^γ log p`` with respect to the logit ``x``.

    Parameters
    ----------
    p, q : array or float
        ``σ(x)`` and ``σ(−x)``, each computed directly (never ``1 − p``).
    log_p : array or float
        ``log σ(x) = −softplus(−x)``, finite for every finite ``x``.
    gamma, epsilon : float
        Focusing parameter ``γ ≥ 0`` and smoothing constant ``ε ≥ 0``.

    Returns
    -------
    f, df, h_base, h_turn
        ``f``, ``f'``, and the second derivative split as ``f'' = h_base + h_turn`` where
        ``h_base ≥ 0`` always and ``h_turn`` carries the sign change (negative for badly
        misclassified points). The Hessian policies of :class:`focalboost.FocalLoss` are
        built from these two parts.

    Notes
    -----
    With ``r = q + ε``, ``w = r^γ``, ``t = q / r`` (``t = 1`` when ``ε = 0``: then ``t = q/q``,
    and by continuity also where ``q`` underflows to 0) and ``a = −p log p ∈ [0, 1/e]``::

        f   = −w log p
        f'  = −w (q + γ t a)                                  (= w (γ p t log p − q))
        f'' =  w p q (1 + 2 γ t)  +  w γ t a (p (1 + (γ − 1) t) − q)
               └──── h_base ────┘    └────────── h_turn ───────────┘

    The compact form ``f'' = p w [γ t (q log p + q − p log p − (γ−1) p t log p) + q (1 + γ t)]``
    expands to the same expression. No term holds a negative power of
    anything that can reach zero (the singular ``(1 − p)^(γ−1)`` of the derivative with
    respect to ``p`` cancels against ``dp/dx = p q``), and ``log p`` only ever appears as
    ``a = −p log p``, which is bounded, or in ``f`` itself. So every output is finite for every
    finite logit and every ``γ ≥ 0``, ``ε ≥ 0``, including ``ε = 0`` with ``0 < γ < 1``.
    """
    r = q + epsilon
    w = r**gamma  # r ∈ [ε, 1 + ε]; 0**0 == 1 gives γ = 0 its cross-entropy value
    # ε = 0 makes t = q/q ≡ 1. For ε > 0, r ≥ ε > 0 in exact arithmetic, but a tiny ε rounds to
    # 0 in float32 (ε = 1e-46), so r can still be 0 where q underflows: there q = 0, w = 0^γ
    # and t is irrelevant, and dividing by r + 1 keeps it finite (t = 0) instead of 0/0.
    t = q / (r + (r == 0)) if epsilon > 0 else 1.0
    a = -(p * log_p)  # −p log p is formed first: bounded in [0, 1/e], never 0·∞
    gt = gamma * t
    f = -(w * log_p)
    df = -(w * (q + gt * a))
    h_base = w * (p * q) * (1.0 + 2.0 * gt)
    h_turn = w * (gt * a) * (p * (1.0 + (gamma - 1.0) * t) - q)
    return f, df, h_base, h_turn


def sigmoid_parts(x: Array, xp: Any) -> tuple[Array, Array, Array, Array]:
    """Stable ``p = σ(x)``, ``q = σ(−x)``, ``log p`` and ``log q`` for any finite ``x``.

    ``e = exp(−|x|) ∈ (0, 1]`` never overflows; ``p`` and ``q`` are each a ratio with
    denominator ``1 + e ∈ [1, 2]``, so neither is formed by the subtraction ``1 − σ``.
    ``log p = −softplus(−x) = −(max(−x, 0) + log1p(e))``, exact to rounding for every ``x``
    (for ``x = −1e300`` it is ``−1e300``; for ``x = 40`` it is ``−4.2e−18``, not 0).
    """
    e = xp.exp(-xp.abs(x))
    d = 1.0 + e
    big = 1.0 / d
    small = e / d
    nonneg = x >= 0
    p = xp.where(nonneg, big, small)
    q = xp.where(nonneg, small, big)
    l1pe = xp.log1p(e)
    zero = xp.zeros_like(x)
    log_p = -(xp.maximum(-x, zero) + l1pe)
    log_q = -(xp.maximum(x, zero) + l1pe)
    return p, q, log_p, log_q


def zero_epsilon(epsilon: float, smallest_subnormal: float) -> bool:
    """Whether ``ε`` counts as 0 in a dtype whose smallest subnormal is given.

    An ``ε`` below half the smallest subnormal (``1e-46`` in float32) rounds to 0 in ``q + ε``:
    there ``ε > 0`` would give ``log 0`` or ``0/0`` where ``q`` underflows, so such an ``ε``
    takes the ``ε = 0`` branch of the formulas that have one, which is exactly what the dtype
    computes with it everywhere else.
    """
    return not epsilon > 0.5 * smallest_subnormal


#: The smallest subnormal float64, for the scalar formulas (which compute in float64).
FLOAT64_SMALLEST_SUBNORMAL = 2.2250738585072014e-308 * 2.220446049250313e-16


def combine_hessian(h_base: Any, h_turn: Any, exact: Any) -> Any:
    """Apply a Hessian policy to a second derivative split as ``h_base + h_turn``.

    ``exact=True`` returns ``h_base + h_turn``; ``exact=False`` (the ``"positive"`` policy) drops
    the negative part of ``h_turn``, which gives ``max(f'', h_base)``: never below ``f''``,
    strictly positive wherever ``h_base > 0``, and equal to ``f''`` wherever ``h_turn ≥ 0`` (for
    the binary term: wherever the term's own probability is at least ``1 / (1 + min(γ, 1))``,
    every correctly classified point when ``γ ≥ 1``).

    Arithmetic and comparisons only (``h_turn`` times the mask ``h_turn > 0 or exact``), so the
    same function runs on arrays of any library and on floats inside a numba kernel. Both parts
    are finite, so the product never meets ``0 · ∞``. This is the one place the policy is written.
    """
    return h_base + h_turn * ((h_turn > 0) | exact)


def binary_focal(
    y: Array,
    x: Array,
    *,
    gamma: float,
    epsilon: float,
    alpha_pos: float,
    alpha_neg: float,
    xp: Any,
    loss: bool = True,
    gradient: bool = True,
    hessian: str | None = "exact",
) -> tuple[Array | None, Array | None, Array | None]:
    """Per-element loss, gradient and Hessian of the binary focal loss w.r.t. the logit ``x``.

    ``L = α₁ y f(x) + α₀ (1 − y) f(−x)``, so ``L' = α₁ y f'(x) − α₀ (1 − y) f'(−x)`` and
    ``L'' = α₁ y f''(x) + α₀ (1 − y) f''(−x)``. The mirrored term ``f(−x)`` is
    :func:`positive_term` evaluated on ``(q, p, log q)``.

    Returns ``(loss, gradient, hessian)``; an output not asked for is ``None``. ``hessian`` is
    ``"exact"``, ``"positive"`` or ``None`` (not computed).
    """
    p, q, log_p, log_q = sigmoid_parts(x, xp)
    f1, d1, hb1, ht1 = positive_term(p, q, log_p, gamma, epsilon)
    f0, d0, hb0, ht0 = positive_term(q, p, log_q, gamma, epsilon)
    c1 = alpha_pos * y
    c0 = alpha_neg * (1.0 - y)
    out_loss = None
    if loss:
        # f grows like |x| (1 + ε)^γ and can overflow in the term a hard label switches off;
        # a zero coefficient must give 0, not 0·∞ = NaN.
        zero = xp.zeros_like(f1)
        out_loss = xp.where(c1 == 0, zero, c1 * f1) + xp.where(c0 == 0, zero, c0 * f0)
    out_grad = c1 * d1 - c0 * d0 if gradient else None
    out_hess = None
    if hessian is not None:
        exact = hessian == "exact"
        out_hess = c1 * combine_hessian(hb1, ht1, exact) + c0 * combine_hessian(hb0, ht0, exact)
    return out_loss, out_grad, out_hess


# -- the class posterior of a focal-trained score --------------------------------------------------
def _log_dloss_parts(u: Array, gamma: float, epsilon: float, xp: Any) -> tuple[Array, Array]:
    """``χ(u) = log(−∂f/∂ log p)`` and ``log p`` of ``f(p) = −(1 − p + ε)^γ log p`` at ``p = σ(u)``.

    ``−∂f/∂ log p = −p ∂f/∂p = G / r = w (1 + γ a / r)`` (see :func:`focalboost._math.softmax.class_term`,
    with ``s = 1 − p``), so ``χ = γ log r + log1p(γ a / r)``. Both terms are bounded above
    (``a / r ≤ −p log p / (1 − p) ≤ 1``), and ``χ = 0`` for ``γ = 0``.
    """
    p, q, log_p, log_q = sigmoid_parts(u, xp)
    fi = xp.finfo(u.dtype)
    if not zero_epsilon(epsilon, float(fi.smallest_normal) * float(fi.eps)):
        r = q + epsilon
        log_r = xp.log(r)  # r ≥ ε > 0
        a_over_r = -(p * log_p) / r  # p log p is formed first: 0 (not 0·∞) where p underflows
    else:
        # ε = 0: r = q, and a / r = −p log p / q with x = e^{−|u|} ∈ [0, 1] is
        # log1p(x) / x for u ≥ 0 (p = 1/(1+x), q = x/(1+x)) and x (log1p(x) − u) for u < 0
        # (log p = u − log1p(x)). Both lie in [0, 1]. Where x underflows to 0 (u ≳ 745 in
        # float64, ≳ 103 in float32) log1p(x) / x is its limit 1, not 0/0; for u < 0 it gives
        # 0 · (log1p(0) − u) = 0, the right limit, since u is finite.
        log_r = log_q
        x = xp.exp(-xp.abs(u))
        l1p = xp.log1p(x)
        zero = xp.zeros_like(x)
        under = x == 0
        a_over_r = xp.where(u >= 0, xp.where(under, zero + 1.0, l1p / (x + under)), x * (l1p - u))
    if gamma > 1:
        # For ε = 0, γ log r ≈ −γ u leaves the dtype's range once γ u > max (only possible for
        # γ > 1, as |log r| ≤ max): floor log r just above −max / γ (4 ulp of slack for the
        # rounding of the division and the product), so χ saturates near −max instead of
        # overflowing to −∞. Every finite u then gives a finite χ, still non-increasing in u.
        floor = -(float(fi.max) / gamma) * (1.0 - 4.0 * float(fi.eps))
        log_r = xp.maximum(log_r, xp.full_like(log_r, floor))
    chi = gamma * log_r + xp.log1p(gamma * a_over_r)
    return chi, log_p


def log_neg_dloss_dlogp(u: Array, gamma: float, epsilon: float, xp: Any) -> Array:
    """``χ = log(−∂f/∂ log p)`` of ``f(p) = −(1 − p + ε)^γ log p`` at ``p = σ(u)``, elementwise.

    Parameters
    ----------
    u : array
        Logits of ``p``, any finite values, floating dtype.
    gamma, epsilon : float
        ``γ ≥ 0``, ``ε ≥ 0``.
    xp : namespace

    Returns
    -------
    array of the shape and dtype of ``u``
        ``χ(u) = γ log r + log1p(γ a / r)`` with ``r = 1 − p + ε`` and ``a = −p log p``;
        ``χ ≡ 0`` for ``γ = 0``, ``χ → γ log(1 + ε)`` as ``u → −∞``, and as ``u → ∞``,
        ``χ → γ log ε`` for ``ε > 0`` and ``χ ≈ −γ u`` for ``ε = 0``.

    Notes
    -----
    ``χ = ψ + log p`` where ``ψ`` is :func:`log_neg_dloss_dp`. The posterior of a focal-trained
    score uses differences of ``χ``, in which the ``log p`` parts cancel to exactly the logit
    (so ``γ = 0`` gives ``σ`` and ``softmax`` by construction). Finite for every finite ``u``:
    where the exact value is below the dtype's range (``ε = 0``, ``γ u > max``) it saturates
    just above ``−max``.
    """
    return _log_dloss_parts(u, gamma, epsilon, xp)[0]


def log_neg_dloss_dp(u: Array, gamma: float, epsilon: float, xp: Any) -> Array:
    """``ψ = log(−∂f/∂p)`` of ``f(p) = −(1 − p + ε)^γ log p`` at ``p = σ(u)``, elementwise.

    ``−∂f/∂p = (w / p) (1 + γ a / r)`` (see :func:`focalboost._math.softmax.class_term`, with ``s = 1 − p``), so
    ``ψ = γ log r − log p + log1p(γ a / r) = χ − log p`` with ``χ`` from
    :func:`log_neg_dloss_dlogp`. ``f`` is strictly convex in ``p`` for every ``γ ≥ 0``
    (``f'' = γ(1−γ) r^(γ−2) log p + 2γ r^(γ−1)/p + r^γ/p²``, and ``p² log p ≥ −p (1 − p)``
    keeps it positive for ``γ < 1``), so ``ψ`` strictly decreases in ``u``. Parametrizing ``p``
    by its own logit ``u`` keeps ``p`` and ``1 − p`` exact near 0 and 1.

    Finite for every finite ``u`` in float32 and float64 (``ψ ≈ −u`` as ``u → −∞``; ``ψ`` is
    bounded below by ``γ log ε`` for ``ε > 0`` and ``≈ −γ u`` for ``ε = 0``, saturated just
    above the dtype's ``−max`` where that is out of range). Used by the softmax init score.
    """
    chi, log_p = _log_dloss_parts(u, gamma, epsilon, xp)
    return chi - log_p


def posterior_logit(
    x: Array, *, gamma: float, epsilon: float, alpha_pos: float, alpha_neg: float, xp: Any
) -> Array:
    """Logit of the class posterior ``η`` for which the binary focal risk is minimized at ``x``.

    Parameters
    ----------
    x : array
        Raw predictions (logits) of a model trained with the binary focal loss; any finite
        values, floating dtype.
    gamma, epsilon : float
        Focusing parameter ``γ ≥ 0`` and smoothing constant ``ε ≥ 0`` of that loss.
    alpha_pos, alpha_neg : float
        Class weights ``α₁`` (positive term) and ``α₀`` (negative term), both ``> 0`` (a zero
        weight leaves the posterior undetermined; the loss objects refuse it).
    xp : namespace

    Returns
    -------
    array of the shape and dtype of ``x``
        ``logit η(x)``, finite for every finite ``x``; where its exact value is beyond the
        dtype's range (``ε = 0`` and ``(1 + γ) |x| > max``) it saturates at ``±max``.

    Notes
    -----
    With ``f(x) = −(σ(−x) + ε)^γ log σ(x)``, the loss of a sample with label ``y`` is
    ``L(x, y) = α₁ y f(x) + α₀ (1 − y) f(−x)``, so a sample whose positive class has posterior
    ``η`` has expected loss ``R(x) = η α₁ f(x) + (1 − η) α₀ f(−x)``. The focal-trained score is
    its stationary point, ``R'(x) = η g₁ + (1 − η) g₀ = 0`` with ``g₁ = α₁ f'(x) < 0`` and
    ``g₀ = −α₀ f'(−x) > 0``, so

        η = g₀ / (g₀ − g₁),      logit η = log(g₀ / −g₁) = log(α₀/α₁) + log(−f'(−x)) − log(−f'(x)).

    Writing ``f(x) = F(σ(x))`` with ``F(p) = −(1 − p + ε)^γ log p`` and ``dσ/dx = σ(x) σ(−x)``,
    ``−f'(x) = −∂F/∂p · σ(x) σ(−x)``, and the factor ``σ(x) σ(−x)`` is even in ``x``, so it
    cancels: ``logit η = log(α₀/α₁) + ψ(−x) − ψ(x)`` with ``ψ(u) = log(−∂F/∂p)`` at
    ``p = σ(u)``. Since ``ψ = χ − log σ`` and ``log σ(x) − log σ(−x) = x`` exactly,

        logit η = log(α₀/α₁) + x + χ(−x) − χ(x).

    ``F`` is strictly convex in ``p``, so ``ψ`` strictly decreases and ``logit η`` strictly
    increases in ``x``: the map is invertible. ``γ = 0`` gives ``χ ≡ 0`` and ``η = σ(x)`` when
    ``α₁ = α₀`` (bit for bit). As ``x → ∞``, ``logit η ≈ x + γ log((1 + ε)/ε)`` for ``ε > 0`` and
    ``≈ (1 + γ) x`` for ``ε = 0``; as ``x → −∞`` the mirror image.

    Examples
    --------
    >>> import numpy as np
    >>> from focalboost._math.binary import posterior_logit
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> posterior_logit(x, gamma=0.0, epsilon=0.0, alpha_pos=1.0, alpha_neg=1.0, xp=np)
    array([-2.,  0.,  2.])
    """
    fi = xp.finfo(x.dtype)
    big = float(fi.max)
    # The weights enter as a difference of logs, not the log of a ratio that could overflow.
    c = math.log(alpha_neg) - math.log(alpha_pos)
    # Each χ lies in [−max, γ log(1 + ε) + log1p(γ)] (a few units at most): their difference,
    # and c added to it, cannot overflow (a few units added to ±max round back to ±max).
    d = c + (log_neg_dloss_dlogp(-x, gamma, epsilon, xp) - log_neg_dloss_dlogp(x, gamma, epsilon, xp))
    # For ε = 0, x and d ≈ γ x share their sign and x + d can overflow. Halved, the sum cannot
    # (|x|/2 + |d|/2 ≤ max), and scaling by 2 commutes with rounding, so 2 (x/2 + d/2) is the
    # rounded x + d bit for bit wherever that is in range (halving a subnormal can drop its last
    # bit, 5e-324: far below the logit's accuracy) and the clip saturates it at ±max elsewhere.
    half = 0.5 * x + 0.5 * d
    half_max = xp.full_like(half, 0.5 * big)  # max / 2 is exact, and so is 2 · (max / 2)
    return 2.0 * xp.minimum(xp.maximum(half, -half_max), half_max)


def posterior(
    x: Array, *, gamma: float, epsilon: float, alpha_pos: float, alpha_neg: float, xp: Any
) -> tuple[Array, Array]:
    """The posterior ``η`` of the positive class and ``1 − η``, each computed directly.

    Parameters
    ----------
    x : array
        Raw predictions of a model trained with the binary focal loss; any finite values.
    gamma, epsilon, alpha_pos, alpha_neg : float
        As in :func:`posterior_logit` (class weights ``> 0``).
    xp : namespace

    Returns
    -------
    eta, one_minus_eta : arrays of the shape and dtype of ``x``
        ``σ(t)`` and ``σ(−t)`` of ``t = logit η(x)`` (:func:`posterior_logit`), from
        :func:`sigmoid_parts`: in ``[0, 1]``, and ``1 − η`` is never formed by
        subtraction, so both keep full relative precision near 0.
    """
    t = posterior_logit(x, gamma=gamma, epsilon=epsilon, alpha_pos=alpha_pos, alpha_neg=alpha_neg, xp=xp)
    eta, one_minus_eta, _, _ = sigmoid_parts(t, xp)
    return eta, one_minus_eta
