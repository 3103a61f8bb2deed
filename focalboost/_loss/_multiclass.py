"""The multiclass (softmax) focal loss object."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._math import dispatch
from .._math import init_score as _init
from .._math import softmax as _softmax
from .._validation import (
    PROBA_KINDS,
    as_class_labels,
    as_float_array,
    check_choice,
    check_class_alpha,
    check_finite,
    check_weights,
    namespace,
)
from ._base import BaseFocalLoss, _check_masses, _check_n_classes


class MulticlassFocalLoss(BaseFocalLoss):
    r"""The (stabilized) multiclass focal loss of one raw prediction per class (softmax).

    .. math::

        L(z, c) = -\alpha_c (1 - p_c + \epsilon)^\gamma \log p_c, \qquad p = \operatorname{softmax}(z)

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0``. ``gamma=0`` is (α-weighted) softmax cross-entropy.
    alpha : sequence of float or None, default=None
        Per-class weights ``α_c ≥ 0``, one per class (its length must equal the number of
        columns of ``raw_prediction``). ``None`` weighs every class 1.
    epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al. [2]_; ``epsilon=0`` is the original
        focal loss of Lin et al. [1]_.
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
    every finite input (``1 − p_c`` is summed over the other classes, ``log p_c`` formed with
    ``log1p``, and ``(δ_cj − p_j) / r`` kept as a bounded ratio).

    References
    ----------
    .. [1] Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    .. [2] van Leeuwen et al., "A Note On The Stability Of The Focal Loss", TMLR.

    Examples
    --------
    >>> import numpy as np
    >>> from focalboost import MulticlassFocalLoss
    >>> loss = MulticlassFocalLoss(gamma=2.0, alpha=[0.25, 0.5, 1.0])
    >>> y = np.array([0, 2, 1])
    >>> raw = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 300.0], [500.0, -500.0, 0.0]])
    >>> grad, hess = loss.gradient_hessian(y, raw)
    >>> grad.shape, bool(np.all(np.isfinite(grad)) and np.all(hess >= 0))
    ((3, 3), True)
    """

    alpha: tuple[float, ...] | None

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: Sequence[float] | None = None,
        epsilon: float = 1e-3,
        hessian: str = "positive",
    ) -> None:
        super().__init__(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)

    def _check_alpha(self, alpha: Any) -> tuple[float, ...] | None:
        return check_class_alpha(alpha)

    def class_weights(self, n_classes: int | None = None) -> np.ndarray:
        """``α`` as a float64 array of shape ``(n_classes,)`` (ones when ``alpha`` is None).

        Parameters
        ----------
        n_classes : int or None, default=None
            The number of classes; None takes ``len(alpha)`` (required when ``alpha`` is None).
        """
        if self.alpha is None:
            if n_classes is None:
                raise ValueError("n_classes is needed when alpha is None")
            return np.ones(_check_n_classes(n_classes))
        if n_classes is not None and len(self.alpha) != n_classes:
            raise ValueError(
                f"alpha has {len(self.alpha)} class weights but there are {n_classes} classes: alpha={self.alpha!r}"
            )
        return np.asarray(self.alpha, dtype=np.float64)

    def _compute(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool, **what: Any
    ) -> tuple[Any, Any, Any]:
        xp = namespace(y_true, raw_prediction, sample_weight)
        z = as_float_array("raw_prediction", raw_prediction, xp)
        if check_input and (z.ndim != 2 or z.shape[1] < 2):
            raise ValueError(
                f"raw_prediction must have shape (n_samples, n_classes) with n_classes >= 2, got shape {tuple(z.shape)}"
            )
        k = int(z.shape[1])
        y = as_class_labels("y_true", y_true, xp, k, check_input)
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
        return dispatch.softmax_focal(y, z, w, alpha, gamma=self.gamma, epsilon=self.epsilon, xp=xp, **what)

    def predict_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """Class probabilities of raw predictions, shape ``(n_samples, n_classes)``.

        Parameters
        ----------
        raw_prediction : array-like of shape (n_samples, n_classes)
            Raw predictions (one logit per class) of a model trained with this loss.
        kind : {"posterior", "link"}, default="posterior"
            ``"posterior"``: the class posteriors ``η`` for which this loss is minimized at the
            raw predictions (see Notes), calibrated probabilities of a model that minimized the
            focal risk. ``"link"``: ``softmax(raw_prediction)``, what the loss is computed on,
            not calibrated for ``γ > 0`` or unequal ``α``. The class of largest posterior can
            differ from the class of largest softmax.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; finite for every finite input.

        Raises
        ------
        ValueError
            For ``kind="posterior"`` when a class weight is 0.

        Notes
        -----
        With ``q = softmax(z)`` and ``ℓ_k(q) = −α_k (1 − q + ε)^γ log q``, the expected loss
        ``Σ_k η_k ℓ_k(q_k)`` is stationary in ``z`` exactly when ``η_k ℓ_k'(q_k)`` is the same for
        every class, so ``η_k ∝ 1 / |ℓ_k'(q_k)|``, evaluated in log space as
        ``η = softmax(z − χ(u) − log α)`` with ``u_k = logit q_k`` and ``χ`` as in
        :meth:`focalboost.FocalLoss.predict_proba`. ``γ = 0`` and ``alpha=None`` give ``softmax(z)``.
        """
        return self._proba(raw_prediction, kind, log=False)

    def predict_log_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """``log`` of :meth:`predict_proba`, shape ``(n_samples, n_classes)``, computed directly:
        exact where a probability underflows."""
        return self._proba(raw_prediction, kind, log=True)

    def _proba(self, raw_prediction: Any, kind: str, *, log: bool) -> Any:
        check_choice("kind", kind, PROBA_KINDS)
        xp = namespace(raw_prediction)
        z = as_float_array("raw_prediction", raw_prediction, xp)
        if z.ndim != 2 or z.shape[1] < 2:
            raise ValueError(
                f"raw_prediction must have shape (n_samples, n_classes) with n_classes >= 2, got shape {tuple(z.shape)}"
            )
        if kind == "link":
            return _softmax.log_softmax(z, xp) if log else _softmax.softmax(z, xp)
        alpha = None
        if self.alpha is not None:
            a = self._posterior_weights(int(z.shape[1]))
            alpha = xp.asarray(a, dtype=z.dtype) if xp is np else xp.asarray(a, dtype=z.dtype, device=z.device)
        with np.errstate(over="ignore"):  # logits further apart than the dtype's range
            fn = _softmax.log_posterior if log else _softmax.posterior
            return fn(z, gamma=self.gamma, epsilon=self.epsilon, alpha=alpha, xp=xp)

    def init_score(self, y_true: Any, sample_weight: Any = None, *, n_classes: int | None = None) -> np.ndarray:
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
        if k is not None:
            k = _check_n_classes(k)
        y = as_class_labels("y_true", y_true, np, k, True)
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
        counts = np.bincount(y, weights=w, minlength=k)
        mass = counts * self.class_weights(k)
        _check_masses(mass, counts, self.alpha)
        if self.gamma == 0:
            return np.log(mass) - math.log(float(mass.sum()))
        pi = _init.optimal_probabilities(mass, self.gamma, self.epsilon)
        return np.log(pi) - math.log(float(pi.sum()))
