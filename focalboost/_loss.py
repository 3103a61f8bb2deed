r"""The public loss objects: parameters validated once, weights, Hessian policy, init score.

:class:`FocalLoss` (binary, one raw score per sample) and :class:`MulticlassFocalLoss` (softmax,
one raw score per class) share one contract, :class:`BaseFocalLoss`: the same methods with the
same meaning and argument names (``y_true``, ``raw_prediction``, ``sample_weight``), after
scikit-learn's loss module. The formulas live in :mod:`focalboost._math`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._math import binary as _binary
from ._math import dispatch
from ._math import init_score as _init
from ._math import softmax as _softmax
from ._validation import (
    PROBA_KINDS,
    as_class_labels,
    as_float_array,
    check_choice,
    check_class_alpha,
    check_finite,
    check_hessian,
    check_labels,
    check_real,
    check_same_shape,
    check_weights,
    namespace,
)

__all__ = ["BaseFocalLoss", "FocalLoss", "MulticlassFocalLoss"]


class BaseFocalLoss:
    """What :class:`FocalLoss` and :class:`MulticlassFocalLoss` share: parameters, representation,
    and the evaluation methods. Not used directly."""

    alpha: Any

    def __init__(self, *, gamma: float, alpha: Any, epsilon: float, hessian: str) -> None:
        self.gamma = check_real("gamma", gamma)
        self.alpha = self._check_alpha(alpha)
        self.epsilon = check_real("epsilon", epsilon)
        self.hessian = check_hessian("hessian", hessian)

    def _check_alpha(self, alpha: Any) -> Any:
        raise NotImplementedError

    # -- representation ---------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The parameters, as validated: ``gamma``, ``alpha``, ``epsilon``, ``hessian``."""
        return {"gamma": self.gamma, "alpha": self.alpha, "epsilon": self.epsilon, "hessian": self.hessian}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.get_params() == other.get_params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self.get_params().values()))

    # -- what the subclasses define ---------------------------------------------------------
    def class_weights(self, n_classes: int | None = None) -> np.ndarray:
        """The class weights ``α_c`` in class order, float64 of shape ``(n_classes,)``."""
        raise NotImplementedError

    def _compute(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool, **what: Any
    ) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def predict_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """Class probabilities of raw predictions, shape ``(n_samples, n_classes)``."""
        raise NotImplementedError

    def predict_log_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """The logarithm of :meth:`predict_proba`, computed directly: exact where a probability
        underflows (``−800``, not ``−inf``, for a class behind by 800)."""
        raise NotImplementedError

    def _posterior_weights(self, n_classes: int | None = None) -> np.ndarray:
        """The class weights, which must all be positive for the posterior to exist."""
        weights = self.class_weights(n_classes)
        if not np.all(weights > 0):
            c = int(np.argmin(weights > 0))
            raise ValueError(
                f"alpha={self.alpha!r} gives class {c} the weight 0: a score trained with it carries no "
                "information about that class, so there is no posterior; use kind='link', or weights > 0"
            )
        return weights

    def init_score(self, y_true: Any, sample_weight: Any = None, *, n_classes: int | None = None) -> Any:
        """The constant raw prediction minimizing the (weighted) mean loss."""
        raise NotImplementedError

    # -- evaluation -------------------------------------------------------------------------
    def loss(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample loss, of shape ``(n_samples,)`` (the array library, device and float dtype
        of ``raw_prediction``); multiplied by ``sample_weight`` when given.

        ``check_input=False`` skips the validation of shapes and values (for adapters that
        validated the labels once); invalid input then gives undefined results.
        """
        out, _, _ = self._compute(y_true, raw_prediction, sample_weight, check_input, gradient=False, hessian=None)
        return out

    def gradient(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample ``∂L/∂raw_prediction``, of the shape of ``raw_prediction``."""
        _, grad, _ = self._compute(y_true, raw_prediction, sample_weight, check_input, loss=False, hessian=None)
        return grad

    def gradient_hessian(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True
    ) -> tuple[Any, Any]:
        """Per-sample gradient and (diagonal) second derivative under the ``hessian`` policy,
        each of the shape of ``raw_prediction``."""
        _, grad, hess = self._compute(
            y_true, raw_prediction, sample_weight, check_input, loss=False, hessian=self.hessian
        )
        return grad, hess


class FocalLoss(BaseFocalLoss):
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
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al. [2]_. ``epsilon=0`` is the original
        focal loss of Lin et al. [1]_.
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

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár, "Focal Loss for Dense Object
       Detection", IEEE International Conference on Computer Vision (ICCV), 2017.
    .. [2] van Leeuwen, Haak, Saygili, Postma and Ong, "A Note On The Stability Of The Focal
       Loss", Transactions on Machine Learning Research (TMLR).

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
        super().__init__(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)

    def _check_alpha(self, alpha: Any) -> float | None:
        return None if alpha is None else check_real("alpha", alpha, high=1.0)

    def class_weights(self, n_classes: int | None = None) -> np.ndarray:
        """``[α₀, α₁]``: the weights of the negative (class 0) and positive (class 1) term.

        Parameters
        ----------
        n_classes : {None, 2}, default=None
            Accepted for the common contract; a binary loss has 2 classes.
        """
        if n_classes not in (None, 2):
            raise ValueError(f"FocalLoss is binary: n_classes must be None or 2, got {n_classes!r}")
        if self.alpha is None:
            return np.ones(2)
        return np.array([1.0 - self.alpha, self.alpha])

    def _compute(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool, **what: Any
    ) -> tuple[Any, Any, Any]:
        xp = namespace(y_true, raw_prediction, sample_weight)
        x = as_float_array("raw_prediction", raw_prediction, xp)
        y = _labels_like(y_true, x, xp)
        w = None if sample_weight is None else as_float_array("sample_weight", sample_weight, xp, dtype=x.dtype)
        if check_input:
            check_same_shape("y_true", y, "raw_prediction", x)
            if w is not None:
                check_same_shape("sample_weight", w, "raw_prediction", x)
            if not dispatch.binary_inputs_valid(y, x, w):  # one fused pass, when the kernel applies
                check_labels("y_true", y, xp)
                check_finite("raw_prediction", x, xp)
                if w is not None:
                    check_weights("sample_weight", w, xp)
        a0, a1 = (float(a) for a in self.class_weights())
        return dispatch.binary_focal(
            y, x, w, gamma=self.gamma, epsilon=self.epsilon, alpha_pos=a1, alpha_neg=a0, xp=xp, **what
        )

    def predict_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """Probabilities of class 0 and class 1, shape ``raw_prediction.shape + (2,)``.

        Parameters
        ----------
        raw_prediction : array-like of shape (n_samples,)
            Raw predictions (logits) of a model trained with this loss.
        kind : {"posterior", "link"}, default="posterior"
            ``"posterior"``: the class posterior ``η(x)`` for which this loss is minimized at
            ``x`` (see Notes): calibrated probabilities of a model that minimized the focal
            risk. ``"link"``: ``σ(x)``, the sigmoid of the raw score, which is what the focal
            loss is computed on but *not* a calibrated probability (for ``γ > 0`` it is pulled
            toward 0.5, and ``α`` shifts it). Both are increasing in ``x``: rankings, ROC-AUC and
            PR-AUC are the same; a threshold of 0.5 is not.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Each column computed directly (never as ``1 −`` the other), so tiny probabilities
            keep their digits.

        Raises
        ------
        ValueError
            For ``kind="posterior"`` when ``alpha`` is 0 or 1 (a class of weight 0).

        Notes
        -----
        A sample whose positive class has posterior ``η`` has expected loss
        ``η L(x, 1) + (1 − η) L(x, 0)``; the score ``x`` the loss drives it to is where its
        derivative ``η g₁(x) + (1 − η) g₀(x)`` vanishes, so ``η(x) = g₀ / (g₀ − g₁)``. In log space,
        with ``χ(u) = γ log(1 − p + ε) + log1p(γ (−p log p) / (1 − p + ε))`` at ``p = σ(u)``::

            logit η(x) = log(α₀ / α₁) + x + χ(−x) − χ(x)

        ``γ = 0`` with ``α₀ = α₁`` gives ``σ(x)`` exactly. For ``ε = 0`` and no ``α`` this is the
        posterior of Charoenphakdee et al. (2021).

        Examples
        --------
        >>> import numpy as np
        >>> from focalboost import FocalLoss
        >>> loss = FocalLoss(gamma=2.0, alpha=0.25)
        >>> raw = np.array([-2.0, 0.0, 2.0])
        >>> loss.predict_proba(raw)[:, 1].round(3), loss.predict_proba(raw, kind="link")[:, 1].round(3)
        (array([0.014, 0.75 , 0.998]), array([0.119, 0.5  , 0.881]))
        """
        p, q, _, _ = self._sigmoid_parts(raw_prediction, kind)
        return _stack(q, p)

    def predict_log_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """``[log P(class 0), log P(class 1)]`` of :meth:`predict_proba`, computed as log-sigmoids of
        the (posterior) logit: exact where a probability underflows. Shape ``raw_prediction.shape + (2,)``."""
        _, _, log_p, log_q = self._sigmoid_parts(raw_prediction, kind)
        return _stack(log_q, log_p)

    def _sigmoid_parts(self, raw_prediction: Any, kind: str) -> tuple[Any, Any, Any, Any]:
        """``p, q, log p, log q`` of the logit ``kind`` maps ``raw_prediction`` to."""
        check_choice("kind", kind, PROBA_KINDS)
        xp = namespace(raw_prediction)
        x = as_float_array("raw_prediction", raw_prediction, xp)
        if kind == "posterior":
            a0, a1 = (float(a) for a in self._posterior_weights())
            x = _binary.posterior_logit(x, gamma=self.gamma, epsilon=self.epsilon, alpha_pos=a1, alpha_neg=a0, xp=xp)
        return _binary.sigmoid_parts(x, xp)

    def init_score(self, y_true: Any, sample_weight: Any = None, *, n_classes: int | None = None) -> float:
        """The constant raw prediction minimizing the (weighted) mean loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in [0, 1].
        sample_weight : array-like of shape (n_samples,), default=None
        n_classes : {None, 2}, default=None
            Accepted for the common contract.

        Returns
        -------
        float
            ``argmin_c Σ_i w_i L(c, y_i)``; equals ``logit(Σ w y / Σ w)`` when ``gamma=0`` and
            ``alpha`` is None or 0.5.

        Raises
        ------
        ValueError
            If a class has no weighted mass (``α₁ Σ w y = 0`` or ``α₀ Σ w (1 − y) = 0``, e.g. one
            class only, or ``alpha`` 0 or 1): the minimum is then at an infinite raw prediction.

        Notes
        -----
        The loss is linear in ``y``, so ``Σ_i w_i L(c, y_i) = A f(c) + B f(−c)`` with
        ``A = α₁ Σ w y`` and ``B = α₀ Σ w (1 − y)``: the minimization is over one variable with
        two constants, whatever the number of samples. Its derivative ``A f'(c) − B f'(−c)`` is
        negative far left and positive far right; the global minimum is located on a grid over a
        bracket of that sign change and refined by bisection on the derivative to the last bit.
        """
        self.class_weights(n_classes)
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
        a0, a1 = (float(a) for a in self.class_weights())
        _check_masses(np.array([a0 * s0, a1 * s1]), np.array([s0, s1]), self.alpha)
        return _init.minimize_two_term(a1 * s1, a0 * s0, self.gamma, self.epsilon)


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


def _stack(first: Any, second: Any) -> Any:
    """``first`` and ``second`` stacked along a new last axis, in their own array library."""
    return namespace(first).stack((first, second), axis=-1)


def _labels_like(y_true: Any, x: Any, xp: Any) -> Any:
    """Binary labels as a float array: numpy float32/float64 labels are kept as they are (the
    formulas and kernels read either), anything else takes the dtype of the raw predictions."""
    if xp is np:
        y = np.asarray(y_true)
        if y.dtype in (np.float32, np.float64):
            return y
    return as_float_array("y_true", y_true, xp, dtype=x.dtype)


def _check_n_classes(n_classes: Any) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    return int(n_classes)


def _check_masses(mass: np.ndarray, counts: np.ndarray, alpha: Any) -> None:
    """Raise when a class has no weighted mass, naming the cause: its class weight or its samples."""
    empty = np.nonzero(~(mass > 0))[0]
    if not empty.size:
        return
    c = int(empty[0])
    if counts[c] > 0:
        raise ValueError(
            f"alpha={alpha!r} gives class {c} the weight 0, so the loss is minimized at a raw score of -inf "
            "for it and there is no finite init score: give every class a weight > 0"
        )
    raise ValueError(
        f"class {c} has no samples with positive weight (total sample weight {float(counts[c])!r}): its optimal "
        "raw score is -inf, so there is no finite init score"
    )
