"""PyTorch: the (stabilized) focal loss with a closed-form backward.

:func:`sigmoid_focal_loss` is a drop-in for ``torchvision.ops.sigmoid_focal_loss`` (same positional
order and meaning; ``epsilon=0`` reproduces its values for hard labels) whose forward, backward and
double backward are the closed forms of :mod:`focalboost._core`: exact, finite for every finite
logit (autograd through torchvision's formula returns NaN for ``0 < γ < 1`` once ``σ(x)`` rounds
to 1), and lean (only the inputs are saved for backward). :func:`softmax_focal_loss` is the
multiclass loss for ``(N, C, *)`` logits, with ``F.cross_entropy``'s ``ignore_index`` and weighted
mean. On CUDA the core runs as one fused ``torch.compile``d kernel per pass; on CPU as the numba
kernel of ``focalboost._fast`` when numba is installed; elsewhere, and as the fallback, op by op.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import _torch_ops
from ._validation import check_real

__all__ = ["SigmoidFocalLoss", "sigmoid_focal_loss"]

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
    epsilon: float = 1e-3,
    reduction: str = "none",
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
    epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of van Leeuwen et al.; ``epsilon=0`` is Lin et al.'s loss
        (torchvision's values for hard labels), still with finite gradients.
    reduction : {"none", "mean", "sum"}, default="none"
        ``"none"``: the elementwise loss of shape ``(*)``; ``"mean"``: its mean over all elements
        (weights included in the numerator only, as torchvision and ``BCEWithLogitsLoss`` do);
        ``"sum"``: its sum.
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
    :func:`focalboost._core.binary_focal` (see DESIGN.md §2): bounded for every finite logit,
    for every ``γ ≥ 0`` and ``ε ≥ 0``. Backward saves only ``inputs`` and ``targets`` and
    recomputes; double backward (``gradgradcheck``, ``torch.autograd.functional.hessian``) is
    supported, with respect to ``inputs`` and ``targets``.

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import sigmoid_focal_loss
    >>> x = torch.tensor([-100.0, 0.0, 30.0], requires_grad=True)
    >>> y = torch.tensor([1.0, 0.0, 1.0])
    >>> loss = sigmoid_focal_loss(x, y, gamma=0.5, epsilon=0.0, reduction="sum")
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
        loss = _torch_ops._BinaryLoss.apply(xc, y, None, prm, "none") * weight.to(dtype)
        loss = loss.sum() if red == "sum" else loss.mean() if red == "mean" else loss
    else:
        w = None if weight is None else weight.detach().to(dtype).expand(x.shape)
        loss = _torch_ops._BinaryLoss.apply(xc, y, w, prm, red)
    return loss.to(x.dtype)


class SigmoidFocalLoss(nn.Module):
    """:func:`sigmoid_focal_loss` as a module; ``forward(inputs, targets, weight=None)``.

    Parameters
    ----------
    alpha, gamma, epsilon, reduction
        As in :func:`sigmoid_focal_loss` (same defaults).

    Examples
    --------
    >>> import torch
    >>> from focalboost.torch import SigmoidFocalLoss
    >>> criterion = SigmoidFocalLoss(gamma=2.0, reduction="mean")
    >>> float(criterion(torch.zeros(4), torch.ones(4))) > 0
    True
    """

    def __init__(
        self, alpha: float | None = 0.25, gamma: float = 2.0, epsilon: float = 1e-3, reduction: str = "none"
    ) -> None:
        super().__init__()
        _binary_alphas(alpha)
        self.alpha = alpha
        self.gamma = check_real("gamma", gamma)
        self.epsilon = check_real("epsilon", epsilon)
        self.reduction = _check_reduction(reduction)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        return sigmoid_focal_loss(inputs, targets, self.alpha, self.gamma, self.epsilon, self.reduction, weight)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}, gamma={self.gamma!r}, epsilon={self.epsilon!r}, reduction={self.reduction!r}"
