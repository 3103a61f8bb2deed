"""The public binary loss object: parameters validated once, weights, Hessian policy, init score."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core, _fast
from ._validation import (
    as_float_array,
    check_finite,
    check_hessian,
    check_labels,
    check_real,
    check_same_shape,
    check_weights,
    namespace,
)

__all__ = ["FocalLoss"]


class FocalLoss:
    r"""The (stabilized) binary focal loss of a raw prediction (logit).

    .. math::

        L(x, y) = -\alpha_1 y (1 - p + \epsilon)^\gamma \log p
                  - \alpha_0 (1 - y) (p + \epsilon)^\gamma \log(1 - p),
        \qquad p = \sigma(x)

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0``. ``gamma=0`` is (α-weighted) cross-entropy.
    alpha : float or None, default=0.25
        Weight ``α ∈ [0, 1]`` of the positive term; the negative term gets ``1 − α``.
        ``None`` weighs both terms 1 (no class weighting).
    epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al. ``epsilon=0`` is the original focal
        loss of Lin et al. (2017).
    hessian : {"positive", "exact"}, default="positive"
        Second-derivative policy. ``"exact"`` is the true ``∂²L/∂x²``, which is negative for
        badly misclassified points (for ``γ = 2``, a positive below ``x ≈ −2.8``).
        ``"positive"`` (the default, for Newton steps in gradient boosting) keeps the exact
        value wherever it is at least the base curvature ``w p q (1 + 2γt)`` and uses that base
        curvature elsewhere, so it is always ``≥`` the exact value and ``> 0``. It equals the
        exact value wherever ``p_t ≥ 1 / (1 + min(γ, 1))``: for ``γ ≥ 1`` on every correctly
        classified point. See Notes.

    Notes
    -----
    Per term (``f(x) = −(q + ε)^γ log p``, ``q = 1 − p``, ``r = q + ε``, ``w = r^γ``,
    ``t = q / r``, ``a = −p log p``) the exact second derivative is::

        f'' = w p q (1 + 2γt) + w γ t a (p (1 + (γ − 1) t) − q)

    The first part is positive; the second changes sign. ``hessian="positive"`` drops the
    second part where it is negative. With ``γ = 0`` both policies give the logistic
    Hessian ``p q``, so plain cross-entropy is reproduced exactly. The loss is linear in ``y``,
    so soft labels in [0, 1] are supported. All outputs are finite for every finite input.

    Examples
    --------
    >>> import numpy as np
    >>> from focalboost import FocalLoss
    >>> loss = FocalLoss(gamma=2.0, alpha=0.25)
    >>> y = np.array([0.0, 1.0, 1.0])
    >>> raw = np.array([-2.0, 0.5, 40.0])
    >>> grad, hess = loss.gradient_hessian(y, raw)
    >>> bool(np.all(np.isfinite(grad)) and np.all(hess > 0))
    True
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | None = 0.25,
        epsilon: float = 1e-3,
        hessian: str = "positive",
    ) -> None:
        self.gamma = check_real("gamma", gamma)
        self.alpha = None if alpha is None else check_real("alpha", alpha, high=1.0)
        self.epsilon = check_real("epsilon", epsilon)
        self.hessian = check_hessian("hessian", hessian)

    # -- representation ---------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"FocalLoss(gamma={self.gamma!r}, alpha={self.alpha!r}, epsilon={self.epsilon!r}, "
            f"hessian={self.hessian!r})"
        )

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    @property
    def class_weights(self) -> tuple[float, float]:
        """``(α₁, α₀)``: the weights of the positive and the negative term."""
        if self.alpha is None:
            return 1.0, 1.0
        return self.alpha, 1.0 - self.alpha

    # -- input handling ---------------------------------------------------------------------
    def _prepare(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool
    ) -> tuple[Any, Any, Any, Any]:
        xp = namespace(y_true, raw_prediction, sample_weight)
        x = as_float_array("raw_prediction", raw_prediction, xp)
        y = as_float_array("y_true", y_true, xp, dtype=x.dtype)
        w = None if sample_weight is None else as_float_array("sample_weight", sample_weight, xp, dtype=x.dtype)
        if check_input:
            check_same_shape("y_true", y, "raw_prediction", x)
            if xp is np and _fast.enabled() and _fast.supports(y, x, w) and _fast.all_valid(y, x, w):
                return xp, y, x, w  # one fused pass found nothing for the checks below to report
            check_labels("y_true", y, xp)
            check_finite("raw_prediction", x, xp)
            if w is not None:
                check_same_shape("sample_weight", w, "raw_prediction", x)
                check_weights("sample_weight", w, xp)
        return xp, y, x, w

    def _compute(
        self, y: Any, x: Any, w: Any, xp: Any, *, loss: bool, gradient: bool, hessian: bool
    ) -> tuple[Any, Any, Any]:
        """Weighted outputs: the fused kernel (:mod:`focalboost._fast`) for numpy float32/float64
        input when numba is installed, the generic core otherwise."""
        a1, a0 = self.class_weights
        policy = self.hessian if hessian else None
        if xp is np and _fast.enabled() and _fast.supports(y, x, w):
            return _fast.binary_focal(
                y,
                x,
                w,
                gamma=self.gamma,
                epsilon=self.epsilon,
                alpha_pos=a1,
                alpha_neg=a0,
                loss=loss,
                gradient=gradient,
                hessian=policy,
            )
        with np.errstate(over="ignore", invalid="ignore"):  # see _core.binary_focal: masked overflow
            out = _core.binary_focal(
                y,
                x,
                gamma=self.gamma,
                epsilon=self.epsilon,
                alpha_pos=a1,
                alpha_neg=a0,
                xp=xp,
                loss=loss,
                gradient=gradient,
                hessian=policy,
            )
        if w is None:
            return out
        return tuple(None if o is None else o * w for o in out)  # type: ignore[return-value]

    # -- public API -------------------------------------------------------------------------
    def loss(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in [0, 1]; values in between are soft labels.
        raw_prediction : array-like of shape (n_samples,)
            Raw predictions (logits). float32 stays float32; integers become float64.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights multiplying each sample's loss.
        check_input : bool, default=True
            Validate shapes and values. Adapters that validated the labels once pass False.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            Same array library, device and dtype as ``raw_prediction``.
        """
        xp, y, x, w = self._prepare(y_true, raw_prediction, sample_weight, check_input)
        out, _, _ = self._compute(y, x, w, xp, loss=True, gradient=False, hessian=False)
        return out

    def gradient(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample ``∂L/∂raw_prediction``, of the shape of ``raw_prediction``."""
        xp, y, x, w = self._prepare(y_true, raw_prediction, sample_weight, check_input)
        _, grad, _ = self._compute(y, x, w, xp, loss=False, gradient=True, hessian=False)
        return grad

    def gradient_hessian(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True
    ) -> tuple[Any, Any]:
        """Per-sample gradient and second derivative (under the ``hessian`` policy).

        Returns
        -------
        gradient, hessian : ndarray of shape (n_samples,) each
        """
        xp, y, x, w = self._prepare(y_true, raw_prediction, sample_weight, check_input)
        _, grad, hess = self._compute(y, x, w, xp, loss=False, gradient=True, hessian=True)
        return grad, hess

    def predict_proba(self, raw_prediction: Any) -> Any:
        """``σ(raw_prediction)``, the probability of the positive class, computed stably."""
        xp = namespace(raw_prediction)
        x = as_float_array("raw_prediction", raw_prediction, xp)
        p, _, _, _ = _core.sigmoid_parts(x, xp)
        return p

    def init_score(self, y_true: Any, sample_weight: Any = None) -> float:
        """The constant raw prediction minimizing the (weighted) mean loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in [0, 1].
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
            ``argmin_c Σ_i w_i L(c, y_i)``; equals ``logit(Σ w y / Σ w)`` when ``gamma=0`` and
            ``alpha`` is None or 0.5.

        Notes
        -----
        The loss is linear in ``y``, so ``Σ_i w_i L(c, y_i) = A f(c) + B f(−c)`` with
        ``A = α₁ Σ w y`` and ``B = α₀ Σ w (1 − y)``: the minimization is over one variable with
        two constants, whatever the number of samples. Its derivative ``A f'(c) − B f'(−c)`` is
        negative far left and positive far right; the global minimum is located on a grid over a
        bracket of that sign change and refined by bisection on the derivative to the last bit.
        """
        xp = namespace(y_true, sample_weight)
        y = as_float_array("y_true", y_true, xp)
        check_labels("y_true", y, xp)
        if sample_weight is None:
            s1 = float(xp.sum(y))
            s0 = float(xp.sum(1.0 - y))
        else:
            w = as_float_array("sample_weight", sample_weight, xp, dtype=y.dtype)
            check_same_shape("sample_weight", w, "y_true", y)
            check_weights("sample_weight", w, xp)
            s1 = float(xp.sum(w * y))
            s0 = float(xp.sum(w * (1.0 - y)))
        a1, a0 = self.class_weights
        return minimize_two_term(a1 * s1, a0 * s0, self.gamma, self.epsilon)


def _two_term(c: np.ndarray, big_a: float, big_b: float, gamma: float, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """``A f(c) + B f(−c)`` and its derivative, on a float64 grid ``c``."""
    p, q, log_p, log_q = _core.sigmoid_parts(c, np)
    f1, d1, _, _ = _core.positive_term(p, q, log_p, gamma, epsilon)
    f0, d0, _, _ = _core.positive_term(q, p, log_q, gamma, epsilon)
    return big_a * f1 + big_b * f0, big_a * d1 - big_b * d0


def minimize_two_term(big_a: float, big_b: float, gamma: float, epsilon: float) -> float:
    """Global minimizer of ``g(c) = A f(c) + B f(−c)`` for ``A, B > 0`` (see ``init_score``)."""
    if not (big_a > 0 and big_b > 0):
        side = "positive" if not big_a > 0 else "negative"
        raise ValueError(
            f"y_true has no {side} weight (weighted positive mass {big_a!r}, negative mass {big_b!r}): "
            "the loss is minimized at an infinite raw prediction, so there is no finite init score"
        )
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
