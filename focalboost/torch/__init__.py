"""PyTorch: the (stabilized) focal loss with a closed-form backward.

:func:`sigmoid_focal_loss` is a drop-in for ``torchvision.ops.sigmoid_focal_loss`` (same
positional order ``(inputs, targets, alpha, gamma, reduction)`` and meaning; ``epsilon=0``
reproduces its values for hard labels) whose forward, backward and double backward are closed
forms: exact, finite for every finite logit (autograd through torchvision's formula returns NaN
for ``0 < γ < 1`` once ``σ(x)`` rounds to 1), and lean (on a GPU only the inputs are saved for
backward). :func:`softmax_focal_loss` is the multiclass loss for ``(N, C, *)`` logits, with
``F.cross_entropy``'s ``ignore_index`` and weighted mean. On CUDA the formulas run as one fused
kernel per pass, compiled by ``torch.compile``; on CPU as the numba kernels when numba is installed;
elsewhere, and as the fallback, op by op (see :func:`focalboost.set_config`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import missing_extra
from .._validation import check_real

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise missing_extra(__name__, "torch", exc) from exc

from .._math import binary as _binary
from .._math import dispatch
from .._math import softmax as _softmax
from ._autograd import BinaryLoss, SoftmaxLoss

__all__ = [
    "SigmoidFocalLoss",
    "SoftmaxFocalLoss",
    "sigmoid_focal_loss",
    "sigmoid_focal_posterior",
    "softmax_focal_loss",
    "softmax_focal_posterior",
]

_REDUCTIONS = ("none", "mean", "sum")


def _check_tensor(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _check_reduction(reduction: Any) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return str(reduction)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float16/bfloat16 are computed in float32; float32 and float64 natively."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _binary_alphas(alpha: float | None) -> tuple[float, float]:
    if alpha is None:
        return 1.0, 1.0
    a = check_real("alpha", alpha, low=None, high=1.0)
    return (a, 1.0 - a) if a >= 0 else (1.0, 1.0)  # torchvision: alpha < 0 switches weighting off


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
    *,
    epsilon: float = 1e-3,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""The (stabilized) binary focal loss of logits, with a closed-form backward.

    .. math::

        L = -\alpha\, y\, (1 - p + \epsilon)^\gamma \log p
            - (1 - \alpha)(1 - y)(p + \epsilon)^\gamma \log(1 - p), \qquad p = \sigma(x)

    Parameters
    ----------
    inputs : Tensor of shape (*)
        Logits, any floating dtype (float16/bfloat16 are computed in float32 and the loss is
        returned in the input dtype), any device. Must be finite.
    targets : Tensor of shape (*)
        Labels in [0, 1], the shape of ``inputs``; soft labels allowed. Any real or bool dtype.
    alpha : float or None, default=0.25
        Weight ``α ≤ 1`` of the positive term (``1 − α`` for the negative). As in torchvision, a
        negative ``alpha`` switches weighting off; so does ``None``.
    gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0``; ``gamma=0`` is (α-weighted) binary cross-entropy.
    reduction : {"none", "mean", "sum"}, default="none"
        ``"none"``: the elementwise loss of shape ``(*)``; ``"mean"``: its mean over all elements
        (weights included in the numerator only, as torchvision and ``BCEWithLogitsLoss`` do);
        ``"sum"``: its sum.
    epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al. [2]_; ``epsilon=0`` is Lin et al.'s loss [1]_
        (torchvision's values for hard labels), still with finite gradients. Keyword only, so
        that a positional torchvision call means the same here.
    weight : Tensor or None, default=None
        Elementwise weights broadcastable to the shape of ``inputs``, multiplying the loss.
        It may require grad (the loss is then differentiated with respect to it too).

    Returns
    -------
    Tensor of shape (*) (``reduction="none"``) or a scalar, in the dtype of ``inputs``.

    Raises
    ------
    ValueError
        Mismatched shapes, targets outside [0, 1] (checked eagerly; skipped while
        ``torch.compile`` traces the function, as that check needs the values), an unknown
        ``reduction``, or ``gamma``/``epsilon`` < 0 or ``alpha`` > 1.
    TypeError
        Non-tensor ``inputs``/``targets``/``weight``, or non-floating ``inputs``.

    Notes
    -----
    The gradient ``∂L/∂x`` and the Hessian ``∂²L/∂x²`` are the closed forms of
    :class:`focalboost.FocalLoss` (its Notes give them): bounded for every finite logit, for
    every ``γ ≥ 0`` and ``ε ≥ 0``. Double backward (``gradgradcheck``,
    ``torch.autograd.functional.hessian``) is supported, with respect to ``inputs`` and
    ``targets``.

    References
    ----------
    .. [1] Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    .. [2] van Leeuwen et al., "A Note On The Stability Of The Focal Loss", TMLR.
    .. [3] ``torchvision.ops.sigmoid_focal_loss``, whose signature and values (for ``epsilon=0``)
       this function reproduces.

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import sigmoid_focal_loss
    >>> x = torch.tensor([-100.0, 0.0, 30.0], requires_grad=True)
    >>> y = torch.tensor([1.0, 0.0, 1.0])
    >>> loss = sigmoid_focal_loss(x, y, 0.25, 0.5, "sum", epsilon=0.0)  # torchvision's positional order
    >>> loss.backward()
    >>> bool(torch.isfinite(x.grad).all())
    True
    """
    x = _check_tensor("inputs", inputs)
    t = _check_tensor("targets", targets)
    if not x.is_floating_point():
        raise TypeError(f"inputs must be a floating-point tensor, got dtype {x.dtype}")
    if t.shape != x.shape:
        raise ValueError(
            f"targets must have the shape of inputs, got targets of shape {tuple(t.shape)} "
            f"and inputs of shape {tuple(x.shape)}"
        )
    red = _check_reduction(reduction)
    g = check_real("gamma", gamma)
    eps = check_real("epsilon", epsilon)
    a1, a0 = _binary_alphas(alpha)
    if weight is not None:
        _check_tensor("weight", weight)
        try:
            shape = torch.broadcast_shapes(weight.shape, x.shape)
        except RuntimeError:
            shape = None
        if shape != x.shape:
            raise ValueError(
                f"weight must be broadcastable to the shape of inputs {tuple(x.shape)}, got shape {tuple(weight.shape)}"
            )
    dtype = _compute_dtype(x)
    xc = x.to(dtype)
    y = t.to(dtype)
    if not torch.compiler.is_compiling() and y.numel() > 0:
        lo, hi = torch.aminmax(y)
        if not bool((lo >= 0) & (hi <= 1)):  # NaN fails both comparisons
            bad = y[~((y >= 0) & (y <= 1))][0]
            raise ValueError(f"targets must hold values in [0, 1], got {float(bad)!r}")
    prm = (g, eps, a1, a0)
    if weight is not None and weight.requires_grad:
        # A weight that is learned: the Function gives the elementwise loss, autograd the rest.
        loss = BinaryLoss.apply(xc, y, None, prm, "none") * weight.to(dtype)
        loss = loss.sum() if red == "sum" else loss.mean() if red == "mean" else loss
    else:
        w = None if weight is None else weight.detach().to(dtype).expand(x.shape)
        loss = BinaryLoss.apply(xc, y, w, prm, red)
    return loss.to(x.dtype)


class SigmoidFocalLoss(nn.Module):
    """:func:`sigmoid_focal_loss` as a module; ``forward(inputs, targets, weight=None)``.

    Parameters
    ----------
    alpha, gamma, reduction, epsilon
        As in :func:`sigmoid_focal_loss` (same defaults and order).

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import SigmoidFocalLoss
    >>> criterion = SigmoidFocalLoss(gamma=2.0, reduction="mean")
    >>> float(criterion(torch.zeros(4), torch.ones(4))) > 0
    True
    """

    def __init__(
        self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "none", *, epsilon: float = 1e-3
    ) -> None:
        super().__init__()
        _binary_alphas(alpha)
        self.alpha = alpha
        self.gamma = check_real("gamma", gamma)
        self.epsilon = check_real("epsilon", epsilon)
        self.reduction = _check_reduction(reduction)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        return sigmoid_focal_loss(
            inputs, targets, self.alpha, self.gamma, self.reduction, epsilon=self.epsilon, weight=weight
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}, gamma={self.gamma!r}, reduction={self.reduction!r}, epsilon={self.epsilon!r}"


def _class_weights(alpha: Any, n_classes: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor | None:
    """Per-class weights as a tensor of shape (C,) in the compute dtype, on the inputs' device.

    ``alpha`` is None, a tensor, or any 1-D array-like of reals (a list, a tuple, a numpy array).
    """
    if alpha is None:
        return None
    if isinstance(alpha, torch.Tensor):
        if alpha.dim() != 1 or alpha.is_complex() or alpha.dtype == torch.bool:
            raise TypeError(
                f"alpha must be None or a 1-D array of real per-class weights, got a tensor of shape "
                f"{tuple(alpha.shape)} and dtype {alpha.dtype}"
            )
        weights = alpha.detach().to(dtype=dtype, device=device)
    else:
        if isinstance(alpha, (str, bytes)) or not hasattr(alpha, "__len__"):
            raise TypeError(f"alpha must be None or a 1-D array of per-class weights, got {alpha!r}")
        values = np.asarray(alpha)
        if values.dtype.kind not in "iuf" or values.ndim != 1:
            raise TypeError(f"alpha must be None or a 1-D array of real per-class weights, got {alpha!r}")
        weights = torch.as_tensor(values.astype(np.float64), dtype=dtype, device=device)
    if weights.numel() != n_classes:
        raise ValueError(f"alpha must hold one weight per class ({n_classes}), got {weights.numel()} weights")
    if not torch.compiler.is_compiling():
        bad = ~torch.isfinite(weights) | (weights < 0)
        if bool(bad.any()):
            i = int(torch.nonzero(bad)[0, 0])
            raise ValueError(f"alpha[{i}] must be finite and >= 0, got {float(weights[i])!r}")
    return weights


def softmax_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: Any = None,
    gamma: float = 2.0,
    reduction: str = "mean",
    *,
    epsilon: float = 1e-3,
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""The (stabilized) multiclass focal loss of logits, with a closed-form backward.

    .. math::

        L_i = -\alpha_{c_i} (1 - p_{c_i} + \epsilon)^\gamma \log p_{c_i},
        \qquad p = \operatorname{softmax}(z_i)

    Parameters
    ----------
    inputs : Tensor of shape (N, C) or (N, C, d1, d2, ...)
        Logits, class dimension 1 (as ``F.cross_entropy``). Any floating dtype (float16/bfloat16
        are computed in float32, the loss is returned in the input dtype), any device; finite.
    targets : Tensor of shape (N,) or (N, d1, d2, ...)
        Integer class indices in ``[0, C)``, or ``ignore_index``.
    alpha : array-like of C floats (list, numpy array, 1-D Tensor) or None, default=None
        Per-class weights ``α_c ≥ 0``; None weighs every class 1. They enter as the ``weight``
        of ``F.cross_entropy``: they multiply each element's loss, and ``reduction="mean"``
        divides by the sum of the weights of the non-ignored targets.
    gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0``; ``gamma=0`` with ``epsilon=0`` is ``F.cross_entropy``.
    reduction : {"none", "mean", "sum"}, default="mean"
        ``"none"``: the loss of shape ``(N, d1, ...)`` (0 where ignored); ``"sum"``: its sum;
        ``"mean"``: ``Σ_i L_i / Σ_i α_{c_i}`` over the non-ignored elements (the plain mean over
        them when ``alpha`` is None; NaN when all are ignored, as ``F.cross_entropy``).
    epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al. [2]_; ``epsilon=0`` is Lin et al.'s
        loss [1]_.
    ignore_index : int, default=-100
        Targets equal to it contribute no loss and no gradient.

    Returns
    -------
    Tensor of shape (N, d1, ...) (``reduction="none"``) or a scalar, in the dtype of ``inputs``.

    Raises
    ------
    ValueError
        Mismatched shapes, targets outside ``[0, C)`` that are not ``ignore_index`` (checked
        eagerly, skipped while ``torch.compile`` traces), a wrong number of class weights, an
        unknown ``reduction``, ``gamma``/``epsilon``/``alpha`` < 0.
    TypeError
        Non-tensor inputs or targets, non-floating ``inputs``, non-integer ``targets``.

    Notes
    -----
    The gradient is the closed form of :class:`focalboost.MulticlassFocalLoss` (its Notes give
    it): finite for every finite logit, even when one class dominates the others by hundreds (autograd
    through the naive formula returns NaN there for ``0 < γ < 1``). Backward saves the inputs
    only (the logits in ``(N·d, C)`` layout) and recomputes. First derivatives only: a second
    backward raises (the core provides the diagonal of the Hessian, not the full one).

    References
    ----------
    .. [1] Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    .. [2] van Leeuwen et al., "A Note On The Stability Of The Focal Loss", TMLR.
    .. [3] ``torch.nn.functional.cross_entropy``, whose ``ignore_index`` and weighted mean this
       function follows (and reproduces for ``gamma=0``, ``epsilon=0``).

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import softmax_focal_loss
    >>> z = torch.tensor([[100.0, -100.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = softmax_focal_loss(z, torch.tensor([1, -100]), gamma=0.5, epsilon=0.0)
    >>> loss.backward()
    >>> bool(torch.isfinite(z.grad).all()), float(z.grad[1].abs().sum())
    (True, 0.0)
    """
    x = _check_tensor("inputs", inputs)
    t = _check_tensor("targets", targets)
    if not x.is_floating_point():
        raise TypeError(f"inputs must be a floating-point tensor, got dtype {x.dtype}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"targets must hold integer class indices, got dtype {t.dtype}")
    if x.dim() < 2:
        raise ValueError(f"inputs must have shape (N, C) or (N, C, d1, ...), got shape {tuple(x.shape)}")
    expected = (x.shape[0],) + tuple(x.shape[2:])
    if tuple(t.shape) != expected:
        raise ValueError(
            f"targets must have shape (N, d1, ...) = {expected} for inputs of shape {tuple(x.shape)}, "
            f"got shape {tuple(t.shape)}"
        )
    red = _check_reduction(reduction)
    g = check_real("gamma", gamma)
    eps = check_real("epsilon", epsilon)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an int, got {ignore_index!r}")
    n_classes = int(x.shape[1])
    dtype = _compute_dtype(x)
    weights = _class_weights(alpha, n_classes, dtype, x.device)
    z = x.to(dtype).movedim(1, -1).reshape(-1, n_classes)
    labels = t.reshape(-1).long()
    keep = labels != ignore_index
    if not torch.compiler.is_compiling() and labels.numel() > 0:
        bad = keep & ((labels < 0) | (labels >= n_classes))
        if bool(bad.any()):
            raise ValueError(
                f"targets must hold class indices in [0, {n_classes}) or ignore_index={ignore_index}, "
                f"got {int(labels[bad][0])}"
            )
    labels = torch.where(keep, labels, torch.zeros_like(labels))
    loss = SoftmaxLoss.apply(z, labels, keep, weights, (g, eps))
    if red == "none":
        return loss.reshape(t.shape).to(x.dtype)
    total = loss.sum()
    if red == "sum":
        return total.to(x.dtype)
    if weights is None:
        denom = keep.sum().to(dtype)
    else:
        denom = torch.where(keep, weights[labels], torch.zeros((), dtype=dtype, device=x.device)).sum()
    return (total / denom).to(x.dtype)


class SoftmaxFocalLoss(nn.Module):
    """:func:`softmax_focal_loss` as a module; ``forward(inputs, targets)``.

    Parameters
    ----------
    alpha, gamma, reduction, epsilon, ignore_index
        As in :func:`softmax_focal_loss` (same defaults and order). ``alpha`` is kept as a buffer when given,
        so that it follows the module to a device.

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import SoftmaxFocalLoss
    >>> criterion = SoftmaxFocalLoss(alpha=[1.0, 2.0, 0.5], gamma=2.0)
    >>> float(criterion(torch.zeros(4, 3, 8, 8), torch.zeros(4, 8, 8, dtype=torch.long))) > 0
    True
    """

    alpha: torch.Tensor | None

    def __init__(
        self,
        alpha: Any = None,
        gamma: float = 2.0,
        reduction: str = "mean",
        *,
        epsilon: float = 1e-3,
        ignore_index: int = -100,
    ) -> None:
        super().__init__()
        if alpha is not None:
            n = int(alpha.numel()) if isinstance(alpha, torch.Tensor) else len(alpha)
            alpha = _class_weights(alpha, n, torch.float64, torch.device("cpu"))
        self.register_buffer("alpha", alpha)
        self.gamma = check_real("gamma", gamma)
        self.epsilon = check_real("epsilon", epsilon)
        self.ignore_index = ignore_index
        self.reduction = _check_reduction(reduction)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return softmax_focal_loss(
            inputs,
            targets,
            self.alpha,
            self.gamma,
            self.reduction,
            epsilon=self.epsilon,
            ignore_index=self.ignore_index,
        )

    def extra_repr(self) -> str:
        return (
            f"gamma={self.gamma!r}, reduction={self.reduction!r}, epsilon={self.epsilon!r}, "
            f"ignore_index={self.ignore_index!r}"
        )


def sigmoid_focal_posterior(
    inputs: torch.Tensor, alpha: float | None = 0.25, gamma: float = 2.0, *, epsilon: float = 1e-3
) -> torch.Tensor:
    r"""Calibrated probabilities of logits trained with :func:`sigmoid_focal_loss`.

    The focal loss is not minimized at the true class probability, so ``σ(inputs)`` of a
    focal-trained network is not calibrated (for ``γ > 0`` it is pulled toward 0.5, and ``α``
    shifts it). This returns the posterior ``η`` for which the loss with these parameters is
    minimized at ``inputs``; it is increasing in the logit, so rankings and AUCs are unchanged.

    Parameters
    ----------
    inputs : Tensor of shape (*)
        Logits of a model trained with :func:`sigmoid_focal_loss`; any floating dtype and
        device (float16/bfloat16 are computed in float32). Finite.
    alpha, gamma, epsilon
        The parameters the model was trained with (as in :func:`sigmoid_focal_loss`). ``alpha``
        must be in (0, 1), or None / negative (no weighting): a class of weight 0 has no posterior.

    Returns
    -------
    Tensor of shape (*)
        ``η``, the probability of the positive class, in the dtype of ``inputs``.

    Notes
    -----
    ``logit η = log((1 − α) / α) + x + χ(−x) − χ(x)`` with
    ``χ(u) = γ log(1 − σ(u) + ε) + log1p(γ a / (1 − σ(u) + ε))``, ``a = −σ(u) log σ(u)``: the
    stationary point of the expected loss (see :meth:`focalboost.FocalLoss.predict_proba`).
    Not differentiable through autograd's closed forms (it is computed op by op).

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import sigmoid_focal_posterior
    >>> sigmoid_focal_posterior(torch.tensor([-2.0, 0.0, 2.0]), alpha=0.5, gamma=0.0)
    tensor([0.1192, 0.5000, 0.8808])
    """
    x = _check_tensor("inputs", inputs)
    if not x.is_floating_point():
        raise TypeError(f"inputs must be a floating-point tensor, got dtype {x.dtype}")
    g = check_real("gamma", gamma)
    eps = check_real("epsilon", epsilon)
    a1, a0 = _binary_alphas(alpha)
    if not (a1 > 0 and a0 > 0):
        raise ValueError(
            f"alpha must be in (0, 1) (or None) for a posterior: a class of weight 0 has none, got {alpha!r}"
        )
    eta, _ = _binary.posterior(
        x.to(_compute_dtype(x)), gamma=g, epsilon=eps, alpha_pos=a1, alpha_neg=a0, xp=dispatch.torch_namespace()
    )
    return eta.to(x.dtype)


def softmax_focal_posterior(
    inputs: torch.Tensor, alpha: Any = None, gamma: float = 2.0, *, epsilon: float = 1e-3
) -> torch.Tensor:
    r"""Calibrated class probabilities of logits trained with :func:`softmax_focal_loss`.

    ``softmax(inputs)`` of a focal-trained network is not calibrated; this returns the class
    posteriors ``η`` for which the loss with these parameters is minimized at ``inputs``
    (detection and segmentation networks trained with a focal loss get calibrated scores).

    Parameters
    ----------
    inputs : Tensor of shape (N, C) or (N, C, d1, d2, ...)
        Logits, class dimension 1; any floating dtype and device. Finite.
    alpha, gamma, epsilon
        The parameters the model was trained with (as in :func:`softmax_focal_loss`); every
        class weight must be > 0.

    Returns
    -------
    Tensor of the shape of ``inputs``
        ``η``, summing to 1 over dimension 1, in the dtype of ``inputs``.

    Notes
    -----
    ``η = softmax(z − χ(u) − log α)`` over the classes, with ``u_k = logit softmax(z)_k``
    (see :meth:`focalboost.MulticlassFocalLoss.predict_proba`); ``γ = 0`` and no ``alpha`` give
    ``softmax(z)``.

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import softmax_focal_posterior
    >>> eta = softmax_focal_posterior(torch.tensor([[2.0, 0.0, -1.0]]), gamma=2.0)
    >>> eta.shape, round(float(eta.sum()), 6)
    (torch.Size([1, 3]), 1.0)
    """
    x = _check_tensor("inputs", inputs)
    if not x.is_floating_point():
        raise TypeError(f"inputs must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < 2:
        raise ValueError(f"inputs must have shape (N, C) or (N, C, d1, ...), got shape {tuple(x.shape)}")
    g = check_real("gamma", gamma)
    eps = check_real("epsilon", epsilon)
    n_classes = int(x.shape[1])
    dtype = _compute_dtype(x)
    weights = _class_weights(alpha, n_classes, dtype, x.device)
    if weights is not None and not torch.compiler.is_compiling() and bool((weights <= 0).any()):
        i = int(torch.nonzero(weights <= 0)[0, 0])
        raise ValueError(
            f"alpha[{i}] must be > 0 for a posterior (a class of weight 0 has none), got {float(weights[i])!r}"
        )
    z = x.to(dtype).movedim(1, -1)
    shape = z.shape
    eta = _softmax.posterior(
        z.reshape(-1, n_classes), gamma=g, epsilon=eps, alpha=weights, xp=dispatch.torch_namespace()
    )
    return eta.reshape(shape).movedim(-1, 1).to(x.dtype)
