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
"""

from __future__ import annotations

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
