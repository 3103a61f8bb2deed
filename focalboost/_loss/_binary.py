"""The binary focal loss object."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import binary as _binary
from .._math import dispatch
from .._math import init_score as _init
from .._validation import (
    PROBA_KINDS,
    as_float_array,
    check_choice,
    check_finite,
    check_labels,
    check_real,
    check_same_shape,
    check_weights,
    namespace,
)
from ._base import BaseFocalLoss, _check_masses


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
