"""The optimal constant raw prediction (init score) of the binary and the softmax focal loss.

Pure numpy on a handful of numbers: the weighted mean loss of a constant depends on the data
only through two masses (binary) or one mass per class (softmax), so the minimization is over
one variable (binary) or one Lagrange multiplier (softmax), solved to the last bits.
"""

from __future__ import annotations

import math

import numpy as np

from .binary import log_neg_dloss_dp, positive_term, sigmoid_parts


def _two_term(c: np.ndarray, big_a: float, big_b: float, gamma: float, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """``A f(c) + B f(−c)`` and its derivative, on a float64 grid ``c``."""
    p, q, log_p, log_q = sigmoid_parts(c, np)
    f1, d1, _, _ = positive_term(p, q, log_p, gamma, epsilon)
    f0, d0, _, _ = positive_term(q, p, log_q, gamma, epsilon)
    return big_a * f1 + big_b * f0, big_a * d1 - big_b * d0


def minimize_two_term(big_a: float, big_b: float, gamma: float, epsilon: float) -> float:
    """Global minimizer of ``g(c) = A f(c) + B f(−c)`` for ``A, B > 0``, ``f(x) = −(σ(−x) + ε)^γ log σ(x)``.

    ``g'(c) = A f'(c) − B f'(−c)`` is negative far left and positive far right; ``g`` need not be
    convex, so the global minimum is located on a grid over a bracket of that sign change and
    refined by multisection on ``g'`` to the last bit. For ``γ = 0`` the result is ``log(A / B)``.
    """
    if not (big_a > 0 and big_b > 0):  # the callers check the masses and name the cause
        raise ValueError(f"both masses must be > 0, got A={big_a!r} and B={big_b!r}")
    # Bracket the sign change of g': g'(c) → −A(1+ε)^γ as c → −∞ and → +B(1+ε)^γ as c → +∞.
    lo, hi = -1.0, 1.0
    while _two_term(np.array([lo]), big_a, big_b, gamma, epsilon)[1][0] >= 0:
        lo *= 2.0
    while _two_term(np.array([hi]), big_a, big_b, gamma, epsilon)[1][0] <= 0:
        hi *= 2.0
    # g need not be convex (f'' < 0 for misclassified points), so take the global minimum on a
    # fine grid first, then refine the sign change of g' around it.
    grid = np.linspace(lo, hi, 4097)
    g, _ = _two_term(grid, big_a, big_b, gamma, epsilon)
    i = int(np.argmin(g))
    left, right = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    # Multisection: 65 points per step shrink the bracket 64-fold; stop when it stops shrinking.
    for _ in range(64):
        pts = np.linspace(left, right, 65)
        _, dg = _two_term(pts, big_a, big_b, gamma, epsilon)
        pos = np.nonzero(dg > 0)[0]
        j = int(pos[0]) if pos.size else pts.size - 1
        if j == 0:
            new_left, new_right = pts[0], pts[0]
        else:
            new_left, new_right = pts[j - 1], pts[j]
        if new_left == left and new_right == right:
            break
        left, right = new_left, new_right
        if right - left <= 4 * np.spacing(max(abs(left), abs(right))):
            break
    # Of the final bracket's ends, return the one with the smaller loss.
    ends = np.array([left, right])
    g_ends, _ = _two_term(ends, big_a, big_b, gamma, epsilon)
    return float(ends[int(np.argmin(g_ends))])


_U = 700.0  # class logits are searched in [−700, 700]: π_c ≥ σ(−700) ≈ 1e-304, far below any mass ratio


def _class_logits(tau: np.ndarray, gamma: float, epsilon: float) -> np.ndarray:
    """Solve ``ψ(u) = τ`` elementwise for the logit ``u`` (``ψ`` strictly decreasing), clipped to
    ``[−700, 700]`` where the target is out of ``ψ``'s range there. Bisection to the last bit."""
    lo = np.full(tau.shape, -_U)
    hi = np.full(tau.shape, _U)
    psi_lo = log_neg_dloss_dp(lo, gamma, epsilon, np)
    psi_hi = log_neg_dloss_dp(hi, gamma, epsilon, np)
    below = tau >= psi_lo
    above = tau <= psi_hi
    for _ in range(128):
        mid = 0.5 * (lo + hi)
        go_right = log_neg_dloss_dp(mid, gamma, epsilon, np) > tau
        done = (mid == lo) | (mid == hi)
        lo = np.where(go_right & ~done, mid, lo)
        hi = np.where(~go_right & ~done, mid, hi)
        if bool(np.all(done)):
            break
    u = 0.5 * (lo + hi)
    return np.where(below, -_U, np.where(above, _U, u))


def _total(nu: np.ndarray, log_mass: np.ndarray, gamma: float, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """``π_c(ν)`` for each ``ν`` (rows) and ``Σ_c π_c(ν) − 1`` (decreasing in ``ν``)."""
    u = _class_logits(nu[:, None] - log_mass[None, :], gamma, epsilon)
    pi = sigmoid_parts(u, np)[0]  # σ(u)
    return pi, pi.sum(axis=1) - 1.0


def optimal_probabilities(mass: np.ndarray, gamma: float, epsilon: float) -> np.ndarray:
    """The interior minimizer ``π`` of ``Σ_c A_c f(π_c)`` on the simplex, ``f(p) = −(1 − p + ε)^γ log p``.

    ``f`` is strictly convex with ``f'(0⁺) = −∞``, so the minimizer is interior and unique: the
    solution of ``A_c (−f'(π_c)) = μ`` for all ``c`` with ``Σ π_c = 1``. Each ``π_c(μ)`` is found
    by bisection in its own logit (``−f'`` is monotone), and ``μ`` by multisection on
    ``Σ_c π_c(μ) = 1``, to the last bits. ``γ = 0`` has the closed form ``π = A / Σ A``.
    """
    log_mass = np.log(mass)
    # γ = 0 gives μ = Σ A exactly (π = A / Σ A); start there and widen until Σ π − 1 changes sign.
    center = math.log(float(mass.sum()))
    lo, hi = center - 1.0, center + 1.0
    while _total(np.array([lo]), log_mass, gamma, epsilon)[1][0] < 0:
        lo = center - 2.0 * (center - lo)
    while _total(np.array([hi]), log_mass, gamma, epsilon)[1][0] > 0:
        hi = center + 2.0 * (hi - center)
    # Multisection: 33 points shrink the bracket 32-fold a step; stop when it stops shrinking.
    for _ in range(64):
        pts = np.linspace(lo, hi, 33)
        _, excess = _total(pts, log_mass, gamma, epsilon)
        neg = np.nonzero(excess < 0)[0]
        j = int(neg[0]) if neg.size else pts.size - 1
        new_lo, new_hi = (pts[0], pts[0]) if j == 0 else (pts[j - 1], pts[j])
        if new_lo == lo and new_hi == hi:
            break
        lo, hi = new_lo, new_hi
        if hi - lo <= 4 * np.spacing(max(abs(lo), abs(hi))):
            break
    pi, _ = _total(np.array([0.5 * (lo + hi)]), log_mass, gamma, epsilon)
    return pi[0]
