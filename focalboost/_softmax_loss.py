"""The public multiclass loss object: parameters validated once, class and sample weights,
Hessian policy, init score. The formulas live in :mod:`focalboost._softmax_core`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _fast, _fast_softmax, _softmax_core
from ._validation import as_float_array, check_finite, check_hessian, check_real, check_weights, namespace

__all__ = ["SoftmaxFocalLoss"]


def _check_alpha(alpha: Any) -> tuple[float, ...] | None:
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


def _as_labels(name: str, y_true: Any, xp: Any, n_classes: int | None, check: bool) -> Any:
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


class SoftmaxFocalLoss:
    r"""The (stabilized) multiclass focal loss of raw predictions (one logit per class).

    .. math::

        L(z, c) = -\alpha_c (1 - p_c + \epsilon)^\gamma \log p_c,
        \qquad p = \operatorname{softmax}(z)

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0``. ``gamma=0`` is (α-weighted) softmax cross-entropy.
    alpha : sequence of float or None, default=None
        Per-class weights ``α_c ≥ 0``, one per class (its length must equal the number of
        columns of ``raw_prediction``). ``None`` weighs every class 1.
    epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al.; ``epsilon=0`` is the original focal
        loss of Lin et al. (2017).
    hessian : {"positive", "exact"}, default="positive"
        Policy for the diagonal Hessian. ``"exact"`` is the true ``∂²L/∂z_j²``, which turns
        negative for badly misclassified samples. ``"positive"`` (the default, for Newton steps
        in gradient boosting) is ``h_base + max(h_turn, 0) = max(exact, h_base)``: equal to the
        exact value wherever that is at least the base curvature
        ``h_base = α_c w (p_j (1 − p_j) + 2γ ρ_j² r p_c)``, never below it, and ``> 0``; see Notes.

    Notes
    -----
    With ``s = 1 − p_c``, ``r = s + ε``, ``w = r^γ``, ``a = −p_c log p_c``,
    ``G = w (r + γ a)`` and ``ρ_j = (δ_cj − p_j) / r ∈ [−1, 1]``::

        ∂L/∂z_j   = −α_c ρ_j G                               (= α_c (δ_cj − p_j) F)
        ∂²L/∂z_j² =  α_c w (p_j (1 − p_j) + 2γ ρ_j² r p_c)                   (h_base)
                   + α_c γ w a (p_j (1 − p_j) / r + ρ_j² ((γ − 1) p_c − r))   (h_turn)

    For ``K = 2`` and logits ``(0, x)`` this is :class:`focalboost.FocalLoss` with
    ``alpha=None`` at ``x``, both Hessian policies included; with ``γ = 0`` it is softmax
    cross-entropy (gradient ``p − onehot``, Hessian ``p (1 − p)``). All outputs are finite for
    every finite input: see :mod:`focalboost._softmax_core` for the stable rewrites.

    Examples
    --------
    >>> import numpy as np
    >>> from focalboost import SoftmaxFocalLoss
    >>> loss = SoftmaxFocalLoss(gamma=2.0, alpha=[0.25, 0.5, 1.0])
    >>> y = np.array([0, 2, 1])
    >>> raw = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 300.0], [500.0, -500.0, 0.0]])
    >>> grad, hess = loss.gradient_hessian(y, raw)
    >>> grad.shape, bool(np.all(np.isfinite(grad)) and np.all(hess >= 0))
    ((3, 3), True)
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: Sequence[float] | None = None,
        epsilon: float = 1e-3,
        hessian: str = "positive",
    ) -> None:
        self.gamma = check_real("gamma", gamma)
        self.alpha = _check_alpha(alpha)
        self.epsilon = check_real("epsilon", epsilon)
        self.hessian = check_hessian("hessian", hessian)

    # -- representation ---------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"SoftmaxFocalLoss(gamma={self.gamma!r}, alpha={self.alpha!r}, epsilon={self.epsilon!r}, "
            f"hessian={self.hessian!r})"
        )

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    def class_weights(self, n_classes: int) -> np.ndarray:
        """``α`` as a float64 array of shape ``(n_classes,)`` (ones when ``alpha`` is None)."""
        if self.alpha is None:
            return np.ones(n_classes)
        if len(self.alpha) != n_classes:
            raise ValueError(
                f"alpha has {len(self.alpha)} class weights but there are {n_classes} classes: alpha={self.alpha!r}"
            )
        return np.asarray(self.alpha, dtype=np.float64)

    # -- input handling ---------------------------------------------------------------------
    def _prepare(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool
    ) -> tuple[Any, Any, Any, Any, Any]:
        xp = namespace(y_true, raw_prediction, sample_weight)
        z = as_float_array("raw_prediction", raw_prediction, xp)
        if check_input and (z.ndim != 2 or z.shape[1] < 2):
            raise ValueError(
                f"raw_prediction must have shape (n_samples, n_classes) with n_classes >= 2, got shape {tuple(z.shape)}"
            )
        k = int(z.shape[1])
        y = _as_labels("y_true", y_true, xp, k, check_input)
        w = None if sample_weight is None else as_float_array("sample_weight", sample_weight, xp, dtype=z.dtype)
        if check_input:
            if tuple(y.shape) != (z.shape[0],):
                raise ValueError(
                    f"y_true must have shape (n_samples,) = ({z.shape[0]},) to match raw_prediction of shape "
                    f"{tuple(z.shape)}, got shape {tuple(y.shape)}"
                )
            check_finite("raw_prediction", z, xp)
            if w is not None:
                if tuple(w.shape) != (z.shape[0],):
                    raise ValueError(
                        f"sample_weight must have shape (n_samples,) = ({z.shape[0]},), got shape {tuple(w.shape)}"
                    )
                check_weights("sample_weight", w, xp)
        alpha = None
        if self.alpha is not None:
            a = self.class_weights(k)
            alpha = xp.asarray(a, dtype=z.dtype) if xp is np else xp.asarray(a, dtype=z.dtype, device=z.device)
        return xp, y, z, w, alpha

    def _compute(self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool, **what: Any) -> Any:
        xp, y, z, w, alpha = self._prepare(y_true, raw_prediction, sample_weight, check_input)
        if xp is np and _fast.enabled() and _fast_softmax.supports(y, z, w, alpha):  # fused numba kernel
            return _fast_softmax.softmax_focal(y, z, w, gamma=self.gamma, epsilon=self.epsilon, alpha=alpha, **what)
        out = _softmax_core.softmax_focal(y, z, gamma=self.gamma, epsilon=self.epsilon, alpha=alpha, xp=xp, **what)
        if w is None:
            return out
        return tuple(None if o is None else (o * w if o.ndim == 1 else o * xp.reshape(w, (-1, 1))) for o in out)

    # -- public API -------------------------------------------------------------------------
    def loss(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices in ``[0, n_classes)``: integers, or floats with integral values.
        raw_prediction : array-like of shape (n_samples, n_classes)
            Raw predictions (one logit per class). float32 stays float32; integers become float64.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights multiplying each sample's loss.
        check_input : bool, default=True
            Validate shapes and values. Adapters that validated the labels once pass False.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            Same array library, device and dtype as ``raw_prediction``.
        """
        out, _, _ = self._compute(y_true, raw_prediction, sample_weight, check_input, gradient=False, hessian=None)
        return out

    def gradient(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample ``∂L/∂raw_prediction``, an array of shape (n_samples, n_classes)."""
        _, grad, _ = self._compute(y_true, raw_prediction, sample_weight, check_input, loss=False, hessian=None)
        return grad

    def gradient_hessian(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True
    ) -> tuple[Any, Any]:
        """Per-sample gradient and diagonal Hessian (under the ``hessian`` policy).

        Returns
        -------
        gradient, hessian : ndarray of shape (n_samples, n_classes) each
            ``∂L/∂z_j`` and ``∂²L/∂z_j²`` (the diagonal of each sample's Hessian, which is what
            LightGBM, XGBoost and CatBoost use).
        """
        _, grad, hess = self._compute(
            y_true, raw_prediction, sample_weight, check_input, loss=False, hessian=self.hessian
        )
        return grad, hess

    def predict_proba(self, raw_prediction: Any) -> Any:
        """``softmax(raw_prediction)`` of shape (n_samples, n_classes), computed stably."""
        xp = namespace(raw_prediction)
        z = as_float_array("raw_prediction", raw_prediction, xp)
        if z.ndim != 2:
            raise ValueError(f"raw_prediction must have shape (n_samples, n_classes), got shape {tuple(z.shape)}")
        return _softmax_core.softmax(z, xp)

    def init_score(self, y_true: Any, sample_weight: Any = None, n_classes: int | None = None) -> np.ndarray:
        """The constant raw prediction minimizing the (weighted) mean loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices in ``[0, n_classes)``.
        sample_weight : array-like of shape (n_samples,), default=None
        n_classes : int, default=None
            Number of classes ``K``; by default ``len(alpha)`` if ``alpha`` is given, else
            ``max(y_true) + 1``.

        Returns
        -------
        ndarray of shape (n_classes,)
            ``b = log π`` where ``π`` is the optimal constant probability vector, so
            ``softmax(b) = π`` and ``logsumexp(b) = 0`` (the minimizer is defined up to an added
            constant; this one is fixed). With ``gamma=0`` and ``alpha=None``, ``π`` is the
            weighted class frequency.

        Raises
        ------
        ValueError
            If a class has no weighted mass (``α_c Σ_{i: y_i = c} w_i = 0``): its optimal
            probability is 0, its raw score ``−∞``, so no finite init score exists.

        Notes
        -----
        The weighted mean loss of a constant depends only on the masses ``A_c = α_c Σ_{y_i=c} w_i``:
        ``J(π) = Σ_c A_c f(π_c)`` over the simplex, with ``f(p) = −(1 − p + ε)^γ log p`` strictly
        convex and ``f'(0⁺) = −∞``. So the minimizer is interior and unique, and is the solution of
        ``A_c (−f'(π_c)) = μ`` for all ``c`` with ``Σ π_c = 1``. Each ``π_c(μ)`` is found by
        bisection in its own logit (``−f'`` is monotone), and ``μ`` by multisection on
        ``Σ_c π_c(μ) = 1``, to the last bits. ``γ = 0`` has the closed form ``π = A / Σ A``.
        """
        xp = namespace(y_true, sample_weight)
        if xp is not np:
            y_true = np.asarray(y_true.cpu() if hasattr(y_true, "cpu") else y_true)
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight.cpu() if hasattr(sample_weight, "cpu") else sample_weight)
        k = n_classes if n_classes is not None else (len(self.alpha) if self.alpha is not None else None)
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2):
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        y = _as_labels("y_true", y_true, np, None if k is None else int(k), True)
        if y.size == 0:
            raise ValueError("y_true must hold at least one label, got shape (0,)")
        if k is None:
            if int(y.min()) < 0:
                raise ValueError(f"y_true must hold class labels >= 0, got {int(y.min())!r}")
            k = max(int(y.max()) + 1, 2)
        if sample_weight is None:
            w = np.ones(y.shape[0])
        else:
            w = as_float_array("sample_weight", sample_weight, np, dtype=np.float64)
            if w.shape != y.shape:
                raise ValueError(f"sample_weight must have the shape of y_true {y.shape}, got shape {w.shape}")
            check_weights("sample_weight", w, np)
        mass = np.bincount(y, weights=w, minlength=int(k)) * self.class_weights(int(k))
        empty = np.nonzero(~(mass > 0))[0]
        if empty.size:
            raise ValueError(
                f"class {int(empty[0])} has no weighted mass (alpha_c * sum of its sample weights = "
                f"{mass[empty[0]]!r}): its optimal raw score is -inf, so there is no finite init score"
            )
        if self.gamma == 0:
            return np.log(mass) - math.log(float(mass.sum()))
        pi = _optimal_probabilities(mass, self.gamma, self.epsilon)
        return np.log(pi) - math.log(float(pi.sum()))


_U = 700.0  # class logits are searched in [−700, 700]: e^{−700} does not underflow in float64


def _class_logits(tau: np.ndarray, gamma: float, epsilon: float) -> np.ndarray:
    """Solve ``ψ(u) = τ`` elementwise for the logit ``u`` (``ψ`` strictly decreasing), clipped to
    ``[−700, 700]`` where the target is out of ``ψ``'s range there. Bisection to the last bit."""
    lo = np.full(tau.shape, -_U)
    hi = np.full(tau.shape, _U)
    psi_lo = _softmax_core.log_neg_dloss_dp(lo, gamma, epsilon, np)
    psi_hi = _softmax_core.log_neg_dloss_dp(hi, gamma, epsilon, np)
    below = tau >= psi_lo
    above = tau <= psi_hi
    for _ in range(128):
        mid = 0.5 * (lo + hi)
        go_right = _softmax_core.log_neg_dloss_dp(mid, gamma, epsilon, np) > tau
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
    pi = np.exp(-np.logaddexp(0.0, -u))  # σ(u), stably
    return pi, pi.sum(axis=1) - 1.0


def _optimal_probabilities(mass: np.ndarray, gamma: float, epsilon: float) -> np.ndarray:
    """The interior minimizer ``π`` of ``Σ_c A_c f(π_c)`` on the simplex (see ``init_score``)."""
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
